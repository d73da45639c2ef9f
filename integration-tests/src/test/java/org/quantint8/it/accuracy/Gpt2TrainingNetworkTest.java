package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.translate.NoopTranslator;

import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.zoo.architectures.Gpt2;
import org.testng.annotations.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

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
}
