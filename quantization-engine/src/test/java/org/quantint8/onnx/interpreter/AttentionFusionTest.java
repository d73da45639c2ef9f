package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxDimension;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Attention chains as the zoo's BERT (additive padding mask) and GPT-2 (Q, K, V split from one
 * projection, causal {@code Where} mask, key/value cache concatenated) write them become one {@code Attention} node that agrees
 * with ONNX Runtime on the unfused file, for a prompt (several rows) and a one-token step.
 */
public class AttentionFusionTest {

    private static final int HEADS = 2;
    private static final int SIZE = 8;
    private static final int HIDDEN = HEADS * SIZE;

    private static OnnxNode node(String op, String output, String... inputs) {
        return OnnxNode.builder().setOpType(op).addInput(inputs).addOutput(output).build();
    }

    private static OnnxNode transpose(String output, String input, long... perm) {
        return OnnxNode.builder().setOpType("Transpose").addInput(input).addOutput(output)
                .addAttribute(OnnxAttribute.ofInts("perm", perm)).build();
    }

    /** Split heads, scores, scale, mask, softmax, context, merge, as TransformerLayers emits. */
    private static OnnxGraph.Builder attention(OnnxGraph.Builder g, boolean causal,
            boolean huggingFace) {
        g.addInitializer(OnnxTensor.of("split", new long[] {0, 0, HEADS, SIZE}, 4))
                .addInitializer(OnnxTensor.of("merged", new long[] {0, 0, -1}, 3))
                .addInitializer(OnnxTensor.of("root", new float[] {(float) Math.sqrt(SIZE)}))
                .addInitializer(OnnxTensor.of("fill", new float[] {-Float.MAX_VALUE}));
        for (String x : List.of("q", "k", "v")) {
            g.addNode(node("Reshape", x + "r", x, "split"));
            if (!huggingFace || !x.equals("k")) {
                g.addNode(transpose(x + "h", x + "r", 0, 2, 1, 3));
            }
        }
        String keys = causal ? "present_k" : "kh";
        String values = causal ? "present_v" : "vh";
        if (causal) {
            for (String x : List.of("k", "v")) {
                g.addNode(OnnxNode.builder().setOpType("Concat").addInput("past_" + x, x + "h")
                        .addOutput("present_" + x)
                        .addAttribute(OnnxAttribute.ofInt("axis", 2)).build());
            }
        }
        if (huggingFace) { // K^T straight from K's Reshape; scaled by a product
            g.addNode(transpose("kt", "kr", 0, 2, 3, 1))
                    .addInitializer(OnnxTensor.of("inverse", new float[] {0.35f}))
                    .addNode(node("Mul", "scaled", "inverse", "scores"));
        } else {
            g.addNode(transpose("kt", keys, 0, 1, 3, 2))
                    .addNode(node("Div", "scaled", "scores", "root"));
        }
        return g.addNode(node("MatMul", "scores", "qh", "kt"))
                .addNode(causal ? node("Where", "masked", "allowed", "scaled", "fill")
                        : node("Add", "masked", "scaled", "mask"))
                .addNode(OnnxNode.builder().setOpType("Softmax").addInput("masked")
                        .addOutput("p").addAttribute(OnnxAttribute.ofInt("axis", -1)).build())
                .addNode(node("MatMul", "context", "p", values))
                .addNode(transpose("ct", "context", 0, 2, 1, 3))
                .addNode(node("Reshape", "y", "ct", "merged"));
    }

    /** A value of the given dimensions, -1 for a dynamic one. */
    private static OnnxValueInfo info(String name, OnnxDataType type, long... dims) {
        return OnnxValueInfo.tensor(name, type, java.util.Arrays.stream(dims)
                .mapToObj(d -> d < 0 ? OnnxDimension.unknown() : OnnxDimension.of(d)).toList());
    }

