package org.quantint8.it.accuracy;

import org.quantint8.demo.EmbeddingRunner;
import org.quantint8.it.TestAssets;
import org.quantint8.it.TestAssets.LabelledSentence;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The GLUE SST-2-like task on the UCI sentiment sentences (amazon, imdb, yelp): a linear probe
 * trained on FP32 features of an 80% split (seed 42, per set, pooled), then scored on the other 20%
 * of each set with the features of every variant of the model. The variants differ only in the
 * feature extractor; the probe is the FP32 one throughout, so a drop is what quantization costs.
 * Each variant is scored when it is given ({@link #score}), so only one model need be loaded at a
 * time; its test features are compared with FP32's too (mean cosine).
 */
final class SentimentProbe {

    /** The three sets, in report order. */
    static final List<String> SETS = List.of("amazon", "imdb", "yelp");
    /** The name of the reference row. */
    static final String FP32 = "FP32";

    private static final int PER_SET = Integer.getInteger("quantint8.it.sentencesPerSet", 1000);

    /** A feature extractor: one sentence in, one vector out. */
    @FunctionalInterface
    interface Features {
        /**
         * Returns the sentence's features.
         *
         * @param sentence the text
         * @return the vector
         * @throws Exception if the model fails
         */
        float[] of(String sentence) throws Exception;
    }

    /**
     * One variant's result.
     *
     * @param accuracy by set, and {@code all} pooled
     * @param meanCosine the mean cosine of its test features to FP32's
     * @param seconds the time taken by the test features
     */
    record Row(Map<String, Double> accuracy, double meanCosine, double seconds) {
        /**
         * Returns the pooled accuracy.
         *
         * @return the accuracy over the three sets, in [0, 1]
         */
        double all() {
            return accuracy.get("all");
        }
    }

    private final Map<String, List<LabelledSentence>> train = new LinkedHashMap<>();
    private final Map<String, List<LabelledSentence>> test = new LinkedHashMap<>();
    private final Map<String, Row> rows = new LinkedHashMap<>();
    private final List<float[]> referenceTest = new ArrayList<>();
    private LinearProbe probe;

    SentimentProbe() {
        for (String set : SETS) {
            List<LabelledSentence> sentences = TestAssets.sentiment(set);
            List<LabelledSentence> all = new ArrayList<>(
                    sentences.subList(0, Math.min(PER_SET, sentences.size())));
            Collections.shuffle(all, new Random(42));
            int cut = all.size() * 4 / 5;
            train.put(set, all.subList(0, cut));
            test.put(set, all.subList(cut, all.size()));
        }
    }

    /**
     * Trains the probe on the reference features and scores the reference as {@value #FP32}.
     *
     * @param reference the FP32 feature extractor
     * @return the reference's row
     * @throws Exception if the model fails
     */
    Row train(Features reference) throws Exception {
        List<float[]> features = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (List<LabelledSentence> sentences : train.values()) {
            for (LabelledSentence s : sentences) {
                features.add(reference.of(s.text()));
                labels.add(s.label());
            }
        }
        probe = LinearProbe.fit(features, labels.stream().mapToInt(Integer::intValue).toArray());
        return score(FP32, reference);
    }

    /**
     * Scores one variant with the FP32 probe; rows are reported in the order they are scored.
     *
     * @param name the row's name
     * @param features the variant's feature extractor
     * @return the row
     * @throws Exception if the model fails
     * @throws IllegalStateException if the probe is not trained yet
     */
    Row score(String name, Features features) throws Exception {
        if (probe == null) {
            throw new IllegalStateException("train the probe on FP32 features before scoring "
                    + name);
        }
        long start = System.nanoTime();
        Map<String, Double> accuracy = new LinkedHashMap<>();
        List<float[]> pooled = new ArrayList<>();
        List<Integer> pooledLabels = new ArrayList<>();
        for (Map.Entry<String, List<LabelledSentence>> set : test.entrySet()) {
            List<float[]> setFeatures = new ArrayList<>();
            int[] labels = new int[set.getValue().size()];
            for (int i = 0; i < labels.length; i++) {
                setFeatures.add(features.of(set.getValue().get(i).text()));
                labels[i] = set.getValue().get(i).label();
                pooledLabels.add(labels[i]);
            }
            pooled.addAll(setFeatures);
            accuracy.put(set.getKey(), probe.accuracy(setFeatures, labels));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        accuracy.put("all", probe.accuracy(pooled,
                pooledLabels.stream().mapToInt(Integer::intValue).toArray()));
        if (referenceTest.isEmpty()) {
            referenceTest.addAll(pooled);
        }
        Row row = new Row(accuracy, meanCosine(referenceTest, pooled), seconds);
        rows.put(name, row);
        return row;
    }

    /**
     * Returns the rows scored so far.
     *
     * @return the rows by name, {@value #FP32} first
     */
    Map<String, Row> rows() {
        return Collections.unmodifiableMap(rows);
    }

    /**
     * Returns the number of test sentences over all sets.
     *
     * @return the count
     */
    int testSize() {
        return test.values().stream().mapToInt(List::size).sum();
    }

    /**
     * Formats the rows as a Markdown table: accuracy per set, the delta to FP32 in points, the
     * mean cosine to FP32 features and the time the test features took.
     *
     * @return the table
     */
    String table() {
        StringBuilder out = new StringBuilder("| features | amazon | imdb | yelp | all | delta to"
                + " FP32 (all) | mean cosine to FP32 | time (s) |\n"
                + "|---|---:|---:|---:|---:|---:|---:|---:|\n");
        double fp32 = rows.get(FP32).all();
        for (Map.Entry<String, Row> row : rows.entrySet()) {
            out.append("| ").append(row.getKey());
            for (String set : List.of("amazon", "imdb", "yelp", "all")) {
                out.append(String.format(Locale.ROOT, " | %.2f%%",
                        100 * row.getValue().accuracy().get(set)));
            }
            out.append(String.format(Locale.ROOT, " | %+.2f | %.4f | %.0f |%n",
                    100 * (row.getValue().all() - fp32), row.getValue().meanCosine(),
                    row.getValue().seconds()));
        }
        return out.toString();
    }

    /**
     * Says, with the figures, which rows keep the pooled accuracy within a goal of FP32's.
     *
     * @param goalPoints the goal, in points
     * @return a sentence
     */
    String goals(double goalPoints) {
        double fp32 = rows.get(FP32).all();
        List<String> hold = new ArrayList<>();
        List<String> miss = new ArrayList<>();
        rows.forEach((name, row) -> {
            double delta = 100 * (row.all() - fp32);
            if (!name.equals(FP32)) {
                // A gain is no miss: the goal bounds the loss.
                (delta >= -goalPoints - 1e-9 ? hold : miss).add(String.format(Locale.ROOT,
                        "%s (%+.2f)", name, delta));
            }
        });
        return String.format(Locale.ROOT, "Goal, accuracy over the %d test sentences within %.1f"
                        + " points of FP32 (one sentence is %.2f points, %.1f within one set):"
                        + " holds for %s; missed by %s.%n", testSize(), goalPoints,
                100.0 / testSize(), 100.0 * SETS.size() / testSize(),
                hold.isEmpty() ? "none" : String.join(", ", hold),
                miss.isEmpty() ? "none" : String.join(", ", miss));
    }

    private static double meanCosine(List<float[]> reference, List<float[]> variant) {
        double sum = 0;
        for (int i = 0; i < reference.size(); i++) {
            sum += EmbeddingRunner.cosine(reference.get(i), variant.get(i));
        }
        return sum / reference.size();
    }
}
