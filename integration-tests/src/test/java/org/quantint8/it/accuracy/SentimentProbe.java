package org.quantint8.it.accuracy;

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
 */
final class SentimentProbe {

    /** The three sets, in report order. */
    static final List<String> SETS = List.of("amazon", "imdb", "yelp");

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

    private final Map<String, List<LabelledSentence>> train = new LinkedHashMap<>();
    private final Map<String, List<LabelledSentence>> test = new LinkedHashMap<>();

    SentimentProbe() {
        for (String set : SETS) {
            List<LabelledSentence> all = new ArrayList<>(
                    TestAssets.sentiment(set).subList(0, Math.min(PER_SET,
                            TestAssets.sentiment(set).size())));
            Collections.shuffle(all, new Random(42));
            int cut = all.size() * 4 / 5;
            train.put(set, all.subList(0, cut));
            test.put(set, all.subList(cut, all.size()));
        }
    }

    /**
     * Trains the probe on the reference features and scores every variant.
     *
     * @param reference the FP32 feature extractor (trains the probe and is scored too)
     * @param variants the other extractors by name, in report order
     * @return accuracy by variant name (the reference first, as "FP32") and set ("all" pooled)
     * @throws Exception if a model fails
     */
    Map<String, Map<String, Double>> run(Features reference, Map<String, Features> variants)
            throws Exception {
        List<float[]> trainFeatures = new ArrayList<>();
        List<Integer> trainLabels = new ArrayList<>();
        for (List<LabelledSentence> sentences : train.values()) {
            for (LabelledSentence s : sentences) {
                trainFeatures.add(reference.of(s.text()));
                trainLabels.add(s.label());
            }
        }
        LinearProbe probe = LinearProbe.fit(trainFeatures,
                trainLabels.stream().mapToInt(Integer::intValue).toArray());
        Map<String, Features> all = new LinkedHashMap<>();
        all.put("FP32", reference);
        all.putAll(variants);
        Map<String, Map<String, Double>> accuracy = new LinkedHashMap<>();
        for (Map.Entry<String, Features> variant : all.entrySet()) {
            Map<String, Double> bySet = new LinkedHashMap<>();
            List<float[]> pooled = new ArrayList<>();
            List<Integer> pooledLabels = new ArrayList<>();
            for (Map.Entry<String, List<LabelledSentence>> set : test.entrySet()) {
                List<float[]> features = new ArrayList<>();
                int[] labels = new int[set.getValue().size()];
                for (int i = 0; i < labels.length; i++) {
                    features.add(variant.getValue().of(set.getValue().get(i).text()));
                    labels[i] = set.getValue().get(i).label();
                    pooledLabels.add(labels[i]);
                }
                pooled.addAll(features);
                bySet.put(set.getKey(), probe.accuracy(features, labels));
            }
            bySet.put("all", probe.accuracy(pooled,
                    pooledLabels.stream().mapToInt(Integer::intValue).toArray()));
            accuracy.put(variant.getKey(), bySet);
        }
        return accuracy;
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
     * Formats accuracies as a Markdown table with the delta to FP32 in points.
     *
     * @param accuracy what {@link #run} returned
     * @return the table
     */
    static String table(Map<String, Map<String, Double>> accuracy) {
        StringBuilder out = new StringBuilder("| features | amazon | imdb | yelp | all | delta to"
                + " FP32 (all) |\n|---|---|---|---|---|---|\n");
        double fp32 = accuracy.get("FP32").get("all");
        for (Map.Entry<String, Map<String, Double>> row : accuracy.entrySet()) {
            out.append("| ").append(row.getKey());
            for (String set : List.of("amazon", "imdb", "yelp", "all")) {
                out.append(String.format(Locale.ROOT, " | %.2f%%", 100 * row.getValue().get(set)));
            }
            out.append(String.format(Locale.ROOT, " | %+.2f |%n",
                    100 * (row.getValue().get("all") - fp32)));
        }
        return out.toString();
    }
}
