package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.Criteria;

import org.quantint8.it.TestAssets;
import org.quantint8.zoo.Int8ModelZoo;
import org.quantint8.zoo.nlp.BertTokenizers;
import org.quantint8.zoo.weights.EasyBertArchive;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The real BERT-base-uncased through the zoo: the masked word, the sentiment probe (FP32 probe,
 * FP32 vs INT8 features) and masked-LM pseudo-perplexity on held-out State of the Union sentences.
 * FP32 is the {@code fp32} artifact on ONNX Runtime; INT8 is the {@code int8} artifact (dynamic)
 * and the {@code fp32} artifact quantized by QuantInt8 at load time: dynamic with per-token
 * activations, and static calibrated on representative sentences (per tensor, and with the
 * per-token budget fallback) and on unrepresentative ones (the calibration mistake). ONNX Runtime
 * on the int8 artifact gives the pseudo-perplexity's spread between correct implementations.
 */
public class BertBaseAccuracyTest {

    private static final String ENTRY = "bert_base_uncased";
    /** Guard only: exact figures go to docs/accuracy.md, where the goal is 0.3 points. */
    private static final double PROBE_GUARD_POINTS = 2;
    /** Guard only, in percent: the goal is +1%; a broken layer multiplies perplexity. */
    private static final double PPPL_GUARD_PERCENT = 5;
    // Static INT8 of BERT-base per tensor is far from its goals (its outliers, see
    // docs/quantization.md): its guards only catch a broken model.
    private static final double STATIC_PROBE_GUARD_POINTS = 6;
    private static final double STATIC_PPPL_GUARD_PERCENT = 30;
    /** Sentences for pseudo-perplexity: the newest 200 of the corpus calibrate, these follow. */
    private static final int PPPL_SENTENCES = Integer.getInteger("quantint8.it.ppplSentences", 40);
    private static final double PROBE_GOAL_POINTS = 0.3;
    private static final double PPPL_GOAL_PERCENT = 1;
    private static final String INT8_ARTIFACT = "int8 artifact on QuantInt8 (dynamic INT8)";
    private static final String STATIC = "fp32 artifact, QuantInt8 INT8 static (MSE), ";
    private static final String FALLBACK = "fp32 artifact, " + BertSamples.STATIC_WITH_FALLBACK
            + BertSamples.REPRESENTATIVE;
    private static final String PER_TOKEN =
            "fp32 artifact, QuantInt8 INT8 dynamic, per-token activations";

    /** ONNX Runtime's default optimization level, and none. */
    private static final List<String> ORT_LEVELS = List.of("ALL_OPT", "NO_OPT");

    private HuggingFaceTokenizer tokenizer;

    @BeforeClass
    public void publish() throws Exception {
        Path entry = ZooAssets.bertBase();
        Path vocab = entry.resolve("0.1.0/" + ENTRY + "-fp32/" + Path.of(EasyBertArchive.VOCAB)
                .getFileName());
        tokenizer = BertTokenizers.fromVocabulary(vocab, true);
    }

    @Test(timeOut = 600_000)
    public void masksTheCapitalInBothPrecisions() throws Exception {
        for (String[] run : new String[][] {{"fp32", "OnnxRuntime"}, {"int8", "QuantInt8"}}) {
            try (EngineEmbeddings model = new EngineEmbeddings(zoo(run[0], run[1]), tokenizer,
                    Map.of(), List.of())) {
                long[] ids = tokenizer.encode("the capital of france is [MASK].").getIds();
                int masked = indexOf(ids, PseudoPerplexity.MASK);
                long best = model.run(List.of(ids),
                        out -> out.get("logits").get(0, masked).argMax().getLong());
                String word = tokenizer.decode(new long[] {best});
                System.out.printf("BERT-base %s on %s: the capital of france is [%s].%n", run[0],
                        run[1], word);
                assertEquals(word, "paris", run[0]);
            }
        }
    }

