package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

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

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Fused convolutions that pass their outputs channels-last to the next ones give the bits of
 * the unfused graph, for every kind of reader: a 1x1 and a 3x3 convolution with positions on
 * rows, a residual, and readers that need NCHW planes (few output channels, asymmetric padding,
 * groups).
 */
public class ChannelsLastValuesTest {

    private static final long[] INPUT = {2, 16, 10, 10};

    /**
     * x -> Conv 3x3 (32) -> Relu = r1 -> Conv 1x1 -> Relu -> Conv 3x3 -> Add(r1) -> Relu = r3,
     * read by three convolutions that are graph outputs: 1x1 to 8 channels, 3x3 with padding
     * on the bottom and right only, 3x3 in two groups.
     */
    private static OnnxModel quantizedBlocks(Random random) {
        OnnxGraph.Builder g = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, INPUT))
                .addOutput(OnnxValueInfo.tensor("y1", OnnxDataType.FLOAT, 2, 8, 10, 10))
                .addOutput(OnnxValueInfo.tensor("y2", OnnxDataType.FLOAT, 2, 16, 9, 9))
                .addOutput(OnnxValueInfo.tensor("y3", OnnxDataType.FLOAT, 2, 32, 10, 10));
        weight(g, random, "w1", 32, 16, 3);
        weight(g, random, "w2", 32, 32, 1);
        weight(g, random, "w3", 32, 32, 3);
        weight(g, random, "w4", 8, 32, 1);
        weight(g, random, "w5", 16, 32, 3);
        weight(g, random, "w6", 32, 16, 3);
        g.addNode(conv("x", "w1", "h1").addAttribute(pads(1, 1, 1, 1)).build())
                .addNode(node("Relu", "r1", "h1"))
                .addNode(conv("r1", "w2", "h2").build())
                .addNode(node("Relu", "r2", "h2"))
                .addNode(conv("r2", "w3", "h3").addAttribute(pads(1, 1, 1, 1)).build())
                .addNode(node("Add", "s3", "h3", "r1"))
                .addNode(node("Relu", "r3", "s3"))
                .addNode(conv("r3", "w4", "y1").build())
                .addNode(conv("r3", "w5", "y2").addAttribute(pads(0, 0, 1, 1))
                        .addAttribute(OnnxAttribute.ofInts("strides", 1, 1)).build())
                .addNode(conv("r3", "w6", "y3").addAttribute(pads(1, 1, 1, 1))
                        .addAttribute(OnnxAttribute.ofInt("group", 2)).build());
        OnnxModel fp32 = OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build();
        return OnnxQuantizer.builder().build().quantize(fp32).model();
    }

    @Test
    public void convolutionsReadEachOthersOutputsChannelsLastWithTheSameBits() throws Exception {
        Random random = new Random(20261128L);
        OnnxModel model = quantizedBlocks(random);
        OnnxModel marked = ChannelsLastValues.apply(IntegerLinearFusion.apply(model));
        Set<String> allowed = new HashSet<>();
        for (OnnxNode node : marked.getGraph().getNodes()) {
            if (node.getInt(ChannelsLastValues.OUTPUT_CHANNELS_LAST, 0) == 1) {
                allowed.add(node.getOutputs().get(0));
            }
        }
        // r1 (read as input and residual), r2 and r3; not the graph outputs.
        Assert.assertEquals(allowed, Set.of("r1", "r2", "r3"), marked.getGraph().toString());

        float[] x = FusionRuns.normal(random, (int) (2 * 16 * 10 * 10), 1f);
        float[][] expected = FusionRuns.ort(model, 3, x, INPUT);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            NDList unfused = FusionRuns.runAll(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), false), manager, x, INPUT);
            NDList fused = FusionRuns.runAll(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), true), manager, x, INPUT);
            List<String> names = List.of("y1", "y2", "y3");
            for (int i = 0; i < 3; i++) {
                NDArray f = fused.get(i);
                Assert.assertEquals(f.getShape(), unfused.get(i).getShape(), names.get(i));
                Assert.assertEquals(f.toFloatArray(), unfused.get(i).toFloatArray(), 0f,
                        names.get(i));
                float worst = 0;
                float[] values = f.toFloatArray();
                for (int j = 0; j < values.length; j++) {
                    worst = Math.max(worst, Math.abs(values[j] - expected[i][j]));
                }
                Assert.assertTrue(worst < 1e-3, names.get(i) + ": largest difference from"
                        + " ONNX Runtime " + worst);
            }
        }
    }

    @Test
    public void aValueWithAnotherReaderStaysNchw() {
        Random random = new Random(7);
        OnnxModel model = quantizedBlocks(random);
        OnnxGraph graph = model.getGraph();
        OnnxGraph.Builder g = graph.toBuilderWithoutNodes(t -> true);
        graph.getNodes().forEach(g::addNode);
        // r2 is also read by a Sigmoid, which knows nothing of layouts.
        g.addNode(node("Sigmoid", "extra", "r2"))
                .addOutput(OnnxValueInfo.of("extra", OnnxDataType.FLOAT, null, ""));
        OnnxModel marked = ChannelsLastValues.apply(IntegerLinearFusion.apply(
                model.toBuilder(g.build()).build()));
        for (OnnxNode node : marked.getGraph().getNodes()) {
            if (node.getOutputs().contains("r2")) {
                Assert.assertEquals(node.getInt(ChannelsLastValues.OUTPUT_CHANNELS_LAST, 0), 0);
            }
        }
    }

    private static void weight(OnnxGraph.Builder g, Random random, String name, int out, int in,
            int kernel) {
        g.addInitializer(OnnxTensor.of(name, FusionRuns.normal(random,
                out * in * kernel * kernel, 0.3f), out, in, kernel, kernel));
    }

    private static OnnxAttribute pads(long... pads) {
        return OnnxAttribute.ofInts("pads", pads);
    }

    private static OnnxNode node(String opType, String output, String... inputs) {
        return OnnxNode.builder().setOpType(opType).addInput(inputs).addOutput(output).build();
    }

    private static OnnxNode.Builder conv(String x, String w, String y) {
        return OnnxNode.builder().setOpType("Conv").optName("conv_" + y).addInput(x, w)
                .addOutput(y);
    }
}
