package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;

import ai.djl.ndarray.types.DataType;
import ai.onnxruntime.OrtException;

import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.quantint8.onnx.quantize.OnnxQuantizer;
import org.testng.Assert;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Map;
import java.util.Random;

/** Fused integer projections give the bits of the unfused chain, with fewer nodes. */
public class IntegerLinearFusionTest {

    private static OnnxModel quantizedMlp(Random random, QuantizationMode mode) {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2, 5, 24))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 5, 7))
                .addInitializer(OnnxTensor.of("w1", normal(random, 24 * 40), 24, 40))
                .addInitializer(OnnxTensor.of("w2", normal(random, 7 * 40), 7, 40))
                .addInitializer(OnnxTensor.of("b2", normal(random, 7), 7))
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("fc1")
                        .addInput("x", "w1").addOutput("h").build())
                .addNode(OnnxNode.builder().setOpType("Relu").addInput("h").addOutput("r").build())
                .addNode(OnnxNode.builder().setOpType("Gemm").optName("fc2")
                        .addInput("r", "w2", "b2").addOutput("y")
                        .addAttribute(OnnxAttribute.ofInt("transB", 1)).build())
                .build();
        OnnxModel fp32 = OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build();
        return OnnxQuantizer.builder()
                .optConfig(QuantizationConfig.builder().optMode(mode).build())
                .optActivationParameters(Map.of(
                        "x", QuantizationParameters.forRange(-2f, 2.5f, DataType.UINT8),
                        "r", QuantizationParameters.forRange(0f, 3f, DataType.UINT8)))
                .build().quantize(fp32).model();
    }

    @DataProvider
    public Object[][] modes() {
        return new Object[][] {{QuantizationMode.DYNAMIC}, {QuantizationMode.STATIC}};
    }

    @Test(dataProvider = "modes")
    public void fusedProjectionsGiveTheSameBits(QuantizationMode mode) throws Exception {
        Random random = new Random(3);
        OnnxModel model = quantizedMlp(random, mode);
        OnnxModel fused = IntegerLinearFusion.apply(model);
        long chains = model.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals("MatMulInteger")).count();
        Assert.assertEquals(fused.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals(IntegerLinearFusion.FUSED_OP)).count(), chains);
        // Dynamic: the quantizer, MatMulInteger, Cast and two Muls become one node; static:
        // the quantizer, MatMulInteger, Cast and one Mul by the constant product of the scales.
        int perChain = mode == QuantizationMode.STATIC ? 3 : 4;
        Assert.assertEquals(fused.getGraph().getNodes().size(),
                model.getGraph().getNodes().size() - perChain * chains);
        Assert.assertEquals(fused.getGraph().getNodes().stream()
                .filter(n -> StaticInput.of(n) != null).count(),
                mode == QuantizationMode.STATIC ? chains : 0);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            float[] x = normal(random, 2 * 5 * 24);
            float[] expected = run(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), false), manager, x);
            float[] actual = run(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), true), manager, x);
            Assert.assertEquals(actual, expected);
        }
    }

    @Test
    public void chainsWithOtherReadersStayUnfused() {
        Random random = new Random(4);
        OnnxModel model = quantizedMlp(random, QuantizationMode.DYNAMIC);
        // Expose the first accumulator as a graph output: that chain must not be fused.
        OnnxNode matMul = model.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals("MatMulInteger")).findFirst().orElseThrow();
        OnnxGraph.Builder g = OnnxGraph.builder();
        model.getGraph().getNodes().forEach(g::addNode);
        model.getGraph().getInputs().forEach(g::addInput);
        model.getGraph().getOutputs().forEach(g::addOutput);
        g.addOutput(OnnxValueInfo.of(matMul.getOutputs().get(0), OnnxDataType.INT32, null, ""));
        model.getGraph().getInitializers().values().forEach(g::addInitializer);
        OnnxModel.Builder m = OnnxModel.builder().setGraph(g.build());
        model.getOpsetImports().forEach(o -> m.addOpsetImport(o.domain(), o.version()));
        OnnxModel fused = IntegerLinearFusion.apply(m.build());
        Assert.assertEquals(fused.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals("MatMulInteger")).count(), 1);
    }

    /** y = x table^T through a Transpose (a head tied to a [40, 24] table), quantized. */
    private static OnnxModel quantizedTiedHead(Random random, QuantizationMode mode) {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2, 5, 24))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 5, 40))
                .addInitializer(OnnxTensor.of("table", normal(random, 40 * 24), 40, 24))
                .addNode(OnnxNode.builder().setOpType("Transpose").addInput("table")
                        .addOutput("table_t").build())
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("head")
                        .addInput("x", "table_t").addOutput("y").build())
                .build();
        OnnxModel fp32 = OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build();
        return OnnxQuantizer.builder()
                .optConfig(QuantizationConfig.builder().optMode(mode).build())
                .optActivationParameters(Map.of(
                        "x", QuantizationParameters.forRange(-2f, 2f, DataType.UINT8)))
                .build().quantize(fp32).model();
    }

    @Test
    public void tiedHeadReadsTheInt8TableWithoutTransposingIt() throws Exception {
        Random random = new Random(5);
        OnnxModel model = quantizedTiedHead(random, QuantizationMode.DYNAMIC);
        OnnxModel fused = IntegerLinearFusion.apply(model);
        Assert.assertEquals(fused.getGraph().getNodes().size(), 1, fused.getGraph().toString());
        OnnxNode node = fused.getGraph().getNodes().get(0);
        Assert.assertEquals(node.getOpType(), IntegerLinearFusion.FUSED_OP);
        Assert.assertEquals(node.getInputs().get(1), "table_quantized");
        Assert.assertEquals(node.getInt(IntegerLinearFusion.TRANS_B, 0), 1);
        float[] x = normal(random, 2 * 5 * 24);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            // Unfused, the Transpose of the constant table is folded when the graph is compiled.
            float[] unfused = run(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), false), manager, x);
            float[] actual = run(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), true), manager, x);
            Assert.assertEquals(actual, unfused);
            assertMatchesOrt(actual, model, x);
        }
    }

    @Test
    public void staticTiedHeadMatchesOrt() throws Exception {
        Random random = new Random(6);
        OnnxModel model = quantizedTiedHead(random, QuantizationMode.STATIC);
        Assert.assertTrue(model.getGraph().getNodes().stream()
                .anyMatch(n -> n.getOpType().equals("Transpose")));
        float[] x = normal(random, 2 * 5 * 24);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            assertMatchesOrt(run(OnnxBlock.newInstance(model, "t", manager), manager, x), model, x);
        }
    }

    /**
     * ONNX Runtime runs the same integer arithmetic (same 8-bit codes, exact INT32 sums, the
     * same FP32 scale products), so only the last bits of the FP32 epilogue may differ.
     */
    private static void assertMatchesOrt(float[] actual, OnnxModel model, float[] x)
            throws OrtException {
        float[] expected = FusionRuns.ort(model, x, 2, 5, 24);
        Assert.assertEquals(actual.length, expected.length);
        for (int i = 0; i < actual.length; i++) {
            Assert.assertEquals(actual[i], expected[i], 1e-6f * Math.max(1f, Math.abs(expected[i])),
                    "element " + i);
        }
    }

    private static float[] run(OnnxBlock block, QuantInt8NDManager manager, float[] x) {
        return FusionRuns.run(block, manager, x, 2, 5, 24);
    }

    private static float[] normal(Random random, int n) {
        return FusionRuns.normal(random, n, 0.5f);
    }
}