    @Test(timeOut = 3_600_000)
    public void sentimentProbeAndPseudoPerplexity() throws Exception {
        List<String> heldOut = TestAssets.sotuSentences(
                BertSamples.CALIBRATION_SENTENCES + PPPL_SENTENCES)
                .subList(BertSamples.CALIBRATION_SENTENCES,
                        BertSamples.CALIBRATION_SENTENCES + PPPL_SENTENCES);
        SentimentProbe probe = new SentimentProbe();
        Map<String, Double> pppl = new LinkedHashMap<>();
        Map<String, Double> loadSeconds = new LinkedHashMap<>();
        Map<String, Integer> perTokenLayers = new LinkedHashMap<>();
        Variant variant = (row, criteria, options, calibration) -> {
            long start = System.nanoTime();
            try (EngineEmbeddings model = new EngineEmbeddings(criteria, tokenizer, options,
                    calibration)) {
                loadSeconds.put(row, (System.nanoTime() - start) / 1e9);
                perTokenLayers.put(row, model.perTokenLayers());
                SentimentProbe.Row scored = row.equals(SentimentProbe.FP32)
                        ? probe.train(model) : probe.score(row, model);
                long scoredAt = System.nanoTime();
                pppl.put(row, PseudoPerplexity.of(model, tokenizer, heldOut));
                System.out.printf(Locale.ROOT, "BERT-base %s: load and calibration %.0f s, probe"
                                + " test features %.0f s, pseudo-perplexity %.0f s%n", row,
                        loadSeconds.get(row), scored.seconds(),
                        (System.nanoTime() - scoredAt) / 1e9);
            }
        };
        variant.run(SentimentProbe.FP32, zoo("fp32", "OnnxRuntime"), Map.of(), List.of());
        variant.run(INT8_ARTIFACT, zoo("int8", "QuantInt8"), Map.of(), List.of());
        // Per-token activations: each row's range is its own, so no outlier token stretches
        // the others' and the result does not depend on what else is in the batch.
        variant.run(PER_TOKEN, zoo("fp32", "QuantInt8"),
                Map.of("quantization", "dynamic", "activationGranularity", "token"), List.of());
        // Each static row costs about a minute on a quiet machine (calibration, probe,
        // pseudo-perplexity); the fallback row's planning about nine, so it is calibrated on
        // representative sentences only.
        Map<String, List<long[]>> sets = BertSamples.calibrationSets(tokenizer);
        for (Map.Entry<String, List<long[]>> set : sets.entrySet()) {
            variant.run(STATIC + set.getKey(), zoo("fp32", "QuantInt8"),
                    Map.of("quantization", "static", "activationObserver", "mse"),
                    set.getValue());
        }
        variant.run(FALLBACK, zoo("fp32", "QuantInt8"),
                BertSamples.STATIC_WITH_FALLBACK_OPTIONS, sets.get(BertSamples.REPRESENTATIVE));
        // The int8 artifact's peers: ONNX Runtime on the same file, with and without its graph
        // optimizations, which change only the order of float operations (fused kernels).
        for (String level : ORT_LEVELS) {
            long start = System.nanoTime();
            try (EngineEmbeddings model = new EngineEmbeddings(zoo("int8", "OnnxRuntime"),
                    tokenizer, Map.of("optLevel", level), List.of())) {
                loadSeconds.put(ortRow(level), (System.nanoTime() - start) / 1e9);
                pppl.put(ortRow(level), PseudoPerplexity.of(model, tokenizer, heldOut));
            }
        }
        String body = report(probe, pppl, loadSeconds) + fallbackOutcome(perTokenLayers);
        System.out.println(body);
        AccuracyReport.publish("bert-base", "BERT-base-uncased, real weights", body);
        check(probe.rows(), pppl);
    }

