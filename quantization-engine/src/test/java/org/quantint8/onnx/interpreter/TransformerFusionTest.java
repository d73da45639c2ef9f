package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.quantint8.kernels.FloatKernels;
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
 * Fused transformer chains (layer normalization, both GELU forms, projection bias and GELU) run
 * as one node each and agree with ONNX Runtime on the unfused file; the projection fusions give
 * the same bits.
 */
public class TransformerFusionTest {

    private static final long[] SHAPE = {2, 3, 64};
    private static final int SIZE = 2 * 3 * 64;

    /** A one-input graph builder over x [2, 3, 64] with scalar constants c0.5, c1, ... */
    private static OnnxGraph.Builder graph(String output) {
        OnnxGraph.Builder g = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, SHAPE))
                .addOutput(OnnxValueInfo.tensor(output, OnnxDataType.FLOAT, SHAPE));
        for (float c : new float[] {0.5f, 1f, 2f, 3f, 0.044715f, (float) Math.sqrt(2),
                (float) Math.sqrt(2 / Math.PI), 1e-5f}) {
            g.addInitializer(OnnxTensor.of("c" + c, new float[] {c}));
        }
        return g;
    }

    private static OnnxNode node(String op, String output, String... inputs) {
        return OnnxNode.builder().setOpType(op).addInput(inputs).addOutput(output).build();
    }

    private static OnnxModel model(OnnxGraph.Builder g, long opset) {
        return OnnxModel.builder().setGraph(g.build()).addOpsetImport("", opset).build();
    }

    /** BERT's {@code x * (1 + erf(x / sqrt 2)) * 0.5}, as the zoo writes it. */
    private static OnnxModel erfGelu() {
        return model(graph("y")
                .addNode(node("Div", "s", "x", "c" + (float) Math.sqrt(2)))
                .addNode(node("Erf", "e", "s"))
                .addNode(node("Add", "o", "e", "c1.0"))
                .addNode(node("Mul", "p", "x", "o"))
                .addNode(node("Mul", "y", "p", "c0.5")), 13);
    }

    /** GPT-2's {@code (0.5 * x) * (1 + tanh(...))}, as Hugging Face exports it. */
    private static OnnxModel tanhGelu() {
        return model(graph("y")
                .addNode(node("Mul", "h", "c0.5", "x"))
                .addNode(node("Pow", "c", "x", "c3.0"))
                .addNode(node("Mul", "t", "c0.044715", "c"))
                .addNode(node("Add", "i", "x", "t"))
                .addNode(node("Mul", "s", "c" + (float) Math.sqrt(2 / Math.PI), "i"))
                .addNode(node("Tanh", "th", "s"))
                .addNode(node("Add", "o", "c1.0", "th"))
                .addNode(node("Mul", "y", "h", "o")), 13);
    }

    /** Hugging Face BERT's decomposed layer normalization over the last axis. */
    private static OnnxModel layerNormChain(Random random) {
        OnnxAttribute last = OnnxAttribute.ofInts("axes", -1);
        return model(graph("y")
                .addInitializer(OnnxTensor.of("gamma", FusionRuns.normal(random, 64, 1f), 64))
                .addInitializer(OnnxTensor.of("beta", FusionRuns.normal(random, 64, 1f), 64))
                .addNode(OnnxNode.builder().setOpType("ReduceMean").addInput("x")
                        .addOutput("m").addAttribute(last).build())
                .addNode(node("Sub", "d", "x", "m"))
                .addNode(node("Pow", "p", "d", "c2.0"))
                .addNode(OnnxNode.builder().setOpType("ReduceMean").addInput("p")
                        .addOutput("v").addAttribute(last).build())
                .addNode(node("Add", "ve", "v", "c1.0E-5"))
                .addNode(node("Sqrt", "sd", "ve"))
                .addNode(node("Div", "n", "d", "sd"))
                .addNode(node("Mul", "g", "n", "gamma"))
                .addNode(node("Add", "y", "g", "beta")), 13);
    }

    private static List<String> opTypes(OnnxModel model) {
        return model.getGraph().getNodes().stream().map(OnnxNode::getOpType).toList();
    }

    /**
     * Runs the model on QuantInt8 (fused) and on ONNX Runtime (as written) and checks they agree
     * within {@code tolerance * (1 + |x|)}: the error of each side grows with |x| (GELU scales
     * its erf or tanh by x / 2; the normalized values are compared at their own scale).
     */
    private static void assertAgreesWithOrt(OnnxModel model, float[] x, double tolerance)
            throws Exception {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            float[] actual = forward(model, manager, x).get(0).toFloatArray();
            float[] expected = FusionRuns.ort(model, x, SHAPE);
            Assert.assertEquals(actual.length, expected.length);
            for (int i = 0; i < actual.length; i++) {
                double bound = tolerance * (1 + Math.abs(x[i]) + Math.abs(expected[i]));
                Assert.assertTrue(Math.abs(actual[i] - expected[i]) <= bound,
                        "at " + i + " (x = " + x[i] + "): " + actual[i] + " vs " + expected[i]);
            }
        }
    }

    /** Runs the model (fused) on QuantInt8; all its outputs. */
    private static NDList forward(OnnxModel model, QuantInt8NDManager manager, float[] x)
            throws Exception {
        return OnnxBlock.newInstance(model, "t", manager).forward(
                new ParameterStore(manager, false),
                new NDList(manager.create(x, new Shape(SHAPE))), false);
    }

    @Test
    public void erfGeluIsOneNodeAndAgreesWithOrt() throws Exception {
        OnnxModel model = erfGelu();
        Assert.assertEquals(opTypes(TransformerFusion.apply(model)), List.of("Gelu"));
        // Our erf is within 4.3e-7 of the exact one, ONNX Runtime's too; halved and scaled by x.
        assertAgreesWithOrt(model, FusionRuns.normal(new Random(1), SIZE, 3f), 1e-6);
    }

    @Test
    public void tanhGeluIsOneNodeAndAgreesWithOrt() throws Exception {
        OnnxModel model = tanhGelu();
        OnnxModel fused = TransformerFusion.apply(model);
        Assert.assertEquals(opTypes(fused), List.of("Gelu"));
        Assert.assertEquals(fused.getGraph().getNodes().get(0)
                .getString(TransformerOperators.APPROXIMATE, ""), "tanh");
        // ONNX Runtime rounds each of its eight steps to FP32; we round once.
        assertAgreesWithOrt(model, FusionRuns.normal(new Random(2), SIZE, 3f), 1e-6);
    }

    @Test
    public void layerNormChainIsOneNodeAndAgreesWithOrt() throws Exception {
        Random random = new Random(3);
        OnnxModel model = layerNormChain(random);
        Assert.assertEquals(opTypes(TransformerFusion.apply(model)),
                List.of("LayerNormalization"));
        float[] x = FusionRuns.normal(random, SIZE, 2f);
        for (int i = 0; i < x.length; i++) {
            x[i] += 5f; // an offset the mean must remove
        }
        // ONNX Runtime sums 64 FP32 values per row for the mean and the variance; we sum in double.
        assertAgreesWithOrt(model, x, 1e-5);
    }

    @Test
    public void layerNormalizationRunsInJavaAsOnnxRuntimeDoes() throws Exception {
        Random random = new Random(4);
        OnnxModel model = model(graph("y")
                .addInitializer(OnnxTensor.of("gamma", FusionRuns.normal(random, 64, 1f), 64))
                .addInitializer(OnnxTensor.of("beta", FusionRuns.normal(random, 64, 1f), 64))
                .addNode(OnnxNode.builder().setOpType("LayerNormalization")
                        .addInput("x", "gamma", "beta").addOutput("y")
                        .addAttribute(OnnxAttribute.ofFloat("epsilon", 1e-5f)).build()), 17);
        assertAgreesWithOrt(model, FusionRuns.normal(random, SIZE, 2f), 1e-5);
    }

    @Test
    public void residualAddAndLayerNormAreOneNodeThatAlsoGivesTheSum() throws Exception {
        Random random = new Random(6);
        OnnxModel model = model(graph("y")
                .addOutput(OnnxValueInfo.tensor("z", OnnxDataType.FLOAT, SHAPE))
                .addInitializer(OnnxTensor.of("gamma", FusionRuns.normal(random, 64, 1f), 64))
                .addInitializer(OnnxTensor.of("beta", FusionRuns.normal(random, 64, 1f), 64))
                .addNode(node("Relu", "a", "x"))
                .addNode(node("Sigmoid", "b", "x"))
                .addNode(node("Add", "s", "a", "b"))
                .addNode(OnnxNode.builder().setOpType("LayerNormalization")
                        .addInput("s", "gamma", "beta").addOutput("y")
                        .addAttribute(OnnxAttribute.ofFloat("epsilon", 1e-5f)).build())
                .addNode(node("Mul", "z", "s", "c2.0")), 17); // the residual stream goes on
        OnnxModel fused = TransformerFusion.apply(model);
        Assert.assertEquals(opTypes(fused),
                List.of("Relu", "Sigmoid", TransformerOperators.ADD_LAYER_NORM, "Mul"));
        Assert.assertEquals(fused.getGraph().getNodes().get(2).getOutputs(), List.of("y", "s"));
        assertAgreesWithOrt(model, FusionRuns.normal(random, SIZE, 2f), 1e-5);
        float[] x = FusionRuns.normal(random, SIZE, 2f);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            float[] z = forward(model, manager, x).get(1).toFloatArray();
            for (int i = 0; i < x.length; i++) {
                float sum = Math.max(x[i], 0f) + (float) (1 / (1 + Math.exp(-x[i])));
                Assert.assertEquals(z[i], 2 * sum, 1e-6f * (1 + Math.abs(sum)));
            }
        }
    }

    @Test
    public void chainsWithOtherReadersStayUnfused() {
        OnnxModel model = erfGelu();
        OnnxGraph.Builder g = OnnxGraph.builder();
        model.getGraph().getNodes().forEach(g::addNode);
        model.getGraph().getInputs().forEach(g::addInput);
        model.getGraph().getOutputs().forEach(g::addOutput);
        model.getGraph().getInitializers().values().forEach(g::addInitializer);
        g.addOutput(OnnxValueInfo.tensor("e", OnnxDataType.FLOAT, SHAPE)); // erf read outside
        OnnxModel exposed = OnnxModel.builder().setGraph(g.build()).addOpsetImport("", 13).build();
        Assert.assertSame(TransformerFusion.apply(exposed), exposed);
    }

    @Test
    public void otherConstantsStayUnfused() {
        OnnxModel model = model(graph("y")
                .addNode(node("Div", "s", "x", "c2.0")) // not sqrt 2: not GELU
                .addNode(node("Erf", "e", "s"))
                .addNode(node("Add", "o", "e", "c1.0"))
                .addNode(node("Mul", "p", "x", "o"))
                .addNode(node("Mul", "y", "p", "c0.5")), 13);
        Assert.assertSame(TransformerFusion.apply(model), model);
    }

    /**
     * A projection read only by a GELU takes it into its epilogue (one node, in registers) and
     * gives the bits of the projection followed by the GELU operator's arithmetic.
     */
    @Test
    public void projectionGeluIsFusedWithTheSameBits() throws Exception {
        for (boolean tanh : new boolean[] {false, true}) {
            Random random = new Random(tanh ? 8 : 7);
            float[] w = FusionRuns.normal(random, 64 * 48, 1f);
            float[] b = FusionRuns.normal(random, 48, 1f);
            OnnxModel projection = quantizedProjection(w, b, null);
            OnnxModel withGelu = quantizedProjection(w, b, tanh ? tanhGelu() : erfGelu());
            OnnxModel fused = TransformerFusion.apply(IntegerLinearFusion.apply(withGelu));
            Assert.assertEquals(opTypes(fused), List.of(IntegerLinearFusion.FUSED_OP),
                    opTypes(withGelu).toString());
            Assert.assertEquals(fused.getGraph().getNodes().get(0)
                    .getString(TransformerFusion.ACTIVATION, ""), tanh ? "gelu_tanh" : "gelu_erf");
            float[] x = FusionRuns.normal(random, SIZE, 2f);
            try (QuantInt8NDManager manager =
                    (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
                float[] expected = FusionRuns.run(OnnxBlock.newInstance(projection, "p", manager),
                        manager, x, SHAPE);
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = tanh ? FloatKernels.geluTanh(expected[i])
                            : FloatKernels.geluErf(expected[i]);
                }
                float[] actual = FusionRuns.run(OnnxBlock.newInstance(withGelu, "g", manager),
                        manager, x, SHAPE);
                Assert.assertEquals(actual, expected, tanh ? "tanh" : "erf");
            }
        }
    }

    /**
     * {@code x [2, 3, 64] -> MatMul(w [64, 48]) -> Add(b)}, then the nodes of {@code gelu} (a
     * model of this class over "x" into "y") reading the sum, quantized dynamically.
     */
    private static OnnxModel quantizedProjection(float[] w, float[] b, OnnxModel gelu) {
        String sum = gelu == null ? "y" : "projected"; // no name of the GELU models
        OnnxGraph.Builder graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, SHAPE))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 3, 48))
                .addInitializer(OnnxTensor.of("w", w, 64, 48))
                .addInitializer(OnnxTensor.of("b", b, 48))
                .addNode(node("MatMul", "product", "x", "w"))
                .addNode(node("Add", sum, "b", "product"));
        if (gelu != null) {
            gelu.getGraph().getInitializers().values().forEach(graph::addInitializer);
            for (OnnxNode n : gelu.getGraph().getNodes()) {
                OnnxNode.Builder nb = OnnxNode.builder().setOpType(n.getOpType())
                        .addOutput(n.getOutputs().get(0));
                n.getInputs().forEach(in -> nb.addInput(in.equals("x") ? sum : in));
                graph.addNode(nb.build());
            }
        }
        OnnxModel fp32 = OnnxModel.builder().setGraph(graph.build()).addOpsetImport("", 13)
                .build();
        return OnnxQuantizer.builder().build().quantize(fp32).model();
    }

    @Test
    public void projectionBiasIsFusedWithTheSameBits() throws Exception {
        Random random = new Random(5);
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, SHAPE))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 3, 48))
                .addInitializer(OnnxTensor.of("w", FusionRuns.normal(random, 64 * 48, 1f), 64, 48))
                .addInitializer(OnnxTensor.of("b", FusionRuns.normal(random, 48, 1f), 48))
                .addNode(node("MatMul", "h", "x", "w"))
                .addNode(node("Add", "y", "b", "h"))
                .build();
        OnnxModel fp32 = OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build();
        OnnxModel model = OnnxQuantizer.builder().build().quantize(fp32).model();
        OnnxModel fused = TransformerFusion.apply(IntegerLinearFusion.apply(model));
        Assert.assertEquals(opTypes(fused), List.of(IntegerLinearFusion.FUSED_OP));
        Assert.assertEquals(fused.getGraph().getNodes().get(0).getInputs().get(4), "b");
        // Its only reader is the caller: the result stays in QuantInt8 memory.
        Assert.assertEquals(fused.getGraph().getNodes().get(0)
                .getInt(TransformerOperators.KEEP, 0), 1L);
        float[] x = FusionRuns.normal(random, SIZE, 1f);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            float[] expected = FusionRuns.run(OnnxBlock.newInstance(model, "t", manager,
                    OperatorRegistry.builtIn(), false), manager, x, SHAPE);
            float[] actual = FusionRuns.run(OnnxBlock.newInstance(model, "t", manager), manager,
                    x, SHAPE);
            Assert.assertEquals(actual, expected);
        }
    }
}