    private static OnnxModel model(boolean causal, boolean huggingFace) {
        OnnxGraph.Builder g = OnnxGraph.builder();
        if (causal) { // GPT-2 projects Q, K and V at once and splits them
            g.addInput(info("qkv", OnnxDataType.FLOAT, -1, -1, 3 * HIDDEN))
                    .addInitializer(OnnxTensor.of("thirds", new long[] {HIDDEN, HIDDEN, HIDDEN},
                            3))
                    .addNode(OnnxNode.builder().setOpType("Split").addInput("qkv", "thirds")
                            .addOutput("q", "k", "v")
                            .addAttribute(OnnxAttribute.ofInt("axis", 2)).build());
        } else {
            for (String x : List.of("q", "k", "v")) {
                g.addInput(info(x, OnnxDataType.FLOAT, -1, -1, HIDDEN));
            }
        }
        g.addOutput(info("y", OnnxDataType.FLOAT, -1, -1, HIDDEN));
        if (causal) {
            g.addInput(info("allowed", OnnxDataType.BOOL, -1, -1));
            for (String x : List.of("k", "v")) {
                long[] cache = {-1, HEADS, -1, SIZE};
                g.addInput(info("past_" + x, OnnxDataType.FLOAT, cache));
                g.addOutput(info("present_" + x, OnnxDataType.FLOAT, cache));
            }
        } else {
            g.addInput(info("mask", OnnxDataType.FLOAT, -1, 1, 1, -1));
        }
        return OnnxModel.builder().setGraph(attention(g, causal, huggingFace).build())
                .addOpsetImport("", 17).build();
    }

    @Test
    public void bertAttentionWithPaddingIsOneNodeAndAgreesWithOrt() throws Exception {
        bert(model(false, false), 5);
    }

    @Test
    public void longSequencesRunTheProductsBatchedAndAgreeWithOrt() throws Exception {
        bert(model(false, false), 40); // 40 x 40 scores per head: the batched products
    }

    @Test
    public void huggingFaceKeyTransposeAndProductScaleAreFusedToo() throws Exception {
        bert(model(false, true), 5);
    }

    private static void bert(OnnxModel model, int seq) throws Exception {
        Assert.assertEquals(opTypes(TransformerFusion.apply(model)),
                List.of(AttentionOperator.ATTENTION, "Reshape"));
        Random random = new Random(11);
        int batch = 2;
        float[] mask = new float[batch * seq];
        mask[seq - 1] = -3.4028235e38f; // the first sequence's last token is padding
        mask[seq - 2] = -3.4028235e38f;
        Map<String, Object[]> in = new LinkedHashMap<>();
        for (String x : List.of("q", "k", "v")) {
            in.put(x, floats(FusionRuns.normal(random, batch * seq * HIDDEN, 2f),
                    batch, seq, HIDDEN));
        }
        in.put("mask", floats(mask, batch, 1, 1, seq));
        assertAgrees(model, in, 1);
    }

    @Test
    public void gpt2AttentionWithCacheIsOneNodeAndAgreesWithOrt() throws Exception {
        OnnxModel model = model(true, false);
        Assert.assertEquals(opTypes(TransformerFusion.apply(model)),
                List.of(AttentionOperator.ATTENTION, "Reshape"));
        Random random = new Random(12);
        // prompt, decoding, both; and a long prompt with a past, whose products run batched
        for (int[] step : new int[][] {{4, 0}, {1, 4}, {3, 2}, {40, 3}}) {
            int seq = step[0];
            int past = step[1];
            Map<String, Object[]> in = new LinkedHashMap<>();
            in.put("qkv", floats(FusionRuns.normal(random, seq * 3 * HIDDEN, 2f),
                    1, seq, 3 * HIDDEN));
            boolean[] allowed = new boolean[seq * (past + seq)];
            for (int s = 0; s < seq; s++) {
                for (int t = 0; t <= past + s; t++) {
                    allowed[s * (past + seq) + t] = true;
                }
            }
            in.put("allowed", new Object[] {allowed, new long[] {seq, past + seq}});
            for (String x : List.of("past_k", "past_v")) {
                in.put(x, floats(FusionRuns.normal(random, HEADS * past * SIZE, 2f),
                        1, HEADS, past, SIZE));
            }
            assertAgrees(model, in, 3);
        }
    }

