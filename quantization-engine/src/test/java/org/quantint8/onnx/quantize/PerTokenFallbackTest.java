package org.quantint8.onnx.quantize;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.quantint8.calibration.AccuracyBudget;
import org.quantint8.calibration.BudgetFallback;
import org.quantint8.calibration.LayerReport;
import org.quantint8.calibration.OutputMetric;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.quantint8.onnx.interpreter.OnnxBlock;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The per-token budget fallback: layers the budget cannot afford with a calibrated per-tensor
 * range keep INT8 weights and quantize their input per token, beside static layers in the same
 * file, which ONNX Runtime and QuantInt8 run alike.
 */
public class PerTokenFallbackTest {

    private static final int K = 16;
    private static final int N = 8;
    private static final long[] SHAPE = {2, 3, K};

    /**
     * y = MatMul(x, w) + MatMul(u, v): x has ordinary rows, u one outlier row per sample, so only
     * the layer reading u loses its ordinary rows to a per-tensor range.
     */
    private static OnnxModel twoInputs(Random random) {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, SHAPE))
                .addInput(OnnxValueInfo.tensor("u", OnnxDataType.FLOAT, SHAPE))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 3, N))
                .addInitializer(OnnxTensor.of("w", OnnxQuantizerTest.normal(random, K * N, 0.3f), K, N))
                .addInitializer(OnnxTensor.of("v", OnnxQuantizerTest.normal(random, K * N, 0.3f), K, N))
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("fc_x")
                        .addInput("x", "w").addOutput("a").build())
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("fc_u")
                        .addInput("u", "v").addOutput("b").build())
                .addNode(OnnxNode.builder().setOpType("Add").optName("sum")
                        .addInput("a", "b").addOutput("y").build())
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).optIrVersion(8).build();
    }

    private static List<NDList> samples(NDManager manager, Random random, int count) {
        List<NDList> samples = new ArrayList<>();
        int size = (int) (SHAPE[0] * SHAPE[1] * SHAPE[2]);
        for (int s = 0; s < count; s++) {
            float[] x = OnnxQuantizerTest.normal(random, size, 1f);
            float[] u = OnnxQuantizerTest.normal(random, size, 1f);
            for (int k = 0; k < K; k++) {
                u[K + k] *= 60f + s; // row 1 of every sample: an outlier token
            }
            samples.add(new NDList(manager.create(x, new Shape(SHAPE)),
                    manager.create(u, new Shape(SHAPE))));
        }
        return samples;
    }

    private static QuantizationConfig.Builder staticConfig() {
        return QuantizationConfig.builder().optMode(QuantizationMode.STATIC);
    }

    @Test
    public void budgetMovesOnlyTheSensitiveLayerToPerToken() {
        Random random = new Random(11);
        OnnxModel model = twoInputs(random);
        try (NDManager manager = Engine.getEngine("QuantInt8").newBaseManager()) {
            List<NDList> samples = samples(manager, random, 8);
            double plain = sqnr(model, PostTrainingQuantizer.quantize(
                    model, staticConfig().build(), samples).model(), samples);
            OnnxModel onlyU = OnnxQuantizer.builder().optConfig(staticConfig().build())
                    .optActivationParameters(calibrated(model, samples))
                    .optPerTokenLayers(Map.of("fc_u", "test")).build().quantize(model).model();
            double fixed = sqnr(model, onlyU, samples);
            Assert.assertTrue(fixed > plain + 6, "per token on fc_u " + fixed + " dB, static " + plain);
            // A budget between the two: moving fc_u meets it, moving fc_x alone cannot.
            double budget = (plain + fixed) / 2;
            QuantizedOnnxModel q = PostTrainingQuantizer.quantize(model, staticConfig()
                    .optAccuracyBudget(AccuracyBudget.minSqnrDb(budget))
                    .optBudgetFallback(BudgetFallback.PER_TOKEN).build(), samples);
            Assert.assertEquals(q.report().getQuantizedLayerCount(), 2, "every weight stays INT8");
            LayerReport u = layer(q, "fc_u");
            LayerReport x = layer(q, "fc_x");
            Assert.assertTrue(u.reason().startsWith("dynamic per token: sensitivity rank 1 ("), u.reason());
            Assert.assertEquals(u.observer(), "per-call min-max per token");
            Assert.assertEquals(x.reason(), "static");
            Assert.assertEquals(x.observer(), "calibrated");
            Assert.assertTrue(sqnr(model, q.model(), samples) >= budget);
        }
    }

    /** The same activation read by a static site and a per-token site is quantized both ways. */
    @Test
    public void staticAndPerTokenSitesShareAnInput() throws Exception {
        Random random = new Random(5);
        OnnxModel model = PerTokenQuantizationTest.twoHeads(13, random);
        QuantizationParameters x = QuantizationParameters.forRange(-3f, 3f, DataType.UINT8);
        QuantizedOnnxModel q = OnnxQuantizer.builder().optConfig(staticConfig().build())
                .optActivationParameters(Map.of("x", x))
                .optPerTokenLayers(Map.of("fc_y", "chosen")).build().quantize(model);
        List<OnnxNode> nodes = q.model().getGraph().getNodes();
        Assert.assertEquals(count(nodes, "ReduceMax"), 1);
        Assert.assertEquals(count(nodes, "MatMulInteger"), 2);
        Assert.assertEquals(count(nodes, "DynamicQuantizeLinear"), 0);
        Assert.assertEquals(layer(q, "fc_y").reason(), "dynamic per token: chosen");
        Assert.assertEquals(layer(q, "fc_z").activationParameters(), x);
        float[] input = OnnxQuantizerTest.normal(random, 2 * 3 * K, 1f);
        Map<String, float[]> fp32 = OnnxQuantizerTest.runAll(model, input, SHAPE);
        Map<String, float[]> ort = OnnxQuantizerTest.runAll(q.model(), input, SHAPE);
        OnnxQuantizerTest.assertClose(ort.get("y"), fp32.get("y"), 30);
        OnnxQuantizerTest.assertClose(ort.get("z"), fp32.get("z"), 25);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(q.model(), "mixed", manager);
            NDList out = block.forward(new ParameterStore(manager, false),
                    new NDList(manager.create(input, new Shape(SHAPE))), false);
            for (int i = 0; i < 2; i++) {
                float[] ours = out.get(i).toFloatArray();
                float[] expected = ort.get(i == 0 ? "y" : "z");
                for (int j = 0; j < ours.length; j++) {
                    Assert.assertEquals(ours[j], expected[j],
                            1e-5f * Math.max(1f, Math.abs(expected[j])), "output " + i + " at " + j);
                }
            }
        }
    }

    /** A Conv chosen for the per-token fallback stays FP32 and says why. */
    @Test
    public void convFallsBackToFp32() {
        OnnxModel model = OnnxQuantizerTest.conv(new Random(2));
        String conv = model.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals("Conv")).findFirst().orElseThrow().getName();
        QuantizedOnnxModel q = OnnxQuantizer.builder()
                .optPerTokenLayers(Map.of(conv, "chosen")).build().quantize(model);
        LayerReport report = layer(q, conv);
        Assert.assertFalse(report.quantized());
        Assert.assertTrue(report.reason().contains("not quantized per token"), report.reason());
    }

    private static Map<String, QuantizationParameters> calibrated(
            OnnxModel model, List<NDList> samples) {
        QuantizationConfig config = staticConfig().build();
        try (ActivationCalibrator calibrator = ActivationCalibrator.create(model, config)) {
            samples.forEach(calibrator::observe);
            return calibrator.result().parameters();
        }
    }

    /** Output SQNR of a quantized model against FP32 over the samples, run by ONNX Runtime. */
    private static double sqnr(OnnxModel fp32, OnnxModel quantized, List<NDList> samples) {
        List<float[]> reference = new ArrayList<>();
        List<float[]> actual = new ArrayList<>();
        try (OrtGraphRunner a = new OrtGraphRunner(fp32, List.of(), 1);
                OrtGraphRunner b = new OrtGraphRunner(quantized, List.of(), 1)) {
            for (NDList sample : samples) {
                reference.add(a.run(sample).get("y").values());
                actual.add(b.run(sample).get("y").values());
            }
        }
        return OutputMetric.sqnrDb().score(reference, actual);
    }

    private static LayerReport layer(QuantizedOnnxModel q, String name) {
        return q.report().getLayers().stream().filter(l -> l.layerName().equals(name))
                .findFirst().orElseThrow();
    }

    private static long count(List<OnnxNode> nodes, String opType) {
        return nodes.stream().filter(n -> n.getOpType().equals(opType)).count();
    }
}
