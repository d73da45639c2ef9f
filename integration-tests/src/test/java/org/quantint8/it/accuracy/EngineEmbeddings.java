package org.quantint8.it.accuracy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;

import org.quantint8.engine.QuantInt8Model;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One BERT-family ONNX model on a DJL engine, loaded with given options and, for static
 * quantization, calibrated on given token rows: mean-pooled sentence embeddings for the sentiment
 * probe, and raw batches of token rows (for pseudo-perplexity).
 */
final class EngineEmbeddings implements SentimentProbe.Features, AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final ZooModel<NDList, NDList> model;
    private final Predictor<NDList, NDList> predictor;

    /**
     * Loads the model and calibrates it if rows are given.
     *
     * @param criteria what to load (a model path or a zoo artifact) and on which engine
     * @param tokenizer the model's tokenizer (not closed here)
     * @param options the engine's load options
     * @param calibration token rows to calibrate on ({@link BertSamples}), or an empty list
     * @throws Exception if loading or calibration fails
     */
    EngineEmbeddings(Criteria.Builder<NDList, NDList> criteria, HuggingFaceTokenizer tokenizer,
            Map<String, String> options, List<long[]> calibration) throws Exception {
        this.tokenizer = tokenizer;
        options.forEach(criteria::optOption);
        if (!calibration.isEmpty()) {
            // A cached static model must not stand in for one calibrated on another set.
            criteria.optOption("quantizationCache", "false");
        }
        model = criteria.build().loadModel();
        if (!calibration.isEmpty()) {
            BertSamples.calibrate(model, calibration);
        }
        predictor = model.newPredictor();
    }

    /**
     * Returns a criteria builder for an ONNX model folder.
     *
     * @param modelDir the folder with the .onnx file
     * @param engine the DJL engine's name
     * @return the builder
     */
    static Criteria.Builder<NDList, NDList> onnx(Path modelDir, String engine) {
        return Criteria.builder().setTypes(NDList.class, NDList.class).optEngine(engine)
                .optModelPath(modelDir);
    }

    @Override
    public float[] of(String sentence) throws Exception {
        // Batch 1 without padding: the mean over all tokens is the masked mean.
        return run(List.of(tokenizer.encode(sentence).getIds()),
                out -> hiddenState(out).mean(new int[] {1}).toFloatArray());
    }

    /**
     * Runs one batch of token rows of one length.
     *
     * @param rows the token ids
     * @param reader what to read from the outputs while they live (they are freed after)
     * @param <T> what is read
     * @return what the reader returned
     * @throws TranslateException if the model fails
     */
    <T> T run(List<long[]> rows, Function<NDList, T> reader) throws TranslateException {
        try (NDManager manager = model.getNDManager().newSubManager()) {
            return reader.apply(predictor.predict(BertSamples.inputs(manager, rows)));
        }
    }

    /**
     * Returns how many of the model's layers QuantInt8 quantized per token, from its
     * quantization report (0 for a model on another engine).
     *
     * @return the number of per-token layers
     */
    int perTokenLayers() {
        if (!(model.getWrappedModel() instanceof QuantInt8Model quantized)) {
            return 0;
        }
        return quantized.getQuantizationReport().map(report -> (int) report.lines()
                .filter(line -> line.contains("min-max per token")).count()).orElse(0);
    }

    @Override
    public void close() {
        predictor.close();
        model.close();
    }

    private static NDArray hiddenState(NDList outputs) {
        NDArray hidden = outputs.get("last_hidden_state");
        return hidden != null ? hidden : outputs.get(0);
    }
}
