package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;

import org.quantint8.calibration.Granularity;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.calibration.QuantizationScheme;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.quantint8.onnx.quantize.OnnxQuantizer;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.Random;

/**
 * Per-token projections fused at load give the bits of the quantizer's unfused chain and the
 * values of ONNX Runtime, and a chain with an outside reader of an intermediate stays unfused.
 */
public class PerTokenLinearFusionTest {

    private static final int K = 24;

    /**
     * Three projections of one input x [..., 24] (attention's query, key and value): MatMul,
     * MatMul with a bias Add, and Gemm(transB) with a bias; quantized dynamically per token.
     */
    private static OnnxModel perTokenModel(Random random, long opset, QuantizationScheme weights,
            long... xShape) {
        long[] yShape = xShape.clone();
        yShape[yShape.length - 1] = 8;
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, xShape))
                .addOutput(OnnxValueInfo.tensor("q", OnnxDataType.FLOAT, yShape))
                .addOutput(OnnxValueInfo.tensor("k", OnnxDataType.FLOAT, yShape))
                .addOutput(OnnxValueInfo.tensor("v", OnnxDataType.FLOAT, yShape))
                .addInitializer(OnnxTensor.of("wq", normal(random, K * 8), K, 8))
                .addInitializer(OnnxTensor.of("wk", normal(random, K * 8), K, 8))
                .addInitializer(OnnxTensor.of("bk", normal(random, 8), 8))
                .addInitializer(OnnxTensor.of("wv", normal(random, 8 * K), 8, K))
                .addInitializer(OnnxTensor.of("bv", normal(random, 8), 8))
                .addNode(node("MatMul", "query", "q", "x", "wq"))
                .addNode(node("MatMul", "key", "k_raw", "x", "wk"))
                .addNode(node("Add", "key_bias", "k", "k_raw", "bk"))
                .addNode(OnnxNode.builder().setOpType("Gemm").optName("value")
                        .addInput("x", "wv", "bv").addOutput("v")
                        .addAttribute(OnnxAttribute.ofInt("transB", 1)).build())
                .build();
        OnnxModel fp32 = OnnxModel.builder().setGraph(graph).addOpsetImport("", opset).build();
        QuantizationConfig config = QuantizationConfig.builder()
                .optMode(QuantizationMode.DYNAMIC).optWeightScheme(weights)
                .optActivationGranularity(Granularity.PER_TOKEN).build();
        return OnnxQuantizer.builder().optConfig(config).build().quantize(fp32).model();
    }

    @Test
    public void sharedInputOf3dSitesFusesToThreeNodesWithTheSameBits() throws Exception {
        Random random = new Random(11);
        OnnxModel model = perTokenModel(random, 13, QuantizationScheme.SYMMETRIC_INT8, 2, 5, K);
        OnnxModel fused = IntegerLinearFusion.apply(model);
        Assert.assertEquals(fused.getGraph().getNodes().size(), 3, fused.getGraph().toString());
        for (OnnxNode node : fused.getGraph().getNodes()) {
            Assert.assertEquals(node.getOpType(), IntegerLinearFusion.FUSED_OP);
            Assert.assertEquals(node.getInt(PerTokenLinearFusion.PER_TOKEN, 0), 1);
        }
        float[] x = input(random, 2 * 5);
        assertFusedMatchesUnfusedAndOrt(model, x, 2, 5, K);
    }

    @Test
    public void asymmetricWeightsAndAxesInputOfOpset18() throws Exception {
        Random random = new Random(12);
        OnnxModel model = perTokenModel(random, 18, QuantizationScheme.ASYMMETRIC_UINT8, 7, K);
        Assert.assertTrue(model.getGraph().getNodes().stream()
                .anyMatch(n -> n.getOpType().equals("MatMulInteger")
                        && n.getInputs().size() == 4), "the rewriter wrote weight zero points");
        OnnxModel fused = IntegerLinearFusion.apply(model);
        Assert.assertEquals(fused.getGraph().getNodes().size(), 3, fused.getGraph().toString());
        fused.getGraph().getNodes().forEach(n -> Assert.assertFalse(n.getInputs().get(3).isEmpty()));
        assertFusedMatchesUnfusedAndOrt(model, input(random, 7), 7, K);
    }

    @Test
    public void siteWithAnOutsideReaderOfItsAccumulatorStaysUnfused() throws Exception {
        Random random = new Random(13);
        OnnxModel exposed = exposing(random, "MatMulInteger", OnnxDataType.INT32);
        OnnxModel fused = IntegerLinearFusion.apply(exposed);
        Assert.assertEquals(count(fused, "MatMulInteger"), 1);
        Assert.assertEquals(count(fused, IntegerLinearFusion.FUSED_OP), 2);
        // The unfused site still reads the shared quantization, which therefore stays.
        Assert.assertEquals(count(fused, "ReduceMax"), 1);
        assertFusedMatchesUnfusedAndOrt(exposed, input(random, 6), 6, K);
    }

    @Test
    public void quantizationWithAnOutsideReaderIsKeptForIt() throws Exception {
        Random random = new Random(14);
        OnnxModel exposed = exposing(random, "Sub", OnnxDataType.FLOAT);
        OnnxModel fused = IntegerLinearFusion.apply(exposed);
        Assert.assertEquals(count(fused, IntegerLinearFusion.FUSED_OP), 3);
        // Only what computes the exposed range is left: two reductions, Max, Min and Sub.
        Assert.assertEquals(fused.getGraph().getNodes().size(), 3 + 5,
                fused.getGraph().toString());
        assertFusedMatchesUnfusedAndOrt(exposed, input(random, 6), 6, K);
    }

    @Test
    public void changedConstantIsNotFused() {
        Random random = new Random(15);
        OnnxModel model = perTokenModel(random, 13, QuantizationScheme.SYMMETRIC_INT8, 6, K);
        String levels = model.getGraph().getInitializers().values().stream()
                .filter(t -> t.getDataType() == OnnxDataType.FLOAT && t.getElementCount() == 1
                        && t.toFloatArray()[0] == 255f)
                .findFirst().orElseThrow().getName();
        OnnxModel changed = withInitializer(model, OnnxTensor.of(levels, new float[] {254f}));
        Assert.assertSame(IntegerLinearFusion.apply(changed), changed);
    }

    /** One projection of x [2, 5, 24] to 40 outputs: the given weight and an optional Add. */
    private static OnnxModel singleProjection(Random random, boolean tied, float[] bias) {
        OnnxGraph.Builder g = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2, 5, K))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 5, 40));
        String product = bias == null ? "y" : "product";
        if (tied) {
            // A head tied to a [40, 24] table: the quantizer keeps the table and transposes it.
            g.addInitializer(OnnxTensor.of("table", normal(random, 40 * K), 40, K))
                    .addNode(node("Transpose", "tie", "w", "table"));
        } else {
            g.addInitializer(OnnxTensor.of("w", normal(random, K * 40), K, 40));
        }
        g.addNode(node("MatMul", "head", product, "x", "w"));
        if (bias != null) {
            g.addInitializer(OnnxTensor.of("b", bias, bias.length))
                    .addNode(node("Add", "head_bias", "y", "b", product));
        }
        OnnxModel fp32 = OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build();
        QuantizationConfig config = QuantizationConfig.builder().optMode(QuantizationMode.DYNAMIC)
                .optActivationGranularity(Granularity.PER_TOKEN).build();
        return OnnxQuantizer.builder().optConfig(config).build().quantize(fp32).model();
    }

    @Test
    public void tiedHeadAndLeadingBiasAreFused() throws Exception {
        Random random = new Random(16);
        OnnxModel model = singleProjection(random, true, normal(random, 40));
        OnnxModel fused = IntegerLinearFusion.apply(model);
        Assert.assertEquals(fused.getGraph().getNodes().size(), 1, fused.getGraph().toString());
        OnnxNode node = fused.getGraph().getNodes().get(0);
        Assert.assertEquals(node.getInt(IntegerLinearFusion.TRANS_B, 0), 1);
        Assert.assertEquals(node.getInputs().get(4), "b");
        assertSingleOutputMatches(model, input(random, 10));
    }

    @Test
    public void broadcastBiasStaysAnAdd() throws Exception {
        Random random = new Random(17);
        // A bias of one value broadcasts in the Add; the fused operator takes one per column.
        OnnxModel model = singleProjection(random, false, new float[] {0.25f});
        OnnxModel fused = IntegerLinearFusion.apply(model);
        Assert.assertEquals(count(fused, IntegerLinearFusion.FUSED_OP), 1);
        Assert.assertEquals(fused.getGraph().getNodes().size(), 2, fused.getGraph().toString());
        assertSingleOutputMatches(model, input(random, 10));
    }

    @Test
    public void nonFiniteInputIsRefusedNamingItsRow() throws Exception {
        Random random = new Random(18);
        OnnxModel model = singleProjection(random, false, null);
        float[] x = input(random, 10);
        x[3 * K + 5] = Float.POSITIVE_INFINITY;
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), true);
            Exception e = Assert.expectThrows(Exception.class,
                    () -> FusionRuns.run(block, manager, x, 2, 5, K));
            String message = String.valueOf(e.getMessage())
                    + (e.getCause() == null ? "" : e.getCause().getMessage());
            Assert.assertTrue(message.contains("X (row 3) has a non-finite value Infinity"),
                    message);
        }
    }

    private static void assertSingleOutputMatches(OnnxModel model, float[] x) throws Exception {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            float[] unfused = FusionRuns.run(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), false), manager, x, 2, 5, K);
            float[] fused = FusionRuns.run(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), true), manager, x, 2, 5, K);
            Assert.assertEquals(fused, unfused);
            float[] ort = FusionRuns.ort(model, x, 2, 5, K);
            for (int i = 0; i < ort.length; i++) {
                Assert.assertEquals(fused[i], ort[i], 1e-6f * Math.max(1f, Math.abs(ort[i])),
                        "element " + i);
            }
        }
    }

    /** Rows of increasing scale and signs, one all zero (scale 1) and one non-negative. */
    private static float[] input(Random random, int rows) {
        float[] x = new float[rows * K];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < K; j++) {
                float v = (float) random.nextGaussian() * (0.1f + r);
                x[r * K + j] = r == 1 ? 0f : r == 2 ? Math.abs(v) : v;
            }
        }
        return x;
    }

    /**
     * The fused block gives the unfused block's bits on every output. ONNX Runtime runs the same
     * integer arithmetic and the same FP32 operations in the same order, so its q, k and v may
     * differ only if one of its kernels rounds a product differently (a fused multiply-add).
     */
    private static void assertFusedMatchesUnfusedAndOrt(OnnxModel model, float[] x,
            long... shape) throws Exception {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            NDList unfused = FusionRuns.runAll(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), false), manager, x, shape);
            NDList fused = FusionRuns.runAll(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), true), manager, x, shape);
            Assert.assertEquals(fused.size(), unfused.size());
            for (int i = 0; i < fused.size(); i++) {
                Assert.assertEquals(fused.get(i).toByteArray(), unfused.get(i).toByteArray(),
                        "output " + i);
            }
            // q, k and v, the first three outputs.
            float[][] ort = FusionRuns.ort(model, 3, x, shape);
            for (int output = 0; output < ort.length; output++) {
                float[] actual = fused.get(output).toFloatArray();
                for (int i = 0; i < ort[output].length; i++) {
                    float expected = ort[output][i];
                    Assert.assertEquals(actual[i], expected,
                            1e-6f * Math.max(1f, Math.abs(expected)),
                            "output " + output + ", element " + i);
                }
            }
        }
    }

    /**
     * The per-token model of 6 rows with the output of the first node of the type (the first
     * site's accumulator, the shared quantization's range) also a graph output.
     */
    private static OnnxModel exposing(Random random, String opType, OnnxDataType type) {
        OnnxModel model = perTokenModel(random, 13, QuantizationScheme.SYMMETRIC_INT8, 6, K);
        return withExtraOutput(model, firstOutputOf(model, opType), type);
    }

    private static OnnxModel withExtraOutput(OnnxModel model, String value, OnnxDataType type) {
        OnnxGraph.Builder g = OnnxGraph.builder();
        model.getGraph().getNodes().forEach(g::addNode);
        model.getGraph().getInputs().forEach(g::addInput);
        // After q, k and v, which the comparison with ONNX Runtime reads as outputs 0 to 2.
        model.getGraph().getOutputs().forEach(g::addOutput);
        g.addOutput(OnnxValueInfo.of(value, type, null, ""));
        model.getGraph().getInitializers().values().forEach(g::addInitializer);
        return withOpsets(model, g.build());
    }

    private static OnnxModel withInitializer(OnnxModel model, OnnxTensor replacement) {
        OnnxGraph.Builder g = OnnxGraph.builder();
        model.getGraph().getNodes().forEach(g::addNode);
        model.getGraph().getInputs().forEach(g::addInput);
        model.getGraph().getOutputs().forEach(g::addOutput);
        model.getGraph().getInitializers().values().forEach(t -> g.addInitializer(
                t.getName().equals(replacement.getName()) ? replacement : t));
        return withOpsets(model, g.build());
    }

    private static OnnxModel withOpsets(OnnxModel model, OnnxGraph graph) {
        OnnxModel.Builder m = OnnxModel.builder().setGraph(graph);
        model.getOpsetImports().forEach(o -> m.addOpsetImport(o.domain(), o.version()));
        return m.build();
    }

    private static String firstOutputOf(OnnxModel model, String opType) {
        return model.getGraph().getNodes().stream().filter(n -> n.getOpType().equals(opType))
                .findFirst().orElseThrow().getOutputs().get(0);
    }

    private static long count(OnnxModel model, String opType) {
        return model.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals(opType)).count();
    }

    private static OnnxNode node(String op, String name, String output, String... inputs) {
        return OnnxNode.builder().setOpType(op).optName(name).addInput(inputs).addOutput(output)
                .build();
    }

    private static float[] normal(Random random, int n) {
        return FusionRuns.normal(random, n, 0.5f);
    }
}
