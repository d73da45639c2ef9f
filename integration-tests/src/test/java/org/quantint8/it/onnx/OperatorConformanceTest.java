package org.quantint8.it.onnx;

import static org.testng.Assert.assertEquals;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Runs single operators with their edge cases (negative axes and indices, opset variants,
 * clamping, broadcasting) through the interpreter and through ONNX Runtime: the results must be
 * equal in shape, type and value. The operator's inputs are initializers, so each case is a
 * one-node model with no graph input.
 */
public class OperatorConformanceTest {

    private static final float[] X = {-3f, -1.5f, 0f, 0.5f, 2f, 4f, -0.25f, 1f, 3f, -2f, 6f, 0.75f};

    @DataProvider
    public Object[][] cases() {
        List<Object[]> cases = new ArrayList<>();
        add(cases, "Slice neg step", 13, op("Slice"), f(X, 3, 4), l(new long[] {-1, 10}, 2),
                l(new long[] {-100, 0}, 2), l(new long[] {0, 1}, 2), l(new long[] {-1, -2}, 2));
        add(cases, "Slice clamp", 13, op("Slice"), f(X, 3, 4), l(new long[] {1}, 1),
                l(new long[] {1000}, 1), l(new long[] {-1}, 1));
        add(cases, "Slice opset 9", 9, op("Slice").addAttribute(OnnxAttribute.ofInts("starts", 0, 1))
                .addAttribute(OnnxAttribute.ofInts("ends", 2, -1)), f(X, 3, 4));
        add(cases, "Gather neg", 13, op("Gather").addAttribute(OnnxAttribute.ofInt("axis", -1)),
                f(X, 3, 4), l(new long[] {-1, 0, 2, -4}, 2, 2));
        add(cases, "Gather scalar", 13, op("Gather"), f(X, 3, 4), l(new long[] {-2}));
        add(cases, "Reshape 0 -1", 13, op("Reshape"), f(X, 3, 4), l(new long[] {0, -1, 2}, 3));
        add(cases, "Unsqueeze 13", 13, op("Unsqueeze"), f(X, 3, 4), l(new long[] {-1, 0}, 2));
        add(cases, "Unsqueeze 11", 11, op("Unsqueeze").addAttribute(OnnxAttribute.ofInts("axes", 1, 3)),
                f(X, 3, 4));
        add(cases, "Squeeze all", 13, op("Squeeze"), f(X, 1, 3, 1, 4));
        add(cases, "Squeeze 11", 11, op("Squeeze").addAttribute(OnnxAttribute.ofInts("axes", -2)),
                f(X, 3, 1, 4));
        add(cases, "ReduceMean 18", 18, op("ReduceMean").addAttribute(OnnxAttribute.ofInt("keepdims", 0)),
                f(X, 3, 4), l(new long[] {-1}, 1));
        add(cases, "ReduceSum 2 axes", 13, op("ReduceSum").addAttribute(OnnxAttribute.ofInt("keepdims", 0)),
                f(X, 2, 3, 2), l(new long[] {0, -1}, 2));
        add(cases, "LayerNorm 2 axes", 17, op("LayerNormalization").addAttribute(OnnxAttribute.ofInt("axis", 1)),
                f(X, 2, 3, 2), f(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));
        add(cases, "ReduceMean 11", 11, op("ReduceMean").addAttribute(OnnxAttribute.ofInts("axes", 0)),
                f(X, 3, 4));
        add(cases, "Softmax 11 axis 1", 11, op("Softmax"), f(X, 2, 3, 2));
        add(cases, "Softmax 13", 13, op("Softmax").addAttribute(OnnxAttribute.ofInt("axis", 1)),
                f(X, 2, 3, 2));
        add(cases, "Add broadcast", 13, op("Add"), f(X, 3, 1, 4), f(new float[] {1, 2, 3}, 3, 1));
        add(cases, "Div int", 13, op("Div"), l(new long[] {7, -7, 9, -9}, 4), l(new long[] {2, 2, -4, 4}, 4));
        add(cases, "Pow", 13, op("Pow"), f(new float[] {1, 2, 3}, 3), f(new float[] {2}, 1));
        add(cases, "Where", 13, op("Where"), b(true, false, true), f(new float[] {1, 2, 3}, 3),
                f(new float[] {-1}, 1));
        add(cases, "Equal", 13, op("Equal"), l(new long[] {1, 2, 3}, 3), l(new long[] {2}, 1));
        add(cases, "Cast to int32", 13, op("Cast").addAttribute(OnnxAttribute.ofInt("to", 6)),
                f(X, 12));
        add(cases, "Cast to bool", 13, op("Cast").addAttribute(OnnxAttribute.ofInt("to", 9)), f(X, 12));
        add(cases, "Cast to fp16", 13, op("Cast").addAttribute(OnnxAttribute.ofInt("to", 10)), f(X, 12));
        add(cases, "Shape", 15, op("Shape").addAttribute(OnnxAttribute.ofInt("start", -2)),
                f(X, 1, 3, 4));
        add(cases, "Concat", 13, op("Concat").addAttribute(OnnxAttribute.ofInt("axis", -1)),
                f(X, 3, 4), f(X, 3, 4));
        add(cases, "Expand", 13, op("Expand"), f(new float[] {1, 2, 3}, 3, 1), l(new long[] {2, 1, 4}, 3));
        add(cases, "Range", 13, op("Range"), l(new long[] {10}), l(new long[] {-3}), l(new long[] {-4}));
        add(cases, "ConstantOfShape", 13, op("ConstantOfShape").addAttribute(OnnxAttribute.ofTensor(
                "value", OnnxTensor.of("", new long[] {5}, 1))), l(new long[] {2, 3}, 2));
        add(cases, "Gemm", 13, op("Gemm").addAttribute(OnnxAttribute.ofInt("transB", 1))
                .addAttribute(OnnxAttribute.ofFloat("alpha", 0.5f)), f(X, 3, 4), f(X, 3, 4),
                f(new float[] {1, 2, 3}, 3));
        add(cases, "LayerNormalization", 17, op("LayerNormalization"), f(X, 3, 4),
                f(new float[] {1, 2, 3, 4}, 4), f(new float[] {0, 1, 0, -1}, 4));
        add(cases, "Conv asymmetric pads", 13, op("Conv").addAttribute(OnnxAttribute.ofInts("pads", 0, 1, 1, 0))
                .addAttribute(OnnxAttribute.ofInts("strides", 1, 2)), f(X, 1, 1, 3, 4),
                f(new float[] {1, -1, 2, 0.5f}, 1, 1, 2, 2), f(new float[] {0.25f}, 1));
        add(cases, "MaxPool same", 13, op("MaxPool").addAttribute(OnnxAttribute.ofInts("kernel_shape", 2, 2))
                .addAttribute(OnnxAttribute.ofString("auto_pad", "SAME_UPPER")), f(X, 1, 1, 3, 4));
        add(cases, "AveragePool", 13, op("AveragePool").addAttribute(OnnxAttribute.ofInts("kernel_shape", 2, 2))
                .addAttribute(OnnxAttribute.ofInts("strides", 1, 2)), f(X, 1, 1, 3, 4));
        add(cases, "GlobalAveragePool", 13, op("GlobalAveragePool"), f(X, 1, 2, 3, 2));
        add(cases, "BatchNormalization", 15, op("BatchNormalization"), f(X, 1, 2, 3, 2),
                f(new float[] {1, 2}, 2), f(new float[] {0, 1}, 2), f(new float[] {0.5f, -1}, 2),
                f(new float[] {1, 4}, 2));
        add(cases, "Clip", 13, op("Clip"), f(X, 12), f(new float[] {-1}), f(new float[] {2}));
        add(cases, "Split 18", 18, op("Split").addAttribute(OnnxAttribute.ofInt("num_outputs", 3))
                .addAttribute(OnnxAttribute.ofInt("axis", 1)), f(X, 2, 6));
        add(cases, "Flatten", 13, op("Flatten").addAttribute(OnnxAttribute.ofInt("axis", 2)), f(X, 1, 3, 2, 2));
        add(cases, "Transpose", 13, op("Transpose").addAttribute(OnnxAttribute.ofInts("perm", 2, 0, 1)),
                f(X, 1, 3, 4));
        return cases.toArray(new Object[0][]);
    }

