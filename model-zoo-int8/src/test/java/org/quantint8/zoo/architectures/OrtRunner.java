package org.quantint8.zoo.architectures;

import ai.djl.engine.Engine;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;

/** Runs a built model in ONNX Runtime, one intra-op thread, inputs and outputs as flat arrays. */
public final class OrtRunner implements AutoCloseable {

    private final OrtEnvironment env = environment();
    private final OrtSession session;

    /**
     * Returns the process's environment, started by DJL's OnnxRuntime engine: ONNX Runtime allows
     * one environment per process and that engine, which tests in the same JVM also use, cannot
     * start once another has been created.
     */
    private static OrtEnvironment environment() {
        Engine.getEngine("OnnxRuntime");
        return OrtEnvironment.getEnvironment();
    }

    /**
     * Creates a session for a model.
     *
     * @param model the model
     * @throws OrtException if ONNX Runtime rejects it
     */
    public OrtRunner(OnnxModel model) throws OrtException {
        this(OnnxModelWriter.builder().build().toByteArray(model));
    }

    /**
     * Creates a session for a serialized model.
     *
     * @param bytes the model file's bytes
     * @throws OrtException if ONNX Runtime rejects it
     */
    public OrtRunner(byte[] bytes) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            session = env.createSession(bytes, options);
        }
    }

    /** Inputs of one run, created in the runner's environment. */
    public final class Inputs implements AutoCloseable {

        private final Map<String, OnnxTensor> tensors = new HashMap<>();

        /**
         * Adds an int64 input.
         *
         * @param name the input name
         * @param values the values
         * @param shape the shape
         * @return this
         * @throws OrtException if the tensor cannot be created
         */
        public Inputs longs(String name, long[] values, long... shape) throws OrtException {
            tensors.put(name, OnnxTensor.createTensor(env, LongBuffer.wrap(values), shape));
            return this;
        }

        /**
         * Adds a float input.
         *
         * @param name the input name
         * @param values the values
         * @param shape the shape
         * @return this
         * @throws OrtException if the tensor cannot be created
         */
        public Inputs floats(String name, float[] values, long... shape) throws OrtException {
            tensors.put(name, OnnxTensor.createTensor(env, FloatBuffer.wrap(values), shape));
            return this;
        }

        @Override
        public void close() {
            tensors.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * Returns an empty set of inputs.
     *
     * @return the inputs, to close after the run
     */
    public Inputs inputs() {
        return new Inputs();
    }

    /**
     * An output of a run.
     *
     * @param shape the shape
     * @param values the values, row-major
     */
    public record Output(long[] shape, float[] values) {}

    /**
     * Runs the model.
     *
     * @param inputs the inputs
     * @return every output by name
     * @throws OrtException if the run fails
     */
    public Map<String, Output> run(Inputs inputs) throws OrtException {
        Map<String, Output> outputs = new HashMap<>();
        try (OrtSession.Result result = session.run(inputs.tensors)) {
            result.forEach(entry -> {
                OnnxTensor tensor = (OnnxTensor) entry.getValue();
                FloatBuffer buffer = tensor.getFloatBuffer();
                float[] values = new float[buffer.remaining()];
                buffer.get(values);
                outputs.put(entry.getKey(), new Output(tensor.getInfo().getShape(), values));
            });
        }
        return outputs;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
