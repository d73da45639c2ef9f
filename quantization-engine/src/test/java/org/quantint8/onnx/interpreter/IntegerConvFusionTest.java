package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.onnxruntime.OrtException;

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

import java.util.List;
import java.util.Random;

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
    private static OnnxModel quantizedBlock(Random random) {
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
        OnnxModel fp32 = OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build();
        return OnnxQuantizer.builder().build().quantize(fp32).model();
    }

    /**
     * Two residual blocks: x -> Conv 3x3 -> BatchNormalization -> Relu -> Conv 1x1 (bias), plus a
     * shortcut Conv 1x1 (bias) of x computed after it (so the shortcut conv, not the main one,
     * takes the Add), -> Add -> Relu; then Conv 1x1 -> Add(block input) -> Relu. No normalization
     * right before an Add: a fused normalization not followed by its Relu differs from the
     * interpreter's unfused one in the last bit now and then (so it did before residuals were
     * fused), which the equality below would catch instead of what it is for.
     */
    private static OnnxModel quantizedResidualBlocks(Random random) {
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
        OnnxModel fp32 = OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build();
        return OnnxQuantizer.builder().build().quantize(fp32).model();
    }

    /** x -> Conv 3x3 -> BatchNormalization -> Relu -> MaxPool 3x3 stride 2 -> Conv 1x1 -> Relu. */
    private static OnnxModel quantizedStem(Random random) {
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
        OnnxModel fp32 = OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build();
        return OnnxQuantizer.builder().build().quantize(fp32).model();
    }

    /** x -> Conv 3x3 -> Relu -> GlobalAveragePool: a classifier's head, as ResNet's. */
    private static OnnxModel quantizedHead(Random random) {
        OnnxGraph.Builder g = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, INPUT))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 8, 1, 1))
                .addInitializer(OnnxTensor.of("w1", normal(random, 8 * 3 * 9, 0.5f), 8, 3, 3, 3))
                .addNode(conv("c1", "x", "w1", null).addOutput("h")
                        .addAttribute(OnnxAttribute.ofInts("pads", 1, 1, 1, 1)).build())
                .addNode(node("Relu", "r", "h"))
                .addNode(node("GlobalAveragePool", "y", "r"));
        OnnxModel fp32 = OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build();
        return OnnxQuantizer.builder().build().quantize(fp32).model();
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
        OnnxModel model = quantizedBlock(random);
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
        OnnxModel model = quantizedResidualBlocks(random);
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
        OnnxModel model = quantizedStem(random);
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
        OnnxModel model = quantizedHead(random);
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

    @Test
    public void aNormalizationWithOtherReadersStaysUnfused() {
        Random random = new Random(12);
        OnnxModel model = quantizedBlock(random);
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
