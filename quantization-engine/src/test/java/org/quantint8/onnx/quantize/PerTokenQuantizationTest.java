package org.quantint8.onnx.quantize;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

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
import org.quantint8.onnx.interpreter.OnnxBlock;
import org.testng.Assert;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.List;
import java.util.Random;

/**
 * Per-token dynamic quantization: the graph it emits, its arithmetic against a direct
 * computation of the same rule, all-zero rows, the reduction forms of each opset, and ONNX
 * Runtime and QuantInt8 computing the same values from the same file.
 */
public class PerTokenQuantizationTest {

    private static final int ROWS = 6;
    private static final int K = 16;
    private static final int N = 8;

    /** x [2, 3, 16] -> MatMul w [16, 8] -> y, and x -> MatMul v [16, 4] -> z: one shared input. */
    static OnnxModel twoHeads(long opset, Random random) {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2, 3, K))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 3, N))
                .addOutput(OnnxValueInfo.tensor("z", OnnxDataType.FLOAT, 2, 3, 4))
                .addInitializer(OnnxTensor.of("w", OnnxQuantizerTest.normal(random, K * N, 0.3f), K, N))
                .addInitializer(OnnxTensor.of("v", OnnxQuantizerTest.normal(random, K * 4, 0.3f), K, 4))
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("fc_y")
                        .addInput("x", "w").addOutput("y").build())
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("fc_z")
                        .addInput("x", "v").addOutput("z").build())
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", opset).optIrVersion(8).build();
    }

    private static QuantizationConfig perToken(QuantizationScheme weights) {
        return QuantizationConfig.builder().optMode(QuantizationMode.DYNAMIC)
                .optActivationGranularity(Granularity.PER_TOKEN).optWeightScheme(weights).build();
    }

    private static QuantizedOnnxModel quantize(OnnxModel model, QuantizationScheme weights) {
        return OnnxQuantizer.builder().optConfig(perToken(weights)).build().quantize(model);
    }

    /** Rows with ordinary values, an outlier row, an all-zero row, a positive and a negative one. */
    private static float[] input(Random random) {
        float[] x = OnnxQuantizerTest.normal(random, ROWS * K, 1f);
        for (int k = 0; k < K; k++) {
            x[K + k] *= k == 3 ? 80f : 1f;
            x[2 * K + k] = 0f;
            x[3 * K + k] = Math.abs(x[3 * K + k]);
            x[4 * K + k] = -Math.abs(x[4 * K + k]);
        }
        return x;
    }

    @Test
    public void sharedInputIsQuantizedOncePerRow() {
        QuantizedOnnxModel q = quantize(twoHeads(13, new Random(1)), QuantizationScheme.SYMMETRIC_INT8);
        List<OnnxNode> nodes = q.model().getGraph().getNodes();
        Assert.assertEquals(count(nodes, "ReduceMax"), 1);
        Assert.assertEquals(count(nodes, "ReduceMin"), 1);
        Assert.assertEquals(count(nodes, "MatMulInteger"), 2);
        Assert.assertEquals(count(nodes, "DynamicQuantizeLinear"), 0);
        Assert.assertEquals(count(nodes, "MatMul"), 0);
        OnnxNode reduce = find(nodes, "ReduceMax");
        Assert.assertEquals(reduce.getInts("axes", null), new long[] {-1});
        Assert.assertEquals(reduce.getInputs().size(), 1);
        for (OnnxNode matMul : nodes) {
            if (matMul.getOpType().equals("MatMulInteger")) {
                Assert.assertEquals(matMul.getInputs().size(), 2, "no zero points: " + matMul);
            }
        }
        Assert.assertEquals(q.report().getLayers().get(0).observer(), "per-call min-max per token");
    }

    @Test
    public void opset18TakesReductionAxesAsAnInput() {
        QuantizedOnnxModel q = quantize(twoHeads(18, new Random(1)), QuantizationScheme.SYMMETRIC_INT8);
        OnnxGraph graph = q.model().getGraph();
        for (String op : new String[] {"ReduceMax", "ReduceMin"}) {
            OnnxNode reduce = find(graph.getNodes(), op);
            Assert.assertFalse(reduce.getAttributes().containsKey("axes"), op);
            Assert.assertEquals(reduce.getInputs().size(), 2, op);
            Assert.assertEquals(graph.getInitializer(reduce.getInputs().get(1)).toLongArray(),
                    new long[] {-1});
        }
    }

    @DataProvider
    public Object[][] forms() {
        return new Object[][] {
            {11L, QuantizationScheme.SYMMETRIC_INT8}, {13L, QuantizationScheme.SYMMETRIC_INT8},
            {18L, QuantizationScheme.SYMMETRIC_INT8}, {21L, QuantizationScheme.SYMMETRIC_INT8},
            {13L, QuantizationScheme.ASYMMETRIC_UINT8}
        };
    }

    /**
     * ONNX Runtime's result equals the rule computed directly from the file's codes and scales:
     * the integer part is exact and the float steps are the same IEEE operations.
     */
    @Test(dataProvider = "forms")
    public void ortComputesTheRuleExactly(long opset, QuantizationScheme weights) throws Exception {
        Random random = new Random(opset);
        QuantizedOnnxModel q = quantize(twoHeads(opset, random), weights);
        float[] x = input(random);
        float[] actual = OnnxQuantizerTest.run(q.model(), x, 2, 3, K);
        float[] expected = reference(q.model().getGraph(), "w", x);
        for (int i = 0; i < expected.length; i++) {
            Assert.assertEquals(actual[i], expected[i], Math.ulp(expected[i]) * 4, "at " + i);
        }
        for (int n = 0; n < N; n++) {
            Assert.assertEquals(actual[2 * N + n], 0f, "an all-zero row stays exactly zero");
        }
    }

    /** Per-token keeps an outlier row from costing the other rows their precision. */
    @Test
    public void outlierRowCostsLessPerTokenThanPerTensor() throws Exception {
        Random random = new Random(7);
        OnnxModel model = twoHeads(13, random);
        float[] x = input(random);
        float[] fp32 = OnnxQuantizerTest.run(model, x, 2, 3, K);
        float[] perTensor = OnnxQuantizerTest.run(
                OnnxQuantizer.builder().build().quantize(model).model(), x, 2, 3, K);
        float[] perToken = OnnxQuantizerTest.run(
                quantize(model, QuantizationScheme.SYMMETRIC_INT8).model(), x, 2, 3, K);
        // Row 0 is ordinary; per tensor, its step is set by row 1's outlier.
        double tokenError = rowError(perToken, fp32, 0);
        double tensorError = rowError(perTensor, fp32, 0);
        Assert.assertTrue(tokenError * 10 < tensorError,
                "row 0 error per token " + tokenError + ", per tensor " + tensorError);
    }

    /** A head tied to the embedding reads its table [N, K] transposed: column sums per row. */
    @Test
    public void tiedHeadSumsTheTableRows() throws Exception {
        OnnxModel model = OnnxQuantizerTest.tiedEmbedding(new Random(6), 300, 64, 13);
        QuantizedOnnxModel q = quantize(model, QuantizationScheme.SYMMETRIC_INT8);
        float[] x = {0f, 299f, 17f};
        OnnxQuantizerTest.assertClose(OnnxQuantizerTest.runAll(q.model(), x, 3).get("y"),
                OnnxQuantizerTest.runAll(model, x, 3).get("y"), 35);
    }

    @Test
    public void quantInt8RunsTheFileLikeOrt() throws Exception {
        Random random = new Random(3);
        QuantizedOnnxModel q = quantize(twoHeads(13, random), QuantizationScheme.SYMMETRIC_INT8);
        float[] x = input(random);
        float[] ort = OnnxQuantizerTest.run(q.model(), x, 2, 3, K);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(q.model(), "per-token", manager);
            NDList out = block.forward(new ParameterStore(manager, false),
                    new NDList(manager.create(x, new Shape(2, 3, K))), false);
            float[] ours = out.get(0).toFloatArray();
            Assert.assertEquals(ours.length, ort.length);
            for (int i = 0; i < ours.length; i++) {
                Assert.assertEquals(ours[i], ort[i], 1e-5f * Math.max(1f, Math.abs(ort[i])),
                        "at " + i);
            }
        }
    }

    @Test
    public void staticModeRejectsPerToken() {
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationConfig.builder().optMode(QuantizationMode.STATIC)
                        .optActivationGranularity(Granularity.PER_TOKEN).build());
        Assert.assertTrue(e.getMessage().contains("dynamic mode"), e.getMessage());
    }

    /**
     * The rule, computed directly: per row, the UINT8 range including 0, codes rounded half to
     * even, an integer dot product with the file's weight codes, then the scales.
     */
    private static float[] reference(OnnxGraph graph, String weight, float[] x) {
        OnnxTensor codesTensor = graph.getInitializer(weight + "_quantized");
        int[] codes = codesTensor.toIntArray();
        float[] weightScales = graph.getInitializer(weight + "_quantized_scale").toFloatArray();
        OnnxTensor zeros = graph.getInitializers().values().stream()
                .filter(t -> t.getName().endsWith("w_zero_point") && t.getName().startsWith("fc_y"))
                .findFirst().orElse(null);
        int[] wZero = zeros == null ? new int[N] : zeros.toIntArray();
        float[] y = new float[ROWS * N];
        for (int r = 0; r < ROWS; r++) {
            float max = Float.NEGATIVE_INFINITY;
            float min = Float.POSITIVE_INFINITY;
            for (int k = 0; k < K; k++) {
                max = Math.max(max, x[r * K + k]);
                min = Math.min(min, x[r * K + k]);
            }
            float lo = Math.min(min, 0f);
            float raw = (Math.max(max, 0f) - lo) / 255f;
            float scale = raw == 0f ? 1f : raw;
            int zero = saturate(Math.rint(-lo / scale));
            for (int n = 0; n < N; n++) {
                long acc = 0;
                for (int k = 0; k < K; k++) {
                    int q = saturate(Math.rint(x[r * K + k] / scale + (float) zero));
                    acc += (long) (q - zero) * (codes[k * N + n] - wZero[wZero.length == 1 ? 0 : n]);
                }
                y[r * N + n] = (float) acc * scale * weightScales[n];
            }
        }
        return y;
    }

    private static int saturate(double v) {
        return (int) Math.max(0, Math.min(255, v));
    }

    private static double rowError(float[] actual, float[] expected, int row) {
        double e = 0;
        for (int n = 0; n < N; n++) {
            double d = actual[row * N + n] - expected[row * N + n];
            e += d * d;
        }
        return e;
    }

    private static long count(List<OnnxNode> nodes, String opType) {
        return nodes.stream().filter(n -> n.getOpType().equals(opType)).count();
    }

    private static OnnxNode find(List<OnnxNode> nodes, String opType) {
        return nodes.stream().filter(n -> n.getOpType().equals(opType)).findFirst().orElseThrow();
    }
}
