package org.quantint8.onnx.quantize;

import ai.djl.ndarray.types.DataType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import org.quantint8.calibration.LayerReport;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Random;

/**
 * Quantized graphs run in ONNX Runtime and stay close to their FP32 originals; what the
 * configuration excludes stays FP32.
 */
public class OnnxQuantizerTest {

    private static final int BATCH = 4;

    /** x [4, 16] -> MatMul W1 [16, 24] -> Relu -> Gemm(transB) W2 [8, 24] + b2 -> y [4, 8]. */
    static OnnxModel mlp(Random random) {
        OnnxGraph graph = OnnxGraph.builder()
                .optName("mlp")
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, BATCH, 16))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, BATCH, 8))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("w1", normal(random, 16 * 24, 0.3f), 16, 24))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("w2", normal(random, 8 * 24, 0.2f), 8, 24))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("b2", normal(random, 8, 0.1f), 8))
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("fc1")
                        .addInput("x", "w1").addOutput("h").build())
                .addNode(OnnxNode.builder().setOpType("Relu").optName("relu")
                        .addInput("h").addOutput("r").build())
                .addNode(OnnxNode.builder().setOpType("Gemm").optName("fc2")
                        .addInput("r", "w2", "b2").addOutput("y")
                        .addAttribute(OnnxAttribute.ofInt("transB", 1)).build())
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 11).optIrVersion(6).build();
    }

    /** x [2, 3, 9, 9] -> Conv W [5, 3, 3, 3] + B, pads 1, stride 2 -> y. */
    static OnnxModel conv(Random random) {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2, 3, 9, 9))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 5, 5, 5))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("w", normal(random, 5 * 27, 0.3f), 5, 3, 3, 3))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("b", normal(random, 5, 0.1f), 5))
                .addNode(OnnxNode.builder().setOpType("Conv").optName("conv")
                        .addInput("x", "w", "b").addOutput("y")
                        .addAttribute(OnnxAttribute.ofInts("pads", 1, 1, 1, 1))
                        .addAttribute(OnnxAttribute.ofInts("strides", 2, 2)).build())
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 11).optIrVersion(6).build();
    }

    @Test
    public void dynamicMlpRunsInOrtCloseToFp32() throws OrtException {
        Random random = new Random(1);
        OnnxModel model = mlp(random);
        float[] x = normal(random, BATCH * 16, 1f);
        QuantizedOnnxModel q = OnnxQuantizer.builder().build().quantize(model);
        Assert.assertEquals(q.report().getQuantizedLayerCount(), 2);
        Assert.assertFalse(q.model().getGraph().getInitializers().containsKey("w1"));
        Assert.assertTrue(q.model().getGraph().getInitializers().containsKey("w1_quantized"));
        assertClose(run(q.model(), x, BATCH, 16), run(model, x, BATCH, 16), 35);
        for (LayerReport layer : q.report().getLayers()) {
            Assert.assertTrue(layer.weightSqnrDb() > 35, layer.toString());
            Assert.assertEquals(layer.weightParameters().getChannelCount(),
                    layer.layerName().equals("fc1") ? 24 : 8);
        }
        Assert.assertTrue(q.report().getDeployedWeightBytes() * 3 < q.report().getFp32WeightBytes());
    }

    @Test
    public void staticQuantizationUsesCalibratedParameters() throws OrtException {
        Random random = new Random(2);
        OnnxModel model = mlp(random);
        float[] x = normal(random, BATCH * 16, 1f);
        QuantizationConfig config = QuantizationConfig.builder()
                .optMode(QuantizationMode.STATIC).build();
        Map<String, QuantizationParameters> ranges = Map.of(
                "x", QuantizationParameters.forRange(-4f, 4f, DataType.UINT8),
                "r", QuantizationParameters.forRange(0f, 6f, DataType.UINT8));
        QuantizedOnnxModel q = OnnxQuantizer.builder().optConfig(config)
                .optActivationParameters(ranges).build().quantize(model);
        assertClose(run(q.model(), x, BATCH, 16), run(model, x, BATCH, 16), 30);
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> OnnxQuantizer.builder().optConfig(config)
                        .optActivationParameters(Map.of("x", ranges.get("x"))).build()
                        .quantize(model));
        Assert.assertTrue(e.getMessage().contains("input 'r'"), e.getMessage());
    }

    @Test
    public void excludedLayersStayFp32() throws OrtException {
        Random random = new Random(3);
        OnnxModel model = mlp(random);
        QuantizationConfig config = QuantizationConfig.builder()
                .optMode(QuantizationMode.DYNAMIC).optExcludeLayers("fc2").build();
        QuantizedOnnxModel q = OnnxQuantizer.builder().optConfig(config).build().quantize(model);
        Assert.assertEquals(q.report().getQuantizedLayerCount(), 1);
        Assert.assertTrue(q.model().getGraph().getInitializers().containsKey("w2"));
        float[] x = normal(random, BATCH * 16, 1f);
        assertClose(run(q.model(), x, BATCH, 16), run(model, x, BATCH, 16), 35);
    }

    @Test
    public void convolutionRunsAsConvInteger() throws OrtException {
        Random random = new Random(4);
        OnnxModel model = conv(random);
        float[] x = normal(random, 2 * 3 * 81, 1f);
        // Weight-only keeps Conv (WeightOnlyQuantizationTest); the other modes run ConvInteger.
        for (QuantizationMode mode : new QuantizationMode[] {
                QuantizationMode.DYNAMIC, QuantizationMode.STATIC}) {
            QuantizationConfig config = QuantizationConfig.builder().optMode(mode).build();
            QuantizedOnnxModel q = OnnxQuantizer.builder().optConfig(config)
                    .optActivationParameters(Map.of(
                            "x", QuantizationParameters.forRange(-4.5f, 4.5f, DataType.UINT8)))
                    .build().quantize(model);
            Assert.assertTrue(q.model().getGraph().getNodes().stream()
                    .anyMatch(n -> n.getOpType().equals("ConvInteger")));
            assertClose(run(q.model(), x, 2, 3, 9, 9), run(model, x, 2, 3, 9, 9), 30);
        }
    }

    @Test
    public void embeddingTablesAreStoredInInt8() throws OrtException {
        Random random = new Random(5);
        int rows = 512;
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 3))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 3, 16))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("table", normal(random, rows * 16, 0.5f), rows, 16))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("small", new float[] {1f, 2f}, 2))
                .addNode(OnnxNode.builder().setOpType("Cast").addInput("x").addOutput("ids")
                        .addAttribute(OnnxAttribute.ofInt("to", OnnxDataType.INT64.getCode())).build())
                .addNode(OnnxNode.builder().setOpType("Gather").optName("embed")
                        .addInput("table", "ids").addOutput("y").build())
                .build();
        OnnxModel model = OnnxModel.builder().setGraph(graph).addOpsetImport("", 11).build();
        QuantizedOnnxModel q = OnnxQuantizer.builder().build().quantize(model);
        Assert.assertEquals(q.report().getQuantizedLayerCount(), 1);
        Assert.assertFalse(q.model().getGraph().getInitializers().containsKey("table"));
        float[] x = {0f, 511f, 17f};
        assertClose(run(q.model(), x, 3), run(model, x, 3), 35);
    }

    /**
     * ids -> Gather(table) -> e, and logits y = e table^T through a Transpose, as in a language
     * model whose head is tied to its embedding. Row r of the table is scaled by 100^(r / rows),
     * so that one scale for the whole table would crush the small rows.
     */
    static OnnxModel tiedEmbedding(Random random, int rows, int dim, long opset) {
        float[] table = normal(random, rows * dim, 1f);
        for (int i = 0; i < table.length; i++) {
            table[i] *= (float) Math.pow(100, (double) (i / dim) / rows);
        }
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 3))
                .addOutput(OnnxValueInfo.tensor("e", OnnxDataType.FLOAT, 3, dim))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 3, rows))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("table", table, rows, dim))
                .addNode(OnnxNode.builder().setOpType("Cast").addInput("x").addOutput("ids")
                        .addAttribute(OnnxAttribute.ofInt("to", OnnxDataType.INT64.getCode()))
                        .build())
                .addNode(OnnxNode.builder().setOpType("Gather").optName("embed")
                        .addInput("table", "ids").addOutput("e").build())
                .addNode(OnnxNode.builder().setOpType("Transpose").addInput("table")
                        .addOutput("table_t").addAttribute(OnnxAttribute.ofInts("perm", 1, 0))
                        .build())
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("head")
                        .addInput("e", "table_t").addOutput("y").build())
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", opset).build();
    }

    @Test
    public void tiedEmbeddingIsStoredOnceInInt8WithRowScales() throws OrtException {
        int rows = 300;
        int dim = 64;
        // Opset 11 gives Unsqueeze its axes as an attribute, 13 as an input.
        for (long opset : new long[] {11, 13}) {
            Random random = new Random(6);
            OnnxModel model = tiedEmbedding(random, rows, dim, opset);
            QuantizedOnnxModel q = OnnxQuantizer.builder().build().quantize(model);
            Assert.assertEquals(q.report().getQuantizedLayerCount(), 2);
            Map<String, org.quantint8.onnx.OnnxTensor> inits =
                    q.model().getGraph().getInitializers();
            Assert.assertEquals(inits.keySet().stream().filter(n -> n.startsWith("table")).sorted()
                    .toList(), java.util.List.of("table_quantized", "table_quantized_scale"));
            Assert.assertEquals(inits.get("table_quantized").getDataType(), OnnxDataType.INT8);
            Assert.assertEquals(inits.get("table_quantized_scale").getDims(), new long[] {rows});
            // The report counts the shared table once, as the file stores it.
            Assert.assertEquals(q.report().getFp32WeightBytes(), 4L * rows * dim);

            float[] x = {0f, rows - 1, 17f};
            Map<String, float[]> fp32 = runAll(model, x, x.length);
            Map<String, float[]> int8 = runAll(q.model(), x, x.length);
            // Per-row scales: every row, the smallest (1/100 of the largest) included, keeps
            // the SQNR of 8-bit codes of a Gaussian row (about 45 dB); one scale for the table
            // would leave the smallest row below 10 dB.
            for (int i = 0; i < x.length; i++) {
                int from = i * dim;
                assertClose(java.util.Arrays.copyOfRange(int8.get("e"), from, from + dim),
                        java.util.Arrays.copyOfRange(fp32.get("e"), from, from + dim), 38);
            }
            // The head adds the per-tensor 8-bit activation: still far above a mis-scaled head.
            assertClose(int8.get("y"), fp32.get("y"), 30);
        }
    }

    @Test
    public void tiedTableKeptForAnExcludedHeadIsNotDropped() throws OrtException {
        OnnxModel model = tiedEmbedding(new Random(7), 300, 64, 13);
        QuantizationConfig config = QuantizationConfig.builder()
                .optMode(QuantizationMode.DYNAMIC).optExcludeLayers("head").build();
        QuantizedOnnxModel q = OnnxQuantizer.builder().optConfig(config).build().quantize(model);
        Assert.assertEquals(q.report().getQuantizedLayerCount(), 1);
        Assert.assertTrue(q.model().getGraph().getInitializers().containsKey("table"));
        float[] x = {3f, 299f, 17f};
        assertClose(runAll(q.model(), x, 3).get("y"), runAll(model, x, 3).get("y"), 30);
    }

    @Test
    public void reportsUnsupportedCandidates() {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("a", OnnxDataType.FLOAT, 2, 3))
                .addInput(OnnxValueInfo.tensor("b", OnnxDataType.FLOAT, 3, 2))
                .addOutput(OnnxValueInfo.tensor("c", OnnxDataType.FLOAT, 2, 2))
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("mm")
                        .addInput("a", "b").addOutput("c").build())
                .build();
        OnnxModel model = OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build();
        QuantizedOnnxModel q = OnnxQuantizer.builder().build().quantize(model);
        Assert.assertEquals(q.report().getQuantizedLayerCount(), 0);
        Assert.assertEquals(q.unsupported().size(), 1);
        Assert.assertTrue(q.unsupported().get(0).contains("not a constant"), q.unsupported().get(0));
    }

    /** Runs a model with the single input "x" in ONNX Runtime; its first output. */
    static float[] run(OnnxModel model, float[] x, long... shape) throws OrtException {
        return runAll(model, x, shape).get(model.getGraph().getOutputs().get(0).getName());
    }

    /** Runs a model with the single input "x" in ONNX Runtime; every output by name. */
    static Map<String, float[]> runAll(OnnxModel model, float[] x, long... shape)
            throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        byte[] bytes = OnnxModelWriter.builder().build().toByteArray(model);
        Map<String, float[]> outputs = new java.util.HashMap<>();
        try (OrtSession session = env.createSession(bytes, new OrtSession.SessionOptions());
                OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape);
                OrtSession.Result result = session.run(Map.of("x", input))) {
            result.forEach(e -> {
                FloatBuffer out = ((OnnxTensor) e.getValue()).getFloatBuffer();
                float[] y = new float[out.remaining()];
                out.get(y);
                outputs.put(e.getKey(), y);
            });
        }
        return outputs;
    }

    /** Asserts the SQNR of {@code actual} against {@code expected} is at least {@code minDb}. */
    static void assertClose(float[] actual, float[] expected, double minDb) {
        Assert.assertEquals(actual.length, expected.length);
        double signal = 0;
        double noise = 0;
        for (int i = 0; i < actual.length; i++) {
            signal += (double) expected[i] * expected[i];
            noise += (double) (actual[i] - expected[i]) * (actual[i] - expected[i]);
        }
        double sqnr = 10 * Math.log10(signal / noise);
        Assert.assertTrue(sqnr >= minDb, "SQNR " + sqnr + " dB < " + minDb);
        Assert.assertTrue(noise > 0, "quantization changed nothing: was it applied?");
    }

    static float[] normal(Random random, int n, float std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian() * std;
        }
        return x;
    }
}