    private String report(SentimentProbe probe, Map<String, Double> pppl,
            Map<String, Double> loadSeconds) {
        StringBuilder perplexity = new StringBuilder(String.format(Locale.ROOT,
                "| model | pseudo-perplexity | change to FP32 | load and calibration (s) |%n"
                        + "|---|---:|---:|---:|%n"));
        double fp32 = pppl.get(SentimentProbe.FP32);
        pppl.forEach((row, value) -> perplexity.append(String.format(Locale.ROOT,
                "| %s | %.3f | %+.2f%% | %.0f |%n", row, value, 100 * (value / fp32 - 1),
                loadSeconds.get(row))));
        return String.format(Locale.ROOT, "Google's BERT-base-uncased (Maven %s) through the"
                        + " zoo: FP32 is the `fp32` artifact on ONNX Runtime; INT8 is the `int8`"
                        + " artifact (dynamic INT8, per-channel weights) and the `fp32` artifact"
                        + " quantized by QuantInt8 at load time.%n%n"
                        + "Sentiment probe: mean-pooled last hidden state; logistic-regression"
                        + " probe trained on FP32 features of 80%% of each set (seed 42), scored on"
                        + " the other %d sentences; time: those sentences one by one.%n%n"
                        + "%s%n%s%n%s%n"
                        + "Masked-LM pseudo-perplexity (each token masked in turn, exp of the mean"
                        + " negative log-likelihood) over %d held-out State of the Union"
                        + " sentences, in batches of one sentence's masked copies:%n%n%s%n%s%n%s",
                EasyBertArchive.MAVEN_ARTIFACT, probe.testSize(), probe.table(),
                probe.goals(PROBE_GOAL_POINTS), CalibrationMistake.summary(probe.rows(), STATIC)
                        + perTensorCaveat(probe.rows()),
                PPPL_SENTENCES, perplexity, perplexityGoal(pppl), implementationSpread(pppl));
    }

    /**
     * What the budget's planner made of BERT-base: how many layers it moved to per-token inputs,
     * against the dynamic per-token row, which has them all.
     */
    private static String fallbackOutcome(Map<String, Integer> perTokenLayers) {
        int moved = perTokenLayers.get(FALLBACK);
        int all = perTokenLayers.get(PER_TOKEN);
        return String.format(Locale.ROOT, "%nThe per-token fallback's planner moved %d of the %d"
                        + " projections to per-token inputs%s%n", moved, all, moved < all ? "."
                        : ": every one, so that row is the dynamic per-token model after minutes"
                        + " of planning (the planner moves them all when the 22 dB budget on the"
                        + " output needs every one or is out of reach; the load log says which). On"
                        + " BERT-base, dynamic INT8 with per-token activations is the configuration"
                        + " to use; it needs no calibration.");
    }

    /**
     * When a mistake beats representative calibration, says why that is no reason to calibrate
     * on noise: per tensor, no calibration serves BERT-base's outlier tokens.
     */
    private static String perTensorCaveat(Map<String, SentimentProbe.Row> rows) {
        double representative = rows.get(STATIC + BertSamples.REPRESENTATIVE).meanCosine();
        boolean beaten = rows.keySet().stream().filter(CalibrationMistake::isMistake)
                .anyMatch(row -> rows.get(row).meanCosine() > representative);
        return !beaten ? "" : String.format(Locale.ROOT, "%nHere a mistake gives a higher mean"
                + " cosine than representative calibration. Both are far from FP32 because the"
                + " loss is in the per-tensor ranges themselves: per-token activations (the"
                + " dynamic per-token row) give %.4f. One range per tensor fails"
                + " transformer activations whose tokens differ several times in range (analysed"
                + " on MiniLM in docs/quantization.md); that a narrower range from unrepresentative"
                + " data costs less here makes it no better a calibration to use.%n",
                rows.get(PER_TOKEN).meanCosine());
    }

