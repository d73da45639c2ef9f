package org.quantint8.it.accuracy;

import static org.testng.Assert.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.zoo.nlp.Gpt2LanguageModel;
import org.quantint8.zoo.nlp.Gpt2Tokenizer;
import org.testng.annotations.Test;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * What INT8 costs on a causal language model (issue 8, items 3 and 4, GPT-2 part): a small GPT-2
 * with the real GPT-2 BPE cut to a {@link CompactVocabulary} of the training years' most frequent
 * tokens, trained by the project on the State of the Union addresses up to
 * {@value #TRAIN_TO}, handed to the zoo's ONNX GPT-2 builder, then scored by perplexity on the
 * addresses from {@value #HELD_OUT_FROM} on, in FP32 (ONNX Runtime, QuantInt8) and in every INT8
 * variant on QuantInt8. The calibration mistake is made visible: the same static quantization
 * calibrated on random token ids and on a single window, next to representative text (addresses
 * of {@value #CALIBRATION_FROM} to {@value #CALIBRATION_TO}, neither trained on nor scored).
 */
public class Gpt2PerplexityAccuracyTest {

    // 4 blocks of hidden 128 over the 8,192 most frequent GPT-2 tokens plus a rare-token id: with
    // the full 50,257-token vocabulary the tied head cost most of each step, so the compact one
    // buys more steps in the same minutes on 2 cores. Cached in target/trained.
    private static final SmallGpt2Trainer.Config CONFIG =
            new SmallGpt2Trainer.Config(4, 128, 4, 128, 8192, 300, 16, 3e-3f, 42);
    private static final Gpt2Inputs INPUTS = new Gpt2Inputs(CONFIG.numLayers(),
            CONFIG.numHeads(), CONFIG.hidden() / CONFIG.numHeads());
    private static final int TRAIN_FROM = 1790;
    private static final int TRAIN_TO = 1999;
    private static final int CALIBRATION_FROM = 2000;
    private static final int CALIBRATION_TO = 2016;
    private static final int HELD_OUT_FROM = 2017;
    private static final int HELD_OUT_TO = 2021;
    /** Held-out tokens scored per variant (the first ones of the held-out addresses). */
    private static final int EVAL_TOKENS = 8192;
    /** Perplexity windows end 64 tokens apart: each token is scored with at least 64 before. */
    private static final int STRIDE = 64;
    private static final int CALIBRATION_WINDOWS = 16;
    /** Guards only: the exact figures go to docs/accuracy.md; the goal there is +1.5%. */
    private static final double GUARD_BEST_PERCENT = 5;
    private static final double GUARD_FP32_PERCENT = 0.1;
    private static final String FP32_ORT = "FP32, ONNX Runtime";
    private static final String REPRESENTATIVE = "INT8 static, MSE, per-channel weights";
    private static final String NAIVE = "INT8 static W8A8 min-max, per-tensor weights (naive)";

    /**
     * One variant's result.
     *
     * @param perplexity the held-out perplexity
     * @param prepareSeconds loading, calibration and quantization
     * @param evalSeconds scoring the held-out tokens
     */
    private record Row(double perplexity, double prepareSeconds, double evalSeconds) {}

    /**
     * The token streams, as compact ids.
     *
     * @param addresses the number of training addresses
     * @param train the training tokens
     * @param heldOut the tokens of the held-out addresses
     * @param eval the scored tokens: the first of the held-out ones
     * @param calibration the tokens of the calibration addresses
     * @param heldOutCoverage the share of held-out GPT-2 tokens the compact vocabulary keeps
     * @param evalCoverage the same share over the scored tokens
     */
    private record Streams(int addresses, long[] train, long[] heldOut, long[] eval,
            long[] calibration, double heldOutCoverage, double evalCoverage) {}

    /**
     * What training did, for the report.
     *
     * @param cached whether the parameters came from the cache
     * @param seconds how long training took
     * @param cpuSeconds the CPU time training took; NaN when cached
     * @param finalLoss the mean loss of the last 5% of steps; NaN when cached
     */
    private record Training(boolean cached, double seconds, double cpuSeconds, float finalLoss) {}

    /** One INT8 variant: its options and calibration windows (none for dynamic modes). */
    private record Variant(String name, Map<String, String> options, List<long[]> calibration) {}

    @Test(timeOut = 3_600_000)
    public void smallGpt2OnStateOfTheUnion() throws Exception {
        long start = System.nanoTime();
        double cpuStart = cpuSeconds();
        Streams streams = streams(SotuCorpus.load());
        long[] eval = streams.eval();
        Path work = Paths.get(System.getProperty("user.dir"), "target", "trained");
        Path onnx = work.resolve(CONFIG.key()).resolve("model.onnx");
        float[] djlLogits;
        Training training;
        try (SmallGpt2Trainer trainer = new SmallGpt2Trainer(CONFIG)) {
            double cpuBefore = cpuSeconds();
            trainer.trainOrLoad(work, streams.train());
            boolean cached = trainer.outcome().fromCache();
            training = new Training(cached, trainer.outcome().trainingSeconds(),
                    cached ? Double.NaN : cpuSeconds() - cpuBefore, trainer.finalLoss());
            djlLogits = trainer.logits(Arrays.copyOf(eval, CONFIG.context()));
            Files.createDirectories(onnx.getParent());
            OnnxModelWriter.builder().build().write(
                    CONFIG.onnxBuilder().optWeights(trainer.onnxWeights()).build(), onnx);
        }
        double exportDifference = maxAbsDifference(djlLogits,
                INPUTS.onnxRuntimeLogits(onnx, Arrays.copyOf(eval, CONFIG.context())));

        Map<String, Row> rows = new LinkedHashMap<>();
        rows.put(FP32_ORT, perplexity(onnx, "OnnxRuntime", Map.of(), List.of(), eval));
        rows.put("FP32, QuantInt8 (quantization=fp32)",
                quantInt8(onnx, new Variant("", Map.of("quantization", "fp32"), List.of()), eval));
        for (Variant variant : variants(windows(streams.calibration()), randomWindows())) {
            rows.put(variant.name(), quantInt8(onnx, variant, eval));
        }
        double unigram = unigramPerplexity(streams.train(), eval);
        double[] total = {(System.nanoTime() - start) / 1e9, cpuSeconds() - cpuStart};
        String report = report(rows, streams, training, unigram, exportDifference, total);
        System.out.println(report);
        AccuracyReport.publish("gpt2-sotu", "Causal language model: a small GPT-2 on the State of"
                + " the Union", report);
        check(rows, unigram, exportDifference);
    }

    /**
     * Tokenizes the three year ranges with GPT-2's BPE and maps them to the compact vocabulary of
     * the training years.
     */
    private static Streams streams(SotuCorpus corpus) {
        List<SotuCorpus.Address> trainAddresses = corpus.between(TRAIN_FROM, TRAIN_TO);
        long[] train = SotuCorpus.tokens(trainAddresses);
        long[] heldOut = SotuCorpus.tokens(corpus.between(HELD_OUT_FROM, HELD_OUT_TO));
        if (heldOut.length < EVAL_TOKENS) {
            throw new IllegalStateException("the held-out addresses have " + heldOut.length
                    + " tokens, fewer than the " + EVAL_TOKENS + " scored");
        }
        long[] eval = Arrays.copyOf(heldOut, EVAL_TOKENS);
        long[] calibration = SotuCorpus.tokens(corpus.between(CALIBRATION_FROM, CALIBRATION_TO));
        CompactVocabulary vocabulary = CompactVocabulary.mostFrequent(train, CONFIG.keptTokens(),
                Gpt2Tokenizer.VOCAB_SIZE);
        return new Streams(trainAddresses.size(), vocabulary.map(train),
                vocabulary.map(heldOut), vocabulary.map(eval), vocabulary.map(calibration),
                vocabulary.coverage(heldOut), vocabulary.coverage(eval));
    }

    private static List<Variant> variants(List<long[]> representative, List<long[]> random) {
        Map<String, String> mse = Map.of("quantization", "static", "activationObserver", "mse");
        return List.of(
                new Variant("INT8 dynamic, per-tensor activations",
                        Map.of("quantization", "dynamic"), List.of()),
                new Variant("INT8 dynamic, per-token activations",
                        Map.of("quantization", "dynamic", "activationGranularity", "token"),
                        List.of()),
                new Variant("INT8 weight-only", Map.of("quantization", "weightonly"), List.of()),
                new Variant(NAIVE, Map.of("quantization", "static", "activationObserver",
                        "minmax", "weightGranularity", "tensor"), representative),
                new Variant(REPRESENTATIVE, mse, representative),
                new Variant("INT8 static, MSE, SmoothQuant alpha 0.5", with(mse, "smoothQuant",
                        "0.5"), representative),
                new Variant("INT8 static, MSE, mixed precision (minSqnrDb 30)", with(mse,
                        "minSqnrDb", "30"), representative),
                new Variant("INT8 static, MSE, calibrated on random token ids (mistake)", mse,
                        random),
                new Variant("INT8 static, MSE, calibrated on a single window (mistake)", mse,
                        representative.subList(0, 1)));
    }

    private static void check(Map<String, Row> rows, double unigram, double exportDifference) {
        double fp32 = rows.get(FP32_ORT).perplexity();
        // 300 steps leave the model far from converged (measured: 0.64 of the unigram perplexity
        // on the held-out years); the margin covers another seed or machine, not a model that
        // learned only token frequencies.
        assertTrue(fp32 < 0.75 * unigram, "the trained model (perplexity " + fp32 + ") is not"
                + " clearly better than the unigram baseline " + unigram);
        assertTrue(exportDifference < 1e-2, "DJL and its ONNX export differ by "
                + exportDifference + " in a logit");
        double quantInt8Fp32 = delta(rows.get("FP32, QuantInt8 (quantization=fp32)"), fp32);
        assertTrue(Math.abs(quantInt8Fp32) < GUARD_FP32_PERCENT,
                "QuantInt8 FP32 differs from ONNX Runtime by " + quantInt8Fp32 + "%");
        double best = rows.entrySet().stream().filter(e -> e.getKey().startsWith("INT8")
                && !e.getKey().contains("mistake")).mapToDouble(e -> delta(e.getValue(), fp32))
                .min().orElseThrow();
        assertTrue(best < GUARD_BEST_PERCENT, "the best INT8 variant costs " + best + "%");
        double weightOnly = delta(rows.get("INT8 weight-only"), fp32);
        assertTrue(Math.abs(weightOnly) < GUARD_BEST_PERCENT,
                "weight-only INT8 costs " + weightOnly + "%");
        // The mistakes are reported as measured; what is robust is only that the wrong data does
        // not beat representative text beyond noise.
        double representative = delta(rows.get(REPRESENTATIVE), fp32);
        rows.forEach((name, row) -> {
            if (name.contains("mistake")) {
                assertTrue(delta(row, fp32) > representative - 1.0,
                        name + " beats representative calibration: " + delta(row, fp32) + "%");
            }
        });
    }

    private static Row quantInt8(Path onnx, Variant variant, long[] eval) throws Exception {
        return perplexity(onnx, "QuantInt8", CalibratedModels.uncached(variant.options()),
                variant.calibration(), eval);
    }

    private static Row perplexity(Path onnx, String engine, Map<String, String> options,
            List<long[]> calibration, long[] eval) throws Exception {
        long start = System.nanoTime();
        try (ZooModel<NDList, NDList> model = CalibratedModels.load(onnx, engine, options,
                calibration, INPUTS::of)) {
            double prepared = (System.nanoTime() - start) / 1e9;
            try (Gpt2LanguageModel lm = Gpt2LanguageModel.builder().setModel(model)
                    .setCacheShape(CONFIG.numLayers(), CONFIG.numHeads(),
                            CONFIG.hidden() / CONFIG.numHeads())
                    .optContextLength(CONFIG.context()).optStride(STRIDE).build()) {
                double perplexity = lm.perplexity(eval);
                return new Row(perplexity, prepared, (System.nanoTime() - start) / 1e9 - prepared);
            }
        }
    }

    /** Calibration windows: consecutive context-length slices of the calibration addresses. */
    private static List<long[]> windows(long[] text) {
        List<long[]> windows = new ArrayList<>();
        for (int i = 0; i < CALIBRATION_WINDOWS; i++) {
            int from = i * CONFIG.context();
            windows.add(Arrays.copyOfRange(text, from, from + CONFIG.context()));
        }
        return windows;
    }

    /** Uniform random token ids: what "any input" looks like to a language model. */
    private static List<long[]> randomWindows() {
        Random random = new Random(7);
        List<long[]> windows = new ArrayList<>();
        for (int i = 0; i < CALIBRATION_WINDOWS; i++) {
            long[] ids = new long[CONFIG.context()];
            for (int t = 0; t < ids.length; t++) {
                ids[t] = random.nextInt(CONFIG.vocabSize());
            }
            windows.add(ids);
        }
        return windows;
    }

    private static Map<String, String> with(Map<String, String> options, String key,
            String value) {
        Map<String, String> all = new LinkedHashMap<>(options);
        all.put(key, value);
        return all;
    }

    /**
     * The perplexity of a unigram model of the training tokens (add-one smoothing over the
     * compact vocabulary) on the tokens the language model scores: all but the first.
     */
    private static double unigramPerplexity(long[] train, long[] eval) {
        long[] counts = new long[CONFIG.vocabSize()];
        for (long id : train) {
            counts[(int) id]++;
        }
        double total = train.length + (double) CONFIG.vocabSize();
        double negativeLogLikelihood = 0;
        for (int i = 1; i < eval.length; i++) {
            negativeLogLikelihood -= Math.log((counts[(int) eval[i]] + 1) / total);
        }
        return Math.exp(negativeLogLikelihood / (eval.length - 1));
    }

    /** This JVM's CPU time, native threads (PyTorch, ONNX Runtime, kernels) included. */
    private static double cpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }

    private static double delta(Row row, double reference) {
        return 100 * (row.perplexity() / reference - 1);
    }

    private static double maxAbsDifference(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("logits of " + a.length + " and " + b.length
                    + " values");
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    private static String report(Map<String, Row> rows, Streams streams, Training training,
            double unigram, double exportDifference, double[] total) {
        double fp32 = rows.get(FP32_ORT).perplexity();
        StringBuilder text = new StringBuilder(String.format(Locale.ROOT,
                "The zoo's `Gpt2` graph with %d blocks, hidden %d, %d heads, context %d and a"
                        + " compact vocabulary of %,d ids (head tied to the token embedding): the"
                        + " text is tokenized with GPT-2's real BPE (`r50k_base`), then the"
                        + " %,d token ids most frequent in the training years keep an id each"
                        + " and all others map to one rare-token id. It keeps %.2f%% of the"
                        + " held-out tokens (%.2f%% of the scored ones); perplexities below are"
                        + " over these mapped ids, for every variant alike. Trained with DJL 0.36"
                        + " on the PyTorch engine from seed %d on the %d addresses of %d-%d"
                        + " (%,d tokens, each address followed by `<|endoftext|>`): %d Adam"
                        + " steps of %d random windows (%,d tokens seen), peak learning rate %s"
                        + " after a 5%% linear warm-up, cosine decay to 1%%. Training took %s%s."
                        + " Scored on the first %,d tokens of the %,d held-out tokens (%d-%d),"
                        + " windows of %d tokens ending %d apart (each token scored once, with"
                        + " at least %d tokens of context). Calibration: %d windows of %d tokens"
                        + " from the %d-%d addresses, neither trained on nor scored; the"
                        + " mistakes: %d windows of uniform random token ids, and the first"
                        + " calibration window alone. Unigram baseline (training-token"
                        + " frequencies, add-one smoothing) on the same tokens: perplexity %.1f;"
                        + " the trained model's FP32 perplexity is %.2f of it. Deltas against"
                        + " ONNX Runtime FP32; prepare = load + calibrate + quantize.%n%n"
                        + "| Variant | Perplexity | Delta | Prepare (s) | Eval (s) |%n"
                        + "|---|---:|---:|---:|---:|%n",
                CONFIG.numLayers(), CONFIG.hidden(), CONFIG.numHeads(), CONFIG.context(),
                CONFIG.vocabSize(), CONFIG.keptTokens(), 100 * streams.heldOutCoverage(),
                100 * streams.evalCoverage(), CONFIG.seed(), streams.addresses(), TRAIN_FROM,
                TRAIN_TO, streams.train().length, CONFIG.steps(), CONFIG.batchSize(),
                (long) CONFIG.steps() * CONFIG.batchSize() * CONFIG.context(),
                Float.toString(CONFIG.learningRate()), trainingTime(training),
                Float.isNaN(training.finalLoss()) ? "" : String.format(Locale.ROOT,
                        ", mean training loss over the last 5%% of steps %.3f nats",
                        training.finalLoss()),
                EVAL_TOKENS, streams.heldOut().length, HELD_OUT_FROM, HELD_OUT_TO,
                CONFIG.context(), STRIDE, CONFIG.context() - STRIDE, CALIBRATION_WINDOWS,
                CONFIG.context(), CALIBRATION_FROM, CALIBRATION_TO, CALIBRATION_WINDOWS,
                unigram, fp32 / unigram));
        rows.forEach((name, row) -> text.append(String.format(Locale.ROOT,
                "| %s | %.2f | %+.2f%% | %.1f | %.1f |%n", name, row.perplexity(),
                delta(row, fp32), row.prepareSeconds(), row.evalSeconds())));
        text.append(String.format(Locale.ROOT, "%nLargest logit difference between the DJL model"
                + " and its ONNX export on ONNX Runtime (one %d-token window, %,d logits):"
                + " %.2e. The whole test took %.0f s, %.0f s of CPU time (a busy machine"
                + " stretches the first, not the second).%n", CONFIG.context(),
                (long) CONFIG.context() * CONFIG.vocabSize(), exportDifference,
                total[0], total[1]));
        return text.toString();
    }

    private static String trainingTime(Training training) {
        return training.cached()
                ? String.format(Locale.ROOT, "%.0f s (measured when trained; this run loaded the"
                        + " cached parameters)", training.seconds())
                : String.format(Locale.ROOT, "%.0f s, %.0f s of CPU time", training.seconds(),
                        training.cpuSeconds());
    }
}
