package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;

import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Random;

/** Runs a one-input model the fusion tests compare: on our interpreter and on ONNX Runtime. */
final class FusionRuns {

    private FusionRuns() {}

    /** Runs the block on input {@code x} of the given shape and returns its single output. */
    static float[] run(OnnxBlock block, QuantInt8NDManager manager, float[] x, long... shape) {
        return runAll(block, manager, x, shape).singletonOrThrow().toFloatArray();
    }

    /** Runs the block on input {@code x} of the given shape and returns all its outputs. */
    static NDList runAll(OnnxBlock block, QuantInt8NDManager manager, float[] x, long... shape) {
        NDArray input = manager.create(x, new Shape(shape));
        return block.forward(new ParameterStore(manager, false), new NDList(input), false);
    }

    /** Runs the model's file in ONNX Runtime on input "x" and returns its first output. */
    static float[] ort(OnnxModel model, float[] x, long... shape) throws OrtException {
        return ort(model, 1, x, shape)[0];
    }

    /** Runs the model's file in ONNX Runtime on input "x" and returns its first FP32 outputs. */
    static float[][] ort(OnnxModel model, int outputs, float[] x, long... shape)
            throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        byte[] bytes = OnnxModelWriter.builder().build().toByteArray(model);
        try (OrtSession session = env.createSession(bytes, new OrtSession.SessionOptions());
                ai.onnxruntime.OnnxTensor input = ai.onnxruntime.OnnxTensor.createTensor(
                        env, FloatBuffer.wrap(x), shape);
                OrtSession.Result result = session.run(Map.of("x", input))) {
            float[][] values = new float[outputs][];
            for (int i = 0; i < outputs; i++) {
                FloatBuffer out = ((ai.onnxruntime.OnnxTensor) result.get(i)).getFloatBuffer();
                values[i] = new float[out.remaining()];
                out.get(values[i]);
            }
            return values;
        }
    }

    /** Gaussian values of the given deviation. */
    static float[] normal(Random random, int n, float sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian() * sigma;
        }
        return x;
    }
}
