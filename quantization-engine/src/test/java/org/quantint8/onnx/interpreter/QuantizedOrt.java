package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Runs one ONNX node twice, in ONNX Runtime and through a QuantInt8 operator, on the same
 * values, and compares the outputs.
 */
final class QuantizedOrt implements AutoCloseable {

    private static final OrtEnvironment ORT = OrtEnvironment.getEnvironment();

    private final NDManager fp32 = Engine.getEngine("PyTorch").newBaseManager();
    private final QuantInt8NDManager quant =
            (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager();
    private final OperatorRegistry registry = OperatorRegistry.builtIn();

    /**
     * A node input: a graph input, or an initializer when constant.
     *
     * @param name the value name
     * @param type the element type
     * @param dims the shape
     * @param data the little-endian data
     * @param constant whether it is an initializer
     */
    record Value(String name, OnnxDataType type, long[] dims, ByteBuffer data, boolean constant) {

        Value asConstant() {
            return new Value(name, type, dims, data, true);
        }
    }

    /**
     * An output: its type, shape and values (integer codes or floats).
     *
     * @param type the data type
     * @param shape the shape
     * @param codes the integer values, for integer types
     * @param floats the values, for FLOAT32
     */
    record Result(DataType type, Shape shape, int[] codes, float[] floats) {

        static Result of(DataType type, Shape shape, ByteBuffer bb) {
            bb = bb.duplicate().order(ByteOrder.nativeOrder());
            int n = Math.toIntExact(shape.size());
            int[] codes = new int[n];
            float[] floats = new float[n];
            for (int i = 0; i < n; i++) {
                switch (type) {
                    case UINT8 -> codes[i] = bb.get(i) & 0xFF;
                    case INT8 -> codes[i] = bb.get(i);
                    case INT32 -> codes[i] = bb.getInt(i * 4);
                    case FLOAT32 -> floats[i] = bb.getFloat(i * 4);
                    default -> throw new AssertionError("unexpected type " + type);
                }
            }
            return new Result(type, shape, codes, floats);
        }
    }

    static Value floats(String name, float[] values, long... dims) {
        ByteBuffer bb = buffer(values.length * 4);
        for (float v : values) {
            bb.putFloat(v);
        }
        return new Value(name, OnnxDataType.FLOAT, dims, bb.flip(), false);
    }

    static Value codes(String name, OnnxDataType type, int[] values, long... dims) {
        ByteBuffer bb = buffer(values.length * (type == OnnxDataType.INT32 ? 4 : 1));
        for (int v : values) {
            if (type == OnnxDataType.INT32) {
                bb.putInt(v);
            } else {
                bb.put((byte) v);
            }
        }
        return new Value(name, type, dims, bb.flip(), false);
    }

    static Value scalar(String name, float value) {
        return floats(name, new float[] {value}).asConstant();
    }

    static Value scalar(String name, OnnxDataType type, int value) {
        return codes(name, type, new int[] {value}).asConstant();
    }

    static int[] randomCodes(Random random, OnnxDataType type, int n) {
        int lo = type == OnnxDataType.INT8 ? -128 : 0;
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + random.nextInt(256);
        }
        return v;
    }

