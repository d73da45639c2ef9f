package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertNotNull;
import static org.testng.Assert.assertNull;
import static org.testng.Assert.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.translate.NoopTranslator;

import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.zoo.architectures.Gpt2;
import org.testng.annotations.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The DJL training network is the zoo's GPT-2 graph: on a tiny random model, its logits equal
 * those of the ONNX file built from its parameters, run by ONNX Runtime.
 */
public class Gpt2TrainingNetworkTest {

    private static final int LAYERS = 2;
    private static final int HIDDEN = 16;
    private static final int HEADS = 2;
    private static final int VOCAB = 37;
    private static final int CONTEXT = 12;

    @Test
    public void logitsEqualTheOnnxExportOnOnnxRuntime() throws Exception {
        long[] ids = {3, 0, 36, 7, 7, 20, 1, 11, 5};
        Gpt2TrainingNetwork network = new Gpt2TrainingNetwork(LAYERS, HIDDEN, HEADS, VOCAB,
                CONTEXT);
        float[] djl;
        Map<String, float[]> weights;
        try (Model model = Model.newInstance("tiny-gpt2", "PyTorch")) {
            model.setBlock(network);
            // Every parameter normal(0.1), biases and LayerNorm included, so a misplaced one
            // shows.
            network.setInitializer(new NormalInitializer(0.1f), Parameter.Type.WEIGHT);
            network.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, CONTEXT));
            try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator());
                    NDManager manager = model.getNDManager().newSubManager()) {
                djl = predictor.predict(new NDList(manager.create(ids, new Shape(1, ids.length))))
                        .singletonOrThrow().toFloatArray();
            }
            weights = network.onnxWeights();
        }
        assertEquals(weights.size(), 4 + 12 * LAYERS, "parameters handed over");
        Path onnx = Files.createTempDirectory("tiny-gpt2").resolve("model.onnx");
        OnnxModelWriter.builder().build().write(Gpt2.builder().optNumLayers(LAYERS)
                .optHiddenSize(HIDDEN).optNumHeads(HEADS).optVocabSize(VOCAB)
                .optContextLength(CONTEXT).optWeights(weights).build(), onnx);
        float[] ort = new Gpt2Inputs(LAYERS, HEADS, HIDDEN / HEADS).onnxRuntimeLogits(onnx, ids);
        assertEquals(ort.length, djl.length);
        for (int i = 0; i < djl.length; i++) {
            assertTrue(Math.abs(djl[i] - ort[i]) < 1e-4, "logit " + i + ": DJL " + djl[i]
                    + ", ONNX Runtime " + ort[i]);
        }
    }

    @Test
    public void aCheckedForwardPassNamesTheFirstNonFiniteStep() {
        Gpt2TrainingNetwork network = new Gpt2TrainingNetwork(LAYERS, HIDDEN, HEADS, VOCAB,
                CONTEXT);
        try (Model model = Model.newInstance("tiny-gpt2", "PyTorch");
                NDManager manager = model.getNDManager().newSubManager()) {
            model.setBlock(network);
            network.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, CONTEXT));
            NDArray ids = manager.create(new long[] {3, 0, 36, 7}, new Shape(1, 4));
            ParameterStore store = new ParameterStore(manager, false);
            assertNull(network.firstNonFinite(store, ids));
            assertEquals(network.nonFiniteParameters(), "");
            network.getParameters().get("h.1.mlp.c_fc.bias").getArray()
                    .set(new NDIndex(5), Float.POSITIVE_INFINITY);
            String found = network.firstNonFinite(store, ids);
            assertNotNull(found);
            assertTrue(found.startsWith("'h.1.mlp.c_fc': 4 of 256 values non-finite"
                    + " (largest magnitude before it, at 'h.1.ln_2': "), found);
            assertEquals(network.nonFiniteParameters(), "h.1.mlp.c_fc.bias: 1 of 64 non-finite");
        }
    }

    /**
     * The backward pass must not read memory the collector can take back: DJL's {@code
     * mul(Number)} and kin hand autograd a PyTorch view of a Java buffer they free at once (see
     * the network's constants). Here the collector runs and the freed memory is overwritten with
     * NaN between the forward and the backward pass; the gradients must not change.
     */
    @Test
    public void gradientsDoNotDependOnTheCollector() throws InterruptedException {
        float[][] clean = gradients(false);
        float[][] collected = gradients(true);
        for (int p = 0; p < clean.length; p++) {
            assertEquals(collected[p], clean[p], "gradient of parameter " + p);
        }
    }

    @Test
    public void nonFiniteGradientsAreNamed() throws InterruptedException {
        String[] reports = afterBackward(false, network -> {
            String clean = network.nonFiniteGradients();
            try (NDArray gradient =
                    network.getParameters().get("h.0.mlp.c_fc.bias").getArray().getGradient()) {
                gradient.set(new NDIndex(3), Float.NaN);
            }
            return new String[] {clean, network.nonFiniteGradients()};
        });
        assertEquals(reports[0], "");
        assertEquals(reports[1], "h.0.mlp.c_fc.bias: 1 of 64 non-finite");
    }

    /** The gradients of one forward and backward pass, in the parameters' order. */
    private static float[][] gradients(boolean collectBeforeBackward)
            throws InterruptedException {
        return afterBackward(collectBeforeBackward, network -> network.getParameters().values()
                .stream().map(p -> p.getArray().getGradient().toFloatArray())
                .toArray(float[][]::new));
    }

    /** One forward and backward pass of a tiny seeded network, then {@code read} of it. */
    private static <T> T afterBackward(boolean collectBeforeBackward,
            Function<Gpt2TrainingNetwork, T> read) throws InterruptedException {
        Gpt2TrainingNetwork network = new Gpt2TrainingNetwork(LAYERS, HIDDEN, HEADS, VOCAB,
                CONTEXT);
        try (Model model = Model.newInstance("tiny-gpt2", "PyTorch");
                NDManager manager = model.getNDManager().newSubManager()) {
            model.setBlock(network);
            network.setInitializer(new NormalInitializer(0.1f), Parameter.Type.WEIGHT);
            Engine.getEngine("PyTorch").setRandomSeed(3);
            network.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, CONTEXT));
            network.getParameters().values().forEach(p -> p.getArray().setRequiresGradient(true));
            NDArray ids = manager.create(new long[] {3, 0, 36, 7, 7, 20, 1, 11}, new Shape(1, 8));
            try (GradientCollector collector = Engine.getEngine("PyTorch")
                    .newGradientCollector()) {
                NDArray loss = network.forward(new ParameterStore(manager, false),
                        new NDList(ids), true).singletonOrThrow().sum();
                if (collectBeforeBackward) {
                    scribbleOverFreedMemory();
                }
                collector.backward(loss);
            }
            return read.apply(network);
        }
    }

    /** Lets the collector free unreachable direct buffers, then writes NaN where they were. */
    private static void scribbleOverFreedMemory() throws InterruptedException {
        System.gc();
        Thread.sleep(100);
        List<ByteBuffer> scribbles = new ArrayList<>();
        for (int i = 0; i < 4096; i++) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
            buffer.putFloat(0, Float.NaN);
            scribbles.add(buffer);
        }
        assertEquals(scribbles.size(), 4096);
    }
}
