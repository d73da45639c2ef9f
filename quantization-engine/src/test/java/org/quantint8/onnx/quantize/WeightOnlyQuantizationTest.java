package org.quantint8.onnx.quantize;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.calibration.QuantizationScheme;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.interpreter.OnnxBlock;
import org.testng.Assert;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Map;
import java.util.Random;

/**
 * Weight-only quantization: INT8 weights dequantized for FP32 operators, in the form of each
 * opset, computing exactly the FP32 model with the dequantized weights, in ONNX Runtime and in
 * QuantInt8.
 */
public class WeightOnlyQuantizationTest {

    private static final QuantizationConfig WEIGHT_ONLY =
            QuantizationConfig.builder().optMode(QuantizationMode.WEIGHT_ONLY).build();

    private static QuantizedOnnxModel quantize(OnnxModel model) {
        return OnnxQuantizer.builder().optConfig(WEIGHT_ONLY).build().quantize(model);
    }

    private static OnnxModel withOpset(OnnxModel model, long opset) {
        return OnnxModel.builder().setGraph(model.getGraph()).addOpsetImport("", opset)
                .optIrVersion(8).build();
    }

    @DataProvider
    public Object[][] opsets() {
        return new Object[][] {{11L}, {13L}};
    }

    /** Opset 11 has no per-axis DequantizeLinear: Cast * scales; from 13, DequantizeLinear. */
    @Test(dataProvider = "opsets")
    public void mlpKeepsFp32OperatorsOnInt8Weights(long opset) throws Exception {
        OnnxModel model = withOpset(OnnxQuantizerTest.mlp(new Random(1)), opset);
        QuantizedOnnxModel q = quantize(model);
        OnnxGraph graph = q.model().getGraph();
        Assert.assertEquals(count(graph, "MatMul"), 2, "the Gemm runs as MatMul + Add");
        Assert.assertEquals(count(graph, "MatMulInteger") + count(graph, "DynamicQuantizeLinear"), 0);
        Assert.assertEquals(count(graph, "DequantizeLinear"), opset >= 13 ? 2 : 0);
        Assert.assertFalse(graph.getInitializers().containsKey("w1"), "the FP32 weight is gone");
        Assert.assertEquals(graph.getInitializer("w1_quantized").getDataType(), OnnxDataType.INT8);
        Assert.assertEquals(q.report().getLayers().get(0).reason(), "weight-only");

        Random random = new Random(2);
        float[] x = OnnxQuantizerTest.normal(random, 4 * 16, 1f);
        float[] actual = OnnxQuantizerTest.run(q.model(), x, 4, 16);
        float[] expected = OnnxQuantizerTest.run(dequantizedTwin(model, graph), x, 4, 16);
        for (int i = 0; i < expected.length; i++) {
            Assert.assertEquals(actual[i], expected[i], 1e-5f * Math.max(1f, Math.abs(expected[i])));
        }
        OnnxQuantizerTest.assertClose(actual, OnnxQuantizerTest.run(model, x, 4, 16), 35);
        assertQuantInt8Agrees(q.model(), x, actual, 4, 16);
    }

    @Test(dataProvider = "opsets")
    public void convolutionKeepsItsAttributes(long opset) throws Exception {
        OnnxModel model = withOpset(OnnxQuantizerTest.conv(new Random(3)), opset);
        QuantizedOnnxModel q = quantize(model);
        Assert.assertEquals(count(q.model().getGraph(), "Conv"), 1);
        Assert.assertEquals(count(q.model().getGraph(), "ConvInteger"), 0);
        float[] x = OnnxQuantizerTest.normal(new Random(4), 2 * 3 * 9 * 9, 1f);
        float[] actual = OnnxQuantizerTest.run(q.model(), x, 2, 3, 9, 9);
        OnnxQuantizerTest.assertClose(actual, OnnxQuantizerTest.run(model, x, 2, 3, 9, 9), 35);
        assertQuantInt8Agrees(q.model(), x, actual, 2, 3, 9, 9);
    }

    @Test(dataProvider = "opsets")
    public void tiedHeadSharesTheInt8Table(long opset) throws Exception {
        OnnxModel model = OnnxQuantizerTest.tiedEmbedding(new Random(6), 300, 64, opset);
        QuantizedOnnxModel q = quantize(model);
        Map<String, OnnxTensor> inits = q.model().getGraph().getInitializers();
        java.util.List<String> stored = new java.util.ArrayList<>(
                java.util.List.of("table_quantized", "table_quantized_scale"));
        if (opset >= 13) {
            stored.add("table_quantized_zero_point"); // DequantizeLinear's, one zero per row
        }
        Assert.assertEquals(inits.keySet().stream().filter(n -> n.startsWith("table")).sorted()
                .toList(), stored);
        float[] x = {0f, 299f, 17f};
        // Activations stay FP32: the head is as close as its 8-bit rows allow.
        OnnxQuantizerTest.assertClose(OnnxQuantizerTest.runAll(q.model(), x, 3).get("y"),
                OnnxQuantizerTest.runAll(model, x, 3).get("y"), 38);
    }

    @Test
    public void rejectsWhatWeightOnlyCannotDo() {
        Assert.expectThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder()
                .optMode(QuantizationMode.WEIGHT_ONLY)
                .optWeightScheme(QuantizationScheme.ASYMMETRIC_UINT8).build());
        Assert.expectThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder()
                .optMode(QuantizationMode.WEIGHT_ONLY).optSmoothQuant(0.5).build());
    }

    /** The FP32 model with each weight replaced by its dequantized INT8 codes, computed here. */
    private static OnnxModel dequantizedTwin(OnnxModel model, OnnxGraph quantized) {
        OnnxGraph source = model.getGraph();
        OnnxGraph.Builder twin = source.toBuilderWithoutNodes(t -> !t.getName().startsWith("w"));
        source.getNodes().forEach(twin::addNode);
        for (String name : new String[] {"w1", "w2"}) {
            OnnxTensor original = source.getInitializer(name);
            int[] codes = quantized.getInitializer(name + "_quantized").toIntArray();
            float[] scales = quantized.getInitializer(name + "_quantized_scale").toFloatArray();
            long[] dims = original.getDims();
            // w1 [K, N] has its channels on axis 1; w2 (Gemm, transB) [N, K] on axis 0.
            boolean transposed = name.equals("w2");
            int rows = (int) dims[0];
            int cols = (int) dims[1];
            float[] values = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    // The codes are stored [K, N] for both.
                    int code = transposed ? codes[c * rows + r] : codes[r * cols + c];
                    values[r * cols + c] = code * scales[transposed ? r : c];
                }
            }
            twin.addInitializer(OnnxTensor.of(name, values, dims));
        }
        return OnnxModel.builder().setGraph(twin.build())
                .addOpsetImport("", model.getDefaultOpsetVersion().orElseThrow()).optIrVersion(8)
                .build();
    }

    private static void assertQuantInt8Agrees(OnnxModel model, float[] x, float[] ort,
            long... shape) throws Exception {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model, "weight-only", manager);
            NDList out = block.forward(new ParameterStore(manager, false),
                    new NDList(manager.create(x, new Shape(shape))), false);
            float[] ours = out.get(0).toFloatArray();
            for (int i = 0; i < ours.length; i++) {
                Assert.assertEquals(ours[i], ort[i], 1e-4f * Math.max(1f, Math.abs(ort[i])),
                        "at " + i);
            }
        }
    }

    private static long count(OnnxGraph graph, String opType) {
        return graph.getNodes().stream().map(OnnxNode::getOpType).filter(opType::equals).count();
    }
}
