package org.quantint8.it.accuracy;

import ai.djl.MalformedModelException;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.engine.QuantInt8Model;
import org.quantint8.it.TestAssets;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Token-id inputs of BERT-family models (uncased WordPiece vocabulary) and the calibration sets
 * of the accuracy suites: the representative one (State of the Union sentences that no evaluation
 * reads) and the two mistakes that static quantization must be shielded from, random token ids of
 * the same lengths and a single sentence.
 */
final class BertSamples {

    /** How many representative calibration sentences; evaluations read only later ones. */
    static final int CALIBRATION_SENTENCES = 200;
    /** Row label of static INT8 calibrated on the representative sentences. */
    static final String REPRESENTATIVE = "200 State of the Union sentences";
    /** Row label of static INT8 calibrated on random token ids. */
    static final String NOISE = "200 random token sequences (mistake)";
    /** Row label of static INT8 calibrated on one sentence. */
    static final String SINGLE = "a single sentence (mistake)";
    /** Row label prefix of static INT8 whose flagged layers quantize their input per token. */
    static final String STATIC_WITH_FALLBACK =
            "QuantInt8 INT8 static (MSE) + per-token fallback (budget 22 dB), ";
    /**
     * Load options of static INT8 with the per-token budget fallback (docs/quantization.md): the
     * layers whose per-tensor range costs the model more than 22 dB of output SQNR quantize their
     * input per token instead; every weight stays INT8.
     */
    static final Map<String, String> STATIC_WITH_FALLBACK_OPTIONS = Map.of("quantization",
            "static", "activationObserver", "mse", "minSqnrDb", "22", "budgetFallback", "token");

    // In the uncased BERT vocabulary ids below 999 are [PAD], [unusedN], [UNK], [CLS], [SEP] and
    // [MASK]; word pieces start at 999 ("!").
    private static final int FIRST_WORD_PIECE = 999;
    private static final int VOCABULARY = 30522;

    private BertSamples() {}

    /**
     * Returns the three calibration sets in report order: representative, noise, single.
     *
     * @param tokenizer the model's tokenizer
     * @return the token-id rows of each set, by row label
     */
    static Map<String, List<long[]>> calibrationSets(HuggingFaceTokenizer tokenizer) {
        List<long[]> representative =
                encode(tokenizer, TestAssets.sotuSentences(CALIBRATION_SENTENCES));
        Map<String, List<long[]>> sets = new LinkedHashMap<>();
        sets.put(REPRESENTATIVE, representative);
        sets.put(NOISE, noise(representative, new Random(7)));
        sets.put(SINGLE, representative.subList(0, 1));
        return sets;
    }

    /**
     * Tokenizes sentences, one row of ids each ({@code [CLS] ... [SEP]}).
     *
     * @param tokenizer the tokenizer
     * @param sentences the sentences
     * @return the rows
     */
    static List<long[]> encode(HuggingFaceTokenizer tokenizer, List<String> sentences) {
        List<long[]> rows = new ArrayList<>(sentences.size());
        for (String sentence : sentences) {
            rows.add(tokenizer.encode(sentence).getIds());
        }
        return rows;
    }

    /**
     * Returns the model inputs of a batch of rows of one length, with every token attended and
     * segment 0, named like the graph inputs.
     *
     * @param manager the manager of the arrays
     * @param rows the token ids, all of the same length
     * @return {@code input_ids}, {@code attention_mask} and {@code token_type_ids}, INT64
     * @throws IllegalArgumentException if the rows differ in length
     */
    static NDList inputs(NDManager manager, List<long[]> rows) {
        int length = rows.get(0).length;
        long[] ids = new long[rows.size() * length];
        for (int r = 0; r < rows.size(); r++) {
            if (rows.get(r).length != length) {
                throw new IllegalArgumentException("row " + r + " has " + rows.get(r).length
                        + " tokens, row 0 " + length + ": a batch needs one length");
            }
            System.arraycopy(rows.get(r), 0, ids, r * length, length);
        }
        long[] ones = new long[ids.length];
        Arrays.fill(ones, 1);
        Shape shape = new Shape(rows.size(), length);
        return new NDList(named(manager.create(ids, shape), "input_ids"),
                named(manager.create(ones, shape), "attention_mask"),
                named(manager.create(new long[ids.length], shape), "token_type_ids"));
    }

    /**
     * Calibrates a model loaded by QuantInt8, one row per sample.
     *
     * @param model the model, loaded with the options that say how to quantize
     * @param rows the calibration rows
     * @throws MalformedModelException if the quantized model cannot be built
     */
    static void calibrate(ZooModel<NDList, NDList> model, List<long[]> rows)
            throws MalformedModelException {
        try (NDManager manager = model.getNDManager().newSubManager()) {
            List<NDList> samples = new ArrayList<>(rows.size());
            for (long[] row : rows) {
                samples.add(inputs(manager, List.of(row)));
            }
            ((QuantInt8Model) model.getWrappedModel()).calibrate(samples);
        }
    }

    /**
     * Returns random word pieces with the lengths of real sentences, framed by {@code [CLS]} and
     * {@code [SEP]} as the tokenizer frames them: what "any input will do" looks like.
     *
     * @param like the real rows, whose lengths and first and last tokens are kept
     * @param random the source of the ids
     * @return one random row per real row
     */
    static List<long[]> noise(List<long[]> like, Random random) {
        List<long[]> rows = new ArrayList<>(like.size());
        for (long[] real : like) {
            long[] row = real.clone();
            for (int i = 1; i < row.length - 1; i++) {
                row[i] = FIRST_WORD_PIECE + random.nextInt(VOCABULARY - FIRST_WORD_PIECE);
            }
            rows.add(row);
        }
        return rows;
    }

    private static NDArray named(NDArray array, String name) {
        array.setName(name);
        return array;
    }
}