    /**
     * The present keys and values are made in the caller's manager (graph outputs); a step that
     * fails after making them (here a mask one column too wide) closes them, leaving the caller
     * only its inputs.
     */
    @Test
    public void aFailedDecodingStepLeavesNoCacheWithTheCaller() throws Exception {
        Random random = new Random(5);
        int past = 4;
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model(true, false), "t", manager);
            try (QuantInt8NDManager caller = manager.newSubManager(manager.getDevice())) {
                NDList inputs = new NDList(
                        caller.create(FusionRuns.normal(random, 3 * HIDDEN, 2f),
                                new Shape(1, 1, 3 * HIDDEN)),
                        caller.create(ByteBuffer.allocate(past + 2), new Shape(1, past + 2),
                                DataType.BOOLEAN));
                for (int i = 0; i < 2; i++) {
                    inputs.add(caller.create(FusionRuns.normal(random, HEADS * past * SIZE, 2f),
                            new Shape(1, HEADS, past, SIZE)));
                }
                IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                        () -> block.forward(new ParameterStore(caller, false), inputs, false));
                Assert.assertTrue(e.getMessage().contains("does not broadcast"), e.getMessage());
                Assert.assertEquals(caller.getManagedArrays().size(), inputs.size(),
                        "arrays left with the caller: " + caller.getManagedArrays());
            }
        }
    }

    private static Object[] floats(float[] values, long... shape) {
        return new Object[] {values, shape};
    }

    private static List<String> opTypes(OnnxModel model) {
        return model.getGraph().getNodes().stream().map(OnnxNode::getOpType).toList();
    }

    /**
     * Compares every output within 1e-5 (1 + |expected|): the two sides sum the 8-term dot
     * products and the softmax in different orders (a few ulp on scores of magnitude ~10) and
     * use different exp approximations (2 ulp each).
     */
    private static void assertAgrees(OnnxModel model, Map<String, Object[]> in, int outputs)
            throws Exception {
        List<float[]> expected = ort(model, in, outputs);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            NDList inputs = new NDList();
            for (Object[] v : in.values()) {
                Shape shape = new Shape((long[]) v[1]);
                if (v[0] instanceof float[] f) {
                    inputs.add(manager.create(f, shape));
                } else {
                    boolean[] b = (boolean[]) v[0];
                    ByteBuffer bytes = ByteBuffer.allocate(b.length);
                    for (boolean x : b) {
                        bytes.put((byte) (x ? 1 : 0));
                    }
                    inputs.add(manager.create(bytes.flip(), shape, DataType.BOOLEAN));
                }
            }
            NDList out = OnnxBlock.newInstance(model, "t", manager)
                    .forward(new ParameterStore(manager, false), inputs, false);
            for (int o = 0; o < outputs; o++) {
                NDArray actual = out.get(o);
                float[] a = actual.toFloatArray();
                float[] e = expected.get(o);
                Assert.assertEquals(a.length, e.length, "output " + o);
                for (int i = 0; i < a.length; i++) {
                    Assert.assertEquals(a[i], e[i], 1e-5 * (1 + Math.abs(e[i])),
                            "output " + o + " at " + i);
                }
            }
        }
    }

    private static List<float[]> ort(OnnxModel model, Map<String, Object[]> in, int outputs)
            throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        byte[] bytes = OnnxModelWriter.builder().build().toByteArray(model);
        Map<String, ai.onnxruntime.OnnxTensor> feeds = new LinkedHashMap<>();
        try (OrtSession session = env.createSession(bytes, new OrtSession.SessionOptions())) {
            for (Map.Entry<String, Object[]> e : in.entrySet()) {
                long[] shape = (long[]) e.getValue()[1];
                if (e.getValue()[0] instanceof float[] f) {
                    feeds.put(e.getKey(), ai.onnxruntime.OnnxTensor.createTensor(env,
                            FloatBuffer.wrap(f), shape));
                } else {
                    boolean[] b = (boolean[]) e.getValue()[0];
                    ByteBuffer buf = ByteBuffer.allocateDirect(b.length);
                    for (boolean x : b) {
                        buf.put((byte) (x ? 1 : 0));
                    }
                    feeds.put(e.getKey(), ai.onnxruntime.OnnxTensor.createTensor(env, buf.flip(),
                            shape, ai.onnxruntime.OnnxJavaType.BOOL));
                }
            }
            try (OrtSession.Result result = session.run(feeds)) {
                List<float[]> values = new java.util.ArrayList<>();
                for (int o = 0; o < outputs; o++) {
                    FloatBuffer fb = ((ai.onnxruntime.OnnxTensor) result.get(o)).getFloatBuffer();
                    float[] v = new float[fb.remaining()];
                    fb.get(v);
                    values.add(v);
                }
                return values;
            }
        } finally {
            feeds.values().forEach(ai.onnxruntime.OnnxTensor::close);
        }
    }
}