    static float[] uniform(Random random, int n, float lo, float hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + (hi - lo) * random.nextFloat();
        }
        return v;
    }

    static OnnxNode node(String opType, List<Value> inputs, int outputs, OnnxAttribute... attrs) {
        OnnxNode.Builder b = OnnxNode.builder().setOpType(opType).optName("n");
        for (Value v : inputs) {
            b.addInput(v == null ? "" : v.name());
        }
        for (int i = 0; i < outputs; i++) {
            b.addOutput("out" + i);
        }
        for (OnnxAttribute a : attrs) {
            b.addAttribute(a);
        }
        return b.build();
    }

    /** Runs the node in ONNX Runtime; the output types must be given for the graph. */
    List<Result> ort(OnnxNode node, long opset, List<Value> inputs, OnnxDataType... outputs) {
        OnnxGraph.Builder g = OnnxGraph.builder().optName("g").addNode(node);
        Map<String, ai.onnxruntime.OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            for (Value v : inputs) {
                if (v == null) {
                    continue;
                }
                if (v.constant()) {
                    g.addInitializer(OnnxTensor.of(v.name(), v.type(), v.data().duplicate(),
                            v.dims()));
                } else {
                    g.addInput(OnnxValueInfo.tensor(v.name(), v.type(), v.dims()));
                    feeds.put(v.name(), ortTensor(v));
                }
            }
            for (int i = 0; i < outputs.length; i++) {
                g.addOutput(OnnxValueInfo.of("out" + i, outputs[i], null, ""));
            }
            OnnxModel model = OnnxModel.builder().setGraph(g.build())
                    .addOpsetImport("", opset).build();
            byte[] bytes = OnnxModelWriter.builder().build().toByteArray(model);
            try (OrtSession session = ORT.createSession(bytes, new OrtSession.SessionOptions());
                    OrtSession.Result result = session.run(feeds)) {
                List<Result> out = new ArrayList<>();
                for (Map.Entry<String, OnnxValue> e : result) {
                    ai.onnxruntime.OnnxTensor t = (ai.onnxruntime.OnnxTensor) e.getValue();
                    out.add(Result.of(djlType(t.getInfo().type), new Shape(t.getInfo().getShape()),
                            t.getByteBuffer()));
                }
                return out;
            }
        } catch (OrtException e) {
            throw new AssertionError("ONNX Runtime failed: " + e.getMessage(), e);
        } finally {
            feeds.values().forEach(ai.onnxruntime.OnnxTensor::close);
        }
    }

    /** Runs the node through the registered operator, inputs as PyTorch arrays. */
    List<Result> ours(OnnxNode node, long opset, List<Value> inputs) {
        return ours(node, opset, inputs, new HashMap<>());
    }

    /** Runs the node with a given node cache (to check that a cached run agrees). */
    List<Result> ours(OnnxNode node, long opset, List<Value> inputs, Map<Object, Object> cache) {
        try (NDManager run = fp32.newSubManager();
                QuantInt8NDManager runQuant = (QuantInt8NDManager) quant.newSubManager()) {
            List<NDArray> arrays = new ArrayList<>();
            boolean[] constants = new boolean[inputs.size()];
            for (int i = 0; i < inputs.size(); i++) {
                Value v = inputs.get(i);
                constants[i] = v != null && v.constant();
                arrays.add(v == null ? null : array(run, v));
            }
            return apply(node, new OperatorContext(run, runQuant, opset, cache, constants), arrays);
        }
    }

    /** Applies the registered operator to given arrays. */
    List<Result> apply(OnnxNode node, OperatorContext context, List<NDArray> arrays) {
        OnnxOperator op = registry.find(node.getDomain(), node.getOpType()).orElseThrow();
        NDList outputs = op.apply(context, node, arrays);
        List<Result> results = new ArrayList<>();
        for (NDArray y : outputs) {
            results.add(Result.of(y.getDataType(), y.getShape(), y.toByteBuffer()));
        }
        return results;
    }

    /** Returns a context of fresh managers that the caller closes with {@link #close()}. */
    OperatorContext context(long opset, Map<Object, Object> cache, int inputs) {
        return new OperatorContext(fp32, quant, opset, cache, new boolean[inputs]);
    }

    NDArray array(NDManager manager, Value v) {
        ByteBuffer direct = ByteBuffer.allocateDirect(v.data().remaining())
                .order(ByteOrder.nativeOrder());
        direct.put(v.data().duplicate()).flip();
        return manager.create(direct, new Shape(v.dims()), v.type().toDjl());
    }

    QuantInt8NDManager quantManager() {
        return quant;
    }

    NDManager fp32Manager() {
        return fp32;
    }

    static void assertBitExact(Result ours, Result ort, String what) {
        Assert.assertEquals(ours.type(), ort.type(), what + ": type");
        Assert.assertEquals(ours.shape(), ort.shape(), what + ": shape");
        Assert.assertEquals(ours.codes(), ort.codes(), what + ": codes");
        for (int i = 0; i < ours.floats().length; i++) {
            Assert.assertEquals(Float.floatToIntBits(ours.floats()[i]),
                    Float.floatToIntBits(ort.floats()[i]),
                    what + ": float " + ours.floats()[i] + " vs " + ort.floats()[i] + " at " + i);
        }
    }

    /** Asserts codes within 1 of ONNX Runtime's and returns how many differ by 1. */
    static int assertWithinOneCode(Result ours, Result ort, String what) {
        Assert.assertEquals(ours.type(), ort.type(), what + ": type");
        Assert.assertEquals(ours.shape(), ort.shape(), what + ": shape");
        int off = 0;
        for (int i = 0; i < ours.codes().length; i++) {
            int d = Math.abs(ours.codes()[i] - ort.codes()[i]);
            Assert.assertTrue(d <= 1, what + ": code " + ours.codes()[i] + " vs ONNX Runtime "
                    + ort.codes()[i] + " at " + i);
            off += d;
        }
        return off;
    }

    private static ai.onnxruntime.OnnxTensor ortTensor(Value v) throws OrtException {
        ByteBuffer direct = ByteBuffer.allocateDirect(v.data().remaining())
                .order(ByteOrder.nativeOrder());
        direct.put(v.data().duplicate().order(ByteOrder.LITTLE_ENDIAN)).flip();
        // ONNX Runtime wants a buffer of the element type's own class.
        return switch (v.type()) {
            case FLOAT -> ai.onnxruntime.OnnxTensor.createTensor(
                    ORT, direct.asFloatBuffer(), v.dims());
            case INT32 -> ai.onnxruntime.OnnxTensor.createTensor(
                    ORT, direct.asIntBuffer(), v.dims());
            default -> ai.onnxruntime.OnnxTensor.createTensor(
                    ORT, direct, v.dims(), javaType(v.type()));
        };
    }

    private static ByteBuffer buffer(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static OnnxJavaType javaType(OnnxDataType type) {
        return switch (type) {
            case FLOAT -> OnnxJavaType.FLOAT;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT8 -> OnnxJavaType.INT8;
            case INT32 -> OnnxJavaType.INT32;
            default -> throw new AssertionError("unexpected type " + type);
        };
    }

    private static DataType djlType(OnnxJavaType type) {
        return switch (type) {
            case FLOAT -> DataType.FLOAT32;
            case UINT8 -> DataType.UINT8;
            case INT8 -> DataType.INT8;
            case INT32 -> DataType.INT32;
            default -> throw new AssertionError("unexpected type " + type);
        };
    }

    static boolean carriesParameters(NDArray y) {
        return y instanceof QuantInt8NDArray q && q.isQuantized();
    }

    @Override
    public void close() {
        quant.close();
        fp32.close();
    }
}
