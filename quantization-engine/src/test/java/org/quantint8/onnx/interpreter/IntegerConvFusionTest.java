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

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Fused integer convolutions (with their bias, batch normalization and Relu) give the values of
 * the unfused chain, with fewer nodes.
 */
public class IntegerConvFusionTest {

    private static final long[] INPUT = {2, 3, 9, 9};

    /**
     * x -> Conv 3x3 (no bias) -> BatchNormalization -> Relu -> Conv 1x1 stride 2 (bias) -> Relu,
     * and a residual read of the first Relu's output that must not stop the fusion before it.
     */
    private static OnnxModel quantizedBlock(Random random, QuantizationMode mode) {
        OnnxGraph.Builder g = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, INPUT))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 4, 5, 5))
                .addInitializer(OnnxTensor.of("w1", normal(random, 8 * 3 * 9, 0.5f), 8, 3, 3, 3));
        OnnxNode.Builder normalization = batchNorm(g, random, "h", "n", 8);
        g.addInitializer(OnnxTensor.of("w2", normal(random, 4 * 8, 0.5f), 4, 8, 1, 1))
                .addInitializer(OnnxTensor.of("b2", normal(random, 4, 0.5f), 4))
                .addNode(conv("c1", "x", "w1", null).addOutput("h")
                        .addAttribute(OnnxAttribute.ofInts("pads", 1, 1, 1, 1)).build())
                .addNode(normalization.addAttribute(OnnxAttribute.ofFloat("epsilon", 1e-3f))
                        .build())
                .addNode(node("Relu", "r", "n"))
                .addNode(conv("c2", "r", "w2", "b2").addOutput("h2")
                        .addAttribute(OnnxAttribute.ofInts("strides", 2, 2)).build())
                .addNode(node("Relu", "y", "h2"));
        return quantize(OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build(),
                mode);
    }

    /**
     * Two residual blocks: x -> Conv 3x3 -> BatchNormalization -> Relu -> Conv 1x1 (bias), plus a
     * shortcut Conv 1x1 (bias) of x computed after it (so the shortcut conv, not the main one,
     * takes the Add), -> Add -> Relu; then Conv 1x1 -> Add(block input) -> Relu. No normalization
     * right before an Add: a fused normalization not followed by its Relu differs from the
     * interpreter's unfused one in the last bit now and then (so it did before residuals were
     * fused), which the equality below would catch instead of what it is for.
     */
    private static OnnxModel quantizedResidualBlocks(Random random, QuantizationMode mode) {
        OnnxGraph.Builder g = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, INPUT))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 4, 9, 9))
                .addInitializer(OnnxTensor.of("w1", normal(random, 8 * 3 * 9, 0.5f), 8, 3, 3, 3))
                .addInitializer(OnnxTensor.of("w2", normal(random, 4 * 8, 0.5f), 4, 8, 1, 1))
                .addInitializer(OnnxTensor.of("b2", normal(random, 4, 0.5f), 4))
                .addInitializer(OnnxTensor.of("ws", normal(random, 4 * 3, 0.5f), 4, 3, 1, 1))
                .addInitializer(OnnxTensor.of("bs", normal(random, 4, 0.5f), 4))
                .addInitializer(OnnxTensor.of("w3", normal(random, 4 * 4, 0.5f), 4, 4, 1, 1))
                .addNode(conv("c1", "x", "w1", null).addOutput("h")
                        .addAttribute(OnnxAttribute.ofInts("pads", 1, 1, 1, 1)).build());
        g.addNode(batchNorm(g, random, "h", "n", 8).build());
        g.addNode(node("Relu", "r", "n"))
                .addNode(conv("c2", "r", "w2", "b2").addOutput("h2").build())
                .addNode(conv("cs", "x", "ws", "bs").addOutput("ns").build())
                .addNode(node("Add", "s1", "h2", "ns"))
                .addNode(node("Relu", "y1", "s1"))
                .addNode(conv("c3", "y1", "w3", null).addOutput("h3").build())
                .addNode(node("Add", "s2", "h3", "y1"))
                .addNode(node("Relu", "y", "s2"));
        return quantize(OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build(),
                mode);
    }

    /** x -> Conv 3x3 -> BatchNormalization -> Relu -> MaxPool 3x3 stride 2 -> Conv 1x1 -> Relu. */
    private static OnnxModel quantizedStem(Random random, QuantizationMode mode) {
        OnnxGraph.Builder g = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, INPUT))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 4, 5, 5))
                .addInitializer(OnnxTensor.of("w1", normal(random, 8 * 3 * 9, 0.5f), 8, 3, 3, 3))
                .addInitializer(OnnxTensor.of("w2", normal(random, 4 * 8, 0.5f), 4, 8, 1, 1))
                .addNode(conv("c1", "x", "w1", null).addOutput("h")
                        .addAttribute(OnnxAttribute.ofInts("pads", 1, 1, 1, 1)).build());
        g.addNode(batchNorm(g, random, "h", "n", 8).build());
        g.addNode(node("Relu", "r", "n"))
                .addNode(OnnxNode.builder().setOpType("MaxPool").addInput("r").addOutput("p")
                        .addAttribute(OnnxAttribute.ofInts("kernel_shape", 3, 3))
                        .addAttribute(OnnxAttribute.ofInts("strides", 2, 2))
                        .addAttribute(OnnxAttribute.ofInts("pads", 1, 1, 1, 1)).build())
                .addNode(conv("c2", "p", "w2", null).addOutput("h2").build())
                .addNode(node("Relu", "y", "h2"));
        return quantize(OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build(),
                mode);
    }

    /** x -> Conv 3x3 -> Relu -> GlobalAveragePool: a classifier's head, as ResNet's. */
    private static OnnxModel quantizedHead(Random random, QuantizationMode mode) {
        OnnxGraph.Builder g = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, INPUT))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 8, 1, 1))
                .addInitializer(OnnxTensor.of("w1", normal(random, 8 * 3 * 9, 0.5f), 8, 3, 3, 3))
                .addNode(conv("c1", "x", "w1", null).addOutput("h")
                        .addAttribute(OnnxAttribute.ofInts("pads", 1, 1, 1, 1)).build())
                .addNode(node("Relu", "r", "h"))
                .addNode(node("GlobalAveragePool", "y", "r"));
        return quantize(OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build(),
                mode);
    }

    /**
     * Quantizes with per-channel weights, dynamically or with fixed static ranges for the
     * convolutions' inputs (the graph input, then the non-negative outputs of Relu and pooling).
     */
    private static OnnxModel quantize(OnnxModel fp32, QuantizationMode mode) {
        Map<String, QuantizationParameters> ranges = new HashMap<>();
        for (OnnxNode node : fp32.getGraph().getNodes()) {
            if (node.getOpType().equals("Conv")) {
                String input = node.getInputs().get(0);
                ranges.put(input, input.equals("x")
                        ? QuantizationParameters.forRange(-2.5f, 3f, DataType.UINT8)
                        : QuantizationParameters.forRange(0f, 2f, DataType.UINT8));
            }
        }
        return OnnxQuantizer.builder()
                .optConfig(QuantizationConfig.builder().optMode(mode).build())
                .optActivationParameters(ranges).build().quantize(fp32).model();
    }

    /** Adds an inference-mode normalization with random statistics of {@code channels}. */
    /**
     * Adds a normalization's parameters (drawn in the order gamma, beta, mean, variance) and
     * returns its node, for the caller to add, with attributes if it needs them.
     */
    private static OnnxNode.Builder batchNorm(OnnxGraph.Builder g, Random random, String x,
            String y, int channels) {
        String p = y + "_";
        g.addInitializer(OnnxTensor.of(p + "gamma", uniform(random, channels, 0.5f, 1.5f),
                channels));
        g.addInitializer(OnnxTensor.of(p + "beta", normal(random, channels, 0.3f), channels));
        g.addInitializer(OnnxTensor.of(p + "mean", normal(random, channels, 0.3f), channels));
        g.addInitializer(OnnxTensor.of(p + "var", uniform(random, channels, 0.2f, 2f),
                channels));
        return OnnxNode.builder().setOpType("BatchNormalization")
                .addInput(x, p + "gamma", p + "beta", p + "mean", p + "var").addOutput(y);
    }

    private static OnnxNode node(String opType, String output, String... inputs) {
        return OnnxNode.builder().setOpType(opType).addInput(inputs).addOutput(output).build();
    }

    private static OnnxNode.Builder conv(String name, String x, String w, String b) {
        OnnxNode.Builder node = OnnxNode.builder().setOpType("Conv").optName(name).addInput(x, w);
        return b == null ? node : node.addInput(b);
    }

    @Test
    public void fusedConvolutionsGiveTheValuesOfTheChain() throws Exception {
        Random random = new Random(11);
        OnnxModel model = quantizedBlock(random, QuantizationMode.DYNAMIC);
        Assert.assertEquals(count(model, "ConvInteger"), 2, model.getGraph().toString());
        OnnxModel fused = IntegerLinearFusion.apply(model);
        List<OnnxNode> nodes = fused.getGraph().getNodes();
        // Each chain, its normalization and its Relu become one node.
        Assert.assertEquals(nodes.size(), 2, fused.getGraph().toString());
        Assert.assertEquals(count(fused, IntegerLinearFusion.FUSED_CONV), 2);
        Assert.assertEquals(nodes.get(0).getInt(IntegerLinearFusion.RELU, 0), 1);
        Assert.assertEquals(nodes.get(0).getInputs().size(), 9, nodes.get(0).toString());
        Assert.assertEquals(nodes.get(1).getOutputs().get(0), "y");
        // The first output feeds only the second's quantizer, so it stays in QuantInt8; the
        // graph output goes to the FP32 engine.
        Assert.assertEquals(nodes.get(0).getInt(ConvTail.OUTPUT_IN_ENGINE, 0), 1);
        Assert.assertEquals(nodes.get(1).getInt(ConvTail.OUTPUT_IN_ENGINE, 0), 0);
        float[] actual = fusedEqualsUnfused(model, random);
        boolean someNegativeClamped = false;
        for (float v : actual) {
            someNegativeClamped |= v == 0f;
        }
        Assert.assertTrue(someNegativeClamped, "the test should exercise the fused Relu");
    }

    @Test
    public void fusedResidualAddsGiveTheValuesOfTheChain() throws Exception {
        Random random = new Random(13);
        OnnxModel model = quantizedResidualBlocks(random, QuantizationMode.DYNAMIC);
        OnnxModel fused = IntegerLinearFusion.apply(model);
        List<OnnxNode> nodes = fused.getGraph().getNodes();
        // Every Add and Relu went into a convolution: the shortcut conv took the first Add (the
        // main one runs before the shortcut exists), the last conv the second.
        Assert.assertEquals(count(fused, IntegerLinearFusion.FUSED_CONV), 4);
        Assert.assertEquals(nodes.size(), 4, fused.getGraph().toString());
        Assert.assertEquals(nodes.get(2).getInputs().get(ConvTail.RESIDUAL_INPUT), "h2");
        Assert.assertEquals(nodes.get(3).getInputs().get(ConvTail.RESIDUAL_INPUT), "y1");
        Assert.assertEquals(nodes.get(1).getInputs().size(), 5, "c2 keeps only its bias");
        float[] actual = fusedEqualsUnfused(model, random);
        int clamped = 0;
        for (float v : actual) {
            clamped += v == 0f ? 1 : 0;
        }
        Assert.assertTrue(clamped > 0 && clamped < actual.length, "Relu should clamp some");
    }

    @Test
    public void fusedMaxPoolGivesTheValuesOfThePool() throws Exception {
        Random random = new Random(14);
        OnnxModel model = quantizedStem(random, QuantizationMode.DYNAMIC);
        OnnxModel fused = IntegerLinearFusion.apply(model);
        List<OnnxNode> nodes = fused.getGraph().getNodes();
        Assert.assertEquals(nodes.size(), 2, fused.getGraph().toString());
        Assert.assertEquals(nodes.get(0).getInts(ConvTail.POOL + "kernel_shape", null),
                new long[] {3, 3});
        Assert.assertEquals(nodes.get(0).getOutputs().get(0), "p");
        Assert.assertEquals(nodes.get(0).getInt(ConvTail.OUTPUT_IN_ENGINE, 0), 1);
        fusedEqualsUnfused(model, random);
    }

    @Test
    public void globalAveragePoolReadsTheConvolutionInQuantInt8Memory() throws Exception {
        Random random = new Random(15);
        OnnxModel model = quantizedHead(random, QuantizationMode.DYNAMIC);
        OnnxModel fused = IntegerLinearFusion.apply(model);
        List<OnnxNode> nodes = fused.getGraph().getNodes();
        Assert.assertEquals(nodes.size(), 2, fused.getGraph().toString());
        Assert.assertEquals(nodes.get(0).getInt(ConvTail.OUTPUT_IN_ENGINE, 0), 1);
        float[] x = normal(random, (int) (INPUT[0] * INPUT[1] * INPUT[2] * INPUT[3]), 1f);
        float[][] runs = unfusedAndFused(model, x);
        // Unfused, PyTorch averages the planes; fused, QuantInt8 does (in double): the
        // convolution outputs are the same, the sums' rounding may differ in the last bit.
        Assert.assertEquals(runs[1].length, 16);
        for (int i = 0; i < runs[1].length; i++) {
            Assert.assertEquals(runs[1][i], runs[0][i], 1e-6 * Math.abs(runs[0][i]),
                    "channel " + i);
        }
        assertMatchesOrt(runs[1], model, x);
    }

    @DataProvider
    public Object[][] staticGraphs() {
        return new Object[][] {
            {"block", quantizedBlock(new Random(21), QuantizationMode.STATIC)},
            {"residual blocks", quantizedResidualBlocks(new Random(22), QuantizationMode.STATIC)},
            {"stem", quantizedStem(new Random(23), QuantizationMode.STATIC)},
        };
    }

    /**
     * A statically quantized convolution (a constant QuantizeLinear, ConvInteger, Cast and a
     * Mul by the constant product of the scales) fuses as a dynamic one does, its input's
     * parameters kept on the node, and gives the chain's values.
     */
    @Test(dataProvider = "staticGraphs")
    public void staticConvolutionsFuseAndGiveTheValuesOfTheChain(String name, OnnxModel model)
            throws Exception {
        long convs = count(model, "ConvInteger");
        Assert.assertEquals(count(model, "QuantizeLinear"), convs, name);
        OnnxModel fused = IntegerLinearFusion.apply(model);
        Assert.assertEquals(count(fused, IntegerLinearFusion.FUSED_CONV), convs, name);
        Assert.assertEquals(fused.getGraph().getNodes().size(), convs, fused.getGraph().toString());
        for (OnnxNode node : fused.getGraph().getNodes()) {
            StaticInput input = StaticInput.of(node);
            Assert.assertNotNull(input, node.toString());
            Assert.assertFalse(input.signed());
        }
        float[] actual = fusedEqualsUnfused(model, new Random(24));
        Set<Float> distinct = new HashSet<>();
        for (float v : actual) {
            distinct.add(v);
        }
        Assert.assertTrue(distinct.size() > actual.length / 4,
                name + ": the outputs should not all saturate");
    }

    /**
     * Two convolutions read x (the residual blocks' first and shortcut ones), one with another
     * static scale: each must quantize x for itself, where readers that quantize alike share
     * the codes.
     */
    @Test
    public void readersOfOneValueShareCodesOnlyWhenTheyQuantizeAlike() throws Exception {
        OnnxModel model = quantizedResidualBlocks(new Random(26), QuantizationMode.STATIC);
        List<OnnxNode> readers = model.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals("QuantizeLinear")
                        && n.getInputs().get(0).equals("x")).toList();
        Assert.assertEquals(readers.size(), 2, model.getGraph().toString());
        fusedEqualsUnfused(model, new Random(27));
        OnnxNode changed = readers.get(1);
        float scale = model.getGraph().getInitializer(changed.getInputs().get(1))
                .toFloatArray()[0];
        OnnxGraph.Builder g = model.getGraph().toBuilderWithoutNodes(t -> true)
                .addInitializer(OnnxTensor.of("other_scale", new float[] {scale * 1.37f}));
        for (OnnxNode node : model.getGraph().getNodes()) {
            g.addNode(node != changed ? node : withInput(node, 1, "other_scale"));
        }
        OnnxModel.Builder m = OnnxModel.builder().setGraph(g.build());
        model.getOpsetImports().forEach(o -> m.addOpsetImport(o.domain(), o.version()));
        OnnxModel twoScales = m.build();
        Assert.assertEquals(count(IntegerLinearFusion.apply(twoScales),
                IntegerLinearFusion.FUSED_CONV), 4);
        fusedEqualsUnfused(twoScales, new Random(27));
    }

    private static OnnxNode withInput(OnnxNode node, int index, String input) {
        OnnxNode.Builder b = OnnxNode.builder().setOpType(node.getOpType())
                .optName(node.getName());
        node.getOutputs().forEach(b::addOutput);
        for (int i = 0; i < node.getInputs().size(); i++) {
            b.addInput(i == index ? input : node.getInputs().get(i));
        }
        node.getAttributes().values().forEach(b::addAttribute);
        return b.build();
    }

    @Test
    public void aStaticQuantizerWithAnotherZeroPointThanItsReaderStaysUnfused() throws Exception {
        OnnxModel model = quantizedBlock(new Random(25), QuantizationMode.STATIC);
        OnnxGraph.Builder g = model.getGraph().toBuilderWithoutNodes(t -> true);
        // The second convolution's: the first one, fused, then hands its output (kept in
        // QuantInt8) to an unfused QuantizeLinear.
        OnnxNode second = model.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals("ConvInteger")).skip(1).findFirst()
                .orElseThrow();
        g.addInitializer(OnnxTensor.of("other_zero", OnnxDataType.UINT8,
                java.nio.ByteBuffer.wrap(new byte[] {7})));
        for (OnnxNode node : model.getGraph().getNodes()) {
            g.addNode(node != second ? node : withInput(node, 2, "other_zero"));
        }
        OnnxModel.Builder m = OnnxModel.builder().setGraph(g.build());
        model.getOpsetImports().forEach(o -> m.addOpsetImport(o.domain(), o.version()));
        OnnxModel mismatched = m.build();
        OnnxModel fused = IntegerLinearFusion.apply(mismatched);
        Assert.assertEquals(count(fused, IntegerLinearFusion.FUSED_CONV), 1);
        Assert.assertEquals(count(fused, "ConvInteger"), 1);
        Assert.assertEquals(count(fused, "QuantizeLinear"), 1);
        Assert.assertEquals(fused.getGraph().getNodes().get(0).getInt(ConvTail.OUTPUT_IN_ENGINE,
                0), 1);
        fusedEqualsUnfused(mismatched, new Random(28));
    }

    @Test
    public void aNormalizationWithOtherReadersStaysUnfused() {
        Random random = new Random(12);
        OnnxModel model = quantizedBlock(random, QuantizationMode.DYNAMIC);
        OnnxGraph.Builder g = OnnxGraph.builder();
        model.getGraph().getNodes().forEach(g::addNode);
        model.getGraph().getInputs().forEach(g::addInput);
        model.getGraph().getOutputs().forEach(g::addOutput);
        // The normalization's output is also a graph output: the Relu after it must stay too.
        g.addOutput(OnnxValueInfo.of("n", OnnxDataType.FLOAT, null, ""));
        model.getGraph().getInitializers().values().forEach(g::addInitializer);
        OnnxModel.Builder m = OnnxModel.builder().setGraph(g.build());
        model.getOpsetImports().forEach(o -> m.addOpsetImport(o.domain(), o.version()));
        OnnxModel fused = IntegerLinearFusion.apply(m.build());
        Assert.assertEquals(count(fused, IntegerLinearFusion.FUSED_CONV), 2);
        Assert.assertEquals(count(fused, "Relu"), 1, fused.getGraph().toString());
        Assert.assertEquals(count(fused, "BatchNormalization"), 0);
    }

    /**
     * Runs the model unfused and fused on a random input and returns the fused output, after
     * checking both are equal (the same FP32 steps in the same order; the sign of a zero may
     * differ) and close to ONNX Runtime.
     */
    private static float[] fusedEqualsUnfused(OnnxModel model, Random random) throws Exception {
        float[] x = normal(random, (int) (INPUT[0] * INPUT[1] * INPUT[2] * INPUT[3]), 1f);
        float[][] runs = unfusedAndFused(model, x);
        Assert.assertEquals(runs[1], runs[0], 0f);
        assertMatchesOrt(runs[1], model, x);
        return runs[1];
    }

    /** The model's output on x without the load-time fusions, then with them. */
    private static float[][] unfusedAndFused(OnnxModel model, float[] x) throws Exception {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            return new float[][] {
                run(OnnxBlock.newInstance(model, "t", manager, OperatorRegistry.builtIn(), false),
                        manager, x),
                run(OnnxBlock.newInstance(model, "t", manager, OperatorRegistry.builtIn(), true),
                        manager, x)};
        }
    }

    private static long count(OnnxModel model, String opType) {
        return model.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals(opType)).count();
    }

    /**
     * ONNX Runtime runs the same integer arithmetic; its batch normalization and epilogue may
     * round differently in the last bits, which the following layer may amplify by one code.
     */
    private static void assertMatchesOrt(float[] actual, OnnxModel model, float[] x)
            throws OrtException {
        float[] expected = FusionRuns.ort(model, x, INPUT);
        Assert.assertEquals(actual.length, expected.length);
        double worst = 0;
        for (int i = 0; i < actual.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        Assert.assertTrue(worst < 1e-4, "largest difference from ONNX Runtime " + worst);
    }

    private static float[] run(OnnxBlock block, QuantInt8NDManager manager, float[] x) {
        return FusionRuns.run(block, manager, x, INPUT);
    }

    private static float[] normal(Random random, int n, float sigma) {
        return FusionRuns.normal(random, n, sigma);
    }

    private static float[] uniform(Random random, int n, float low, float high) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = low + random.nextFloat() * (high - low);
        }
        return x;
    }
}