    /**
     * Dynamic INT8 picks each activation's range per call from the whole batch, so a difference
     * in the last bit of a float upstream can move a range, and the rounding of a whole tensor
     * with it: the int8 artifact's pseudo-perplexity differs between correct implementations.
     */
    private static String implementationSpread(Map<String, Double> pppl) {
        double optimized = pppl.get(ortRow(ORT_LEVELS.get(0)));
        double plain = pppl.get(ortRow(ORT_LEVELS.get(1)));
        double ours = pppl.get(INT8_ARTIFACT);
        return String.format(Locale.ROOT, "The int8 artifact's figure depends on float rounding:"
                        + " dynamic INT8 takes each activation's range from the whole batch per"
                        + " call, so a last-bit difference upstream can move a range and re-round a"
                        + " whole tensor. ONNX Runtime on the same file gives %.3f with its graph"
                        + " optimizations and %.3f without them (%+.2f%%: only the order of float"
                        + " operations differs); QuantInt8 gives %.3f (%+.2f%% to the first,"
                        + " %+.2f%% to the second). Static rows fix their ranges at calibration,"
                        + " and the per-token row takes each row's range from that row alone:"
                        + " neither depends on the rest of the batch.%n", optimized, plain,
                100 * (plain / optimized - 1), ours, 100 * (ours / optimized - 1),
                100 * (ours / plain - 1));
    }

    private static String perplexityGoal(Map<String, Double> pppl) {
        double fp32 = pppl.get(SentimentProbe.FP32);
        List<String> hold = new ArrayList<>();
        List<String> miss = new ArrayList<>();
        pppl.forEach((row, value) -> {
            double change = 100 * (value / fp32 - 1);
            if (!row.equals(SentimentProbe.FP32) && !row.endsWith("(peer)")
                    && !CalibrationMistake.isMistake(row)) {
                (change <= PPPL_GOAL_PERCENT ? hold : miss).add(String.format(Locale.ROOT,
                        "%s (%+.2f%%)", row, change));
            }
        });
        return String.format(Locale.ROOT, "Goal, pseudo-perplexity at most %+.0f%% above FP32:"
                        + " holds for %s; missed by %s.%n", PPPL_GOAL_PERCENT,
                hold.isEmpty() ? "none" : String.join(", ", hold),
                miss.isEmpty() ? "none" : String.join(", ", miss));
    }

    private static void check(Map<String, SentimentProbe.Row> rows, Map<String, Double> pppl) {
        double fp32All = rows.get(SentimentProbe.FP32).all();
        assertTrue(fp32All >= 0.8, "the FP32 probe itself is weak: " + fp32All);
        for (Map.Entry<String, SentimentProbe.Row> row : rows.entrySet()) {
            if (CalibrationMistake.isMistake(row.getKey())) {
                continue; // CalibrationMistake.check, below
            }
            // Both static rows (per tensor, and with the per-token fallback) take the static
            // guards: BERT-base's static path is new; its exact figures go to the report.
            boolean statik = row.getKey().contains("INT8 static");
            double delta = 100 * Math.abs(row.getValue().all() - fp32All);
            assertTrue(delta <= (statik ? STATIC_PROBE_GUARD_POINTS : PROBE_GUARD_POINTS),
                    row.getKey() + ": " + delta + " points");
            double change = 100 * (pppl.get(row.getKey()) / pppl.get(SentimentProbe.FP32) - 1);
            assertTrue(Math.abs(change) <= (statik ? STATIC_PPPL_GUARD_PERCENT
                    : PPPL_GUARD_PERCENT), row.getKey() + ": pseudo-perplexity moved by " + change
                    + "%");
        }
        CalibrationMistake.check(rows, STATIC);
    }

    /** Loads one variant, scores it on the probe and measures its pseudo-perplexity. */
    @FunctionalInterface
    private interface Variant {
        void run(String row, Criteria.Builder<NDList, NDList> criteria,
                Map<String, String> options, List<long[]> calibration) throws Exception;
    }

    /** The pseudo-perplexity row of the int8 artifact on ONNX Runtime at an optimization level. */
    private static String ortRow(String level) {
        return "int8 artifact on ONNX Runtime, optLevel " + level + " (peer)";
    }

    private static Criteria.Builder<NDList, NDList> zoo(String precision, String engine) {
        return Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optGroupId(Int8ModelZoo.GROUP_ID)
                .optArtifactId(ENTRY)
                .optFilter("precision", precision)
                .optEngine(engine);
    }

    private static int indexOf(long[] ids, long id) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == id) {
                return i;
            }
        }
        throw new IllegalStateException("no [MASK] in " + java.util.Arrays.toString(ids));
    }
}