    @Test(dataProvider = "cases")
    public void interpreterMatchesOnnxRuntime(String name, float[] in0, long[] dims, OnnxModel model)
            throws Exception {
        Path dir = Files.createTempDirectory("op");
        Path file = dir.resolve("model.onnx");
        OnnxModelWriter.builder().build().write(model, file);
        List<float[]> expected = new ArrayList<>();
        List<long[]> expectedShapes = new ArrayList<>();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OnnxDataType type = model.getGraph().getInputs().get(0).getElemType();
        try (OrtSession session = env.createSession(file.toString());
                ai.onnxruntime.OnnxTensor input = ortTensor(env, in0, dims, type);
                OrtSession.Result result = session.run(Map.of("in0", input))) {
            for (var entry : result) {
                ai.onnxruntime.OnnxTensor t = (ai.onnxruntime.OnnxTensor) entry.getValue();
                expectedShapes.add(t.getInfo().getShape());
                expected.add(asFloats(t));
            }
        }
        try (Model interpreter = Model.newInstance(name, "QuantInt8")) {
            // The interpreter's FP32 operators are under test, not quantization.
            interpreter.load(dir, null, java.util.Map.of("quantization", "fp32"));
            NDManager manager = interpreter.getNDManager();
            NDArray input =
                    manager.create(in0, new Shape(dims)).toType(type.toDjl(), false);
            NDList out =
                    interpreter.getBlock()
                            .forward(new ParameterStore(manager, false), new NDList(input), false);
            assertEquals(out.size(), expected.size(), name);
            for (int i = 0; i < out.size(); i++) {
                assertEquals(out.get(i).getShape().getShape(), expectedShapes.get(i), name);
                float[] actual = out.get(i).toType(DataType.FLOAT32, false).toFloatArray();
                float[] want = expected.get(i);
                for (int j = 0; j < want.length; j++) {
                    assertEquals(actual[j], want[j], 1e-5f, name + " element " + j + ": "
                            + Arrays.toString(actual) + " vs " + Arrays.toString(want));
                }
            }
        }
    }

