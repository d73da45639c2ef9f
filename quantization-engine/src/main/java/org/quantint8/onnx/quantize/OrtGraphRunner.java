package org.quantint8.onnx.quantize;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxValueInfo;
import org.quantint8.onnx.OrtEnvironments;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs an ONNX model with ONNX Runtime and returns chosen intermediate FP32 tensors as well as the
 * outputs: the FP32 reference that calibration and sensitivity analysis measure against.
 */
final class OrtGraphRunner implements AutoCloseable {

    private final OrtSession session;
    private final List<String> inputNames;

    /**
     * Opens a session that also outputs the given intermediate tensors.
     *
     * @param model the model
     * @param watched names of FP32 tensors to return besides the outputs
     * @param threads the intra-op threads of the session
     */
    OrtGraphRunner(OnnxModel model, List<String> watched, int threads) {
        OnnxGraph source = model.getGraph();
        OnnxGraph.Builder graph = source.toBuilderWithoutNodes(t -> true);
        source.getNodes().forEach(graph::addNode);
        List<String> outputs = new ArrayList<>();
        source.getOutputs().forEach(o -> outputs.add(o.getName()));
        for (String name : watched) {
            if (!outputs.contains(name)) {
                graph.addOutput(OnnxValueInfo.of(name, OnnxDataType.FLOAT, null, ""));
                outputs.add(name);
            }
        }
        byte[] bytes = OnnxModelWriter.builder().build().toByteArray(model.toBuilder(graph.build()).build());
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            session = OrtEnvironments.shared().createSession(bytes, options);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime cannot open the model: " + e.getMessage(), e);
        }
        inputNames = new ArrayList<>();
        source.getInputs().forEach(i -> inputNames.add(i.getName()));
        // Graph inputs that are also initializers are optional overrides, not required inputs.
        inputNames.removeIf(n -> source.getInitializer(n) != null);
    }

    /**
     * Runs the model.
     *
     * @param inputs the inputs, matched to graph inputs by name when named, else by position
     * @return every output and watched tensor, by name, as FP32 values with their shape
     */
    Map<String, Tensor> run(NDList inputs) {
        OrtEnvironment env = OrtEnvironments.shared();
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        try {
            for (int i = 0; i < inputs.size(); i++) {
                NDArray array = inputs.get(i);
                String name = array.getName() != null && inputNames.contains(array.getName())
                        ? array.getName()
                        : positional(i);
                feed.put(name, toOrt(env, array));
            }
            Map<String, Tensor> out = new HashMap<>();
            try (OrtSession.Result result = session.run(feed)) {
                for (Map.Entry<String, OnnxValue> e : result) {
                    if (e.getValue() instanceof OnnxTensor t
                            && t.getInfo().type == ai.onnxruntime.OnnxJavaType.FLOAT) {
                        FloatBuffer fb = t.getFloatBuffer();
                        float[] values = new float[fb.remaining()];
                        fb.get(values);
                        out.put(e.getKey(), new Tensor(values, new Shape(t.getInfo().getShape())));
                    }
                }
            }
            return out;
        } catch (OrtException e) {
            throw new IllegalArgumentException("ONNX Runtime failed on a sample: " + e.getMessage(), e);
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    private String positional(int index) {
        if (index >= inputNames.size()) {
            throw new IllegalArgumentException(
                    "The sample has " + (index + 1) + " arrays, the model takes " + inputNames.size()
                            + " inputs " + inputNames);
        }
        return inputNames.get(index);
    }

    private static OnnxTensor toOrt(OrtEnvironment env, NDArray array) throws OrtException {
        long[] shape = array.getShape().getShape();
        ByteBuffer bytes = array.toByteBuffer().order(ByteOrder.nativeOrder());
        DataType type = array.getDataType();
        return switch (type) {
            case FLOAT32 -> OnnxTensor.createTensor(env, bytes.asFloatBuffer(), shape);
            case INT64 -> OnnxTensor.createTensor(env, bytes.asLongBuffer(), shape);
            case INT32 -> OnnxTensor.createTensor(env, bytes.asIntBuffer(), shape);
            default -> throw new IllegalArgumentException(
                    "Calibration inputs must be FLOAT32, INT32 or INT64, got " + type);
        };
    }

    /** {@inheritDoc} */
    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * FP32 values and their shape.
     *
     * @param values the values, row-major
     * @param shape the shape
     */
    record Tensor(float[] values, Shape shape) {}
}
