package org.quantint8.it.accuracy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.demo.BertInputs;
import org.quantint8.engine.QuantInt8Model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Mean-pooled sentence embeddings of a BERT-family ONNX model run by the QuantInt8 engine, with
 * the given load options and, for static quantization, calibration on given sentences.
 */
final class EngineEmbeddings implements SentimentProbe.Features, AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final ZooModel<NDList, NDList> model;
    private final Predictor<NDList, NDList> predictor;

    /**
     * Loads the model.
     *
     * @param modelDir the folder with the .onnx file
     * @param tokenizer the model's tokenizer (not closed here)
     * @param options the engine's load options
     * @param calibration sentences to calibrate on, or an empty list for none
     * @throws Exception if loading or calibration fails
     */
    EngineEmbeddings(Path modelDir, HuggingFaceTokenizer tokenizer, Map<String, String> options,
            List<String> calibration) throws Exception {
        this.tokenizer = tokenizer;
        Criteria.Builder<NDList, NDList> criteria = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optEngine("QuantInt8")
                .optModelPath(modelDir);
        options.forEach(criteria::optOption);
        model = criteria.build().loadModel();
        if (!calibration.isEmpty()) {
            try (NDManager manager = model.getNDManager().newSubManager()) {
                List<NDList> samples = new ArrayList<>();
                for (String sentence : calibration) {
                    samples.add(BertInputs.of(manager, tokenizer.encode(sentence)));
                }
                ((QuantInt8Model) model.getWrappedModel()).calibrate(samples);
            }
        }
        predictor = model.newPredictor();
    }

    @Override
    public float[] of(String sentence) throws Exception {
        try (NDManager manager = model.getNDManager().newSubManager()) {
            return predictor.predict(BertInputs.of(manager, tokenizer.encode(sentence))).get(0)
                    .mean(new int[] {1}).toFloatArray();
        }
    }

    @Override
    public void close() {
        predictor.close();
        model.close();
    }
}