    private static ai.onnxruntime.OnnxTensor ortTensor(
            OrtEnvironment env, float[] values, long[] dims, OnnxDataType type) throws Exception {
        return switch (type) {
            case FLOAT -> ai.onnxruntime.OnnxTensor.createTensor(
                    env, java.nio.FloatBuffer.wrap(values), dims);
            case INT64 -> {
                long[] longs = new long[values.length];
                Arrays.setAll(longs, i -> (long) values[i]);
                yield ai.onnxruntime.OnnxTensor.createTensor(
                        env, java.nio.LongBuffer.wrap(longs), dims);
            }
            case BOOL -> {
                java.nio.ByteBuffer bytes =
                        java.nio.ByteBuffer.allocateDirect(values.length);
                for (float v : values) {
                    bytes.put((byte) (v != 0 ? 1 : 0));
                }
                yield ai.onnxruntime.OnnxTensor.createTensor(
                        env, bytes.flip(), dims, ai.onnxruntime.OnnxJavaType.BOOL);
            }
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    private static float[] asFloats(ai.onnxruntime.OnnxTensor tensor) throws Exception {
        Object value = tensor.getValue();
        List<Float> flat = new ArrayList<>();
        flatten(value, flat);
        float[] result = new float[flat.size()];
        for (int i = 0; i < result.length; i++) {
            result[i] = flat.get(i);
        }
        return result;
    }

    private static void flatten(Object value, List<Float> out) {
        if (value instanceof float[] a) {
            for (float v : a) out.add(v);
        } else if (value instanceof long[] a) {
            for (long v : a) out.add((float) v);
        } else if (value instanceof int[] a) {
            for (int v : a) out.add((float) v);
        } else if (value instanceof boolean[] a) {
            for (boolean v : a) out.add(v ? 1f : 0f);
        } else if (value instanceof short[] a) {
            for (short v : a) out.add(Float.float16ToFloat(v));
        } else if (value instanceof Object[] a) {
            for (Object v : a) flatten(v, out);
        } else if (value instanceof Number n) {
            out.add(n.floatValue());
        } else if (value instanceof Boolean b) {
            out.add(b ? 1f : 0f);
        } else {
            throw new IllegalArgumentException("unexpected " + value.getClass());
        }
    }

    private static float[] floats(OnnxTensor tensor) {
        return switch (tensor.getDataType()) {
            case INT64 -> {
                long[] longs = tensor.toLongArray();
                float[] values = new float[longs.length];
                for (int i = 0; i < values.length; i++) {
                    values[i] = longs[i];
                }
                yield values;
            }
            case BOOL -> {
                byte[] bytes = tensor.toByteArray();
                float[] values = new float[bytes.length];
                for (int i = 0; i < values.length; i++) {
                    values[i] = bytes[i];
                }
                yield values;
            }
            default -> tensor.toFloatArray();
        };
    }

    private static OnnxNode.Builder op(String type) {
        return OnnxNode.builder().setOpType(type).optName(type.toLowerCase());
    }

    private static OnnxTensor f(float[] values, long... dims) {
        return OnnxTensor.of("", values, dims);
    }

    private static OnnxTensor l(long[] values, long... dims) {
        return OnnxTensor.of("", values, dims);
    }

    private static OnnxTensor b(boolean... values) {
        java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(values.length);
        for (boolean v : values) {
            data.put((byte) (v ? 1 : 0));
        }
        return OnnxTensor.of("", OnnxDataType.BOOL, data.flip(), values.length);
    }

    private static void add(List<Object[]> cases, String name, long opset, OnnxNode.Builder node,
            OnnxTensor... inputs) {
        OnnxGraph.Builder graph = OnnxGraph.builder().optName(name);
        int outputs = node.build().getOpType().equals("Split") ? 3 : 1;
        for (int i = 0; i < inputs.length; i++) {
            OnnxTensor t = inputs[i];
            if (i == 0) {
                graph.addInput(OnnxValueInfo.tensor("in0", t.getDataType(), t.getDims()));
            } else {
                graph.addInitializer(
                        OnnxTensor.of("in" + i, t.getDataType(), t.getData(), t.getDims()));
            }
            node.addInput("in" + i);
        }
        for (int i = 0; i < outputs; i++) {
            node.addOutput("out" + i);
            graph.addOutput(OnnxValueInfo.of("out" + i, OnnxDataType.UNDEFINED, null, ""));
        }
        graph.addNode(node.build());
        OnnxModel model = OnnxModel.builder().setGraph(graph.build()).addOpsetImport("", opset).build();
        cases.add(new Object[] {name, floats(inputs[0]), inputs[0].getDims(), model});
    }
}
