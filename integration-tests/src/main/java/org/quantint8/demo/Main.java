package org.quantint8.demo;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.engine.QuantInt8Model;
import org.quantint8.kernels.Int8Kernels;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The README's main job: the real all-MiniLM-L6-v2 (a Maven artifact) in FP32 on ONNX Runtime,
 * quantized to INT8 at load time by QuantInt8 ({@code optEngine("QuantInt8")}), and ONNX Runtime's
 * own INT8 twin of the same weights, side by side: file size, latency per sentence (one thread
 * each) and the cosine of mean-pooled sentence embeddings to FP32.
 */
public final class Main {

    private static final String MODEL = "all-minilm-l6-v2";
    private static final String TWIN = "all-minilm-l6-v2-q";
    /**
     * Rounds over the sentences before the measured one: the JIT needs about 500 calls of the
     * engine's Java code before its latency settles (measured on 12 tokens: 5.7 ms a call over
     * the first 50 calls, 2.0 after 450, 1.9 after 950), which ONNX Runtime, native code, does
     * not.
     */
    private static final int WARMUP = 32;

    /** An embedded default input: short and long sentences of everyday English. */
    private static final List<String> SENTENCES = List.of(
            "The battery lasts all day and charges quickly.",
            "I would not buy this phone again.",
            "The staff were friendly, but the food arrived cold and the wait was far too long.",
            "Great value for the price.",
            "After two weeks the screen started flickering, and support never answered my emails.",
            "The film's second half drags, yet the ending makes up for it.",
            "Delivery was fast.",
            "It is the most comfortable pair of headphones I have owned, even on long flights.",
            "The instructions were confusing and two screws were missing from the box.",
            "We will definitely come back to this restaurant next summer.",
            "Sound quality is clear at low volume but distorts when turned up.",
            "A thoughtful, quiet story about a family that slowly learns to listen to each other.",
            "Terrible customer service.",
            "The camera takes sharp photos in daylight and surprisingly good ones at night.",
            "Nothing about this hotel matched the pictures on the website.",
            "The keyboard feels solid and every key responds without a sound.");

    private Main() {}

    /**
     * Runs the job.
     *
     * @param args unused
     * @throws Exception if a model cannot be loaded or run
     */
    public static void main(String[] args) throws Exception {
        // One thread for every engine: the comparison is per core, and fair.
        System.setProperty("ai.djl.pytorch.num_threads", "1");
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        System.setProperty("quantint8.num_threads", "1");
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "quantint8-main");
        Path fp32Dir = ModelResources.extract(MODEL, work);
        Path twinDir = ModelResources.extract(TWIN, work);
        Path tokenizerFile = fp32Dir.resolve(MODEL + "-tokenizer.json");
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile);
                EmbeddingRunner fp32 = new EmbeddingRunner(fp32Dir.resolve(MODEL + ".onnx"),
                        tokenizerFile);
                EmbeddingRunner twin = new EmbeddingRunner(twinDir.resolve(TWIN + ".onnx"),
                        tokenizerFile);
                ZooModel<NDList, NDList> quantInt8 = Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optEngine("QuantInt8")
                        .optModelPath(fp32Dir)
                        .optOption("quantizationCacheDir", work.resolve("cache").toString())
                        .build()
                        .loadModel();
                Predictor<NDList, NDList> predictor = quantInt8.newPredictor()) {
            Path exported = work.resolve("quantint8-int8.onnx");
            ((QuantInt8Model) quantInt8.getWrappedModel()).export(exported);
            Run reference = new Run();
            Run ours = new Run();
            Run theirs = new Run();
            for (int round = 0; round < WARMUP + 1; round++) {
                boolean measured = round == WARMUP;
                for (String sentence : SENTENCES) {
                    Encoding e = tokenizer.encode(sentence);
                    float[] r = reference.time(round, () -> fp32.embed(e));
                    float[] q = ours.time(round, () -> quantInt8(quantInt8, predictor, e));
                    float[] t = theirs.time(round, () -> twin.embed(e));
                    if (measured) {
                        ours.cosine += EmbeddingRunner.cosine(r, q);
                        theirs.cosine += EmbeddingRunner.cosine(r, t);
                    }
                }
            }
            print(fp32Dir, twinDir, exported, reference, ours, theirs);
        }
    }

    private static void print(Path fp32Dir, Path twinDir, Path exported, Run reference, Run ours,
            Run theirs) throws Exception {
        int n = SENTENCES.size();
        System.out.println("all-MiniLM-L6-v2, " + n + " sentences, batch 1, one thread per engine;"
                + " QuantInt8 INT8 kernels: " + Int8Kernels.best().name());
        System.out.printf(Locale.ROOT, "%-30s %13s %14s %14s %14s%n", "", "size (bytes)",
                "ms/sent. warm", "first round", "cosine to FP32");
        row("FP32, ONNX Runtime 1.21.1", Files.size(fp32Dir.resolve(MODEL + ".onnx")), reference,
                "1");
        row("INT8, QuantInt8 (load time)", Files.size(exported), ours,
                String.format(Locale.ROOT, "%.5f", ours.cosine / n));
        row("INT8 twin, ONNX Runtime", Files.size(twinDir.resolve(TWIN + ".onnx")), theirs,
                String.format(Locale.ROOT, "%.5f", theirs.cosine / n));
        System.out.println("ms/sent.: medians of round " + (WARMUP + 1) + " (after " + WARMUP
                + " rounds of warm-up) and of the first round after loading, the JIT still cold.");
    }

    private static void row(String name, long size, Run run, String cosine) {
        System.out.printf(Locale.ROOT, "%-30s %,13d %14.2f %14.2f %14s%n", name, size,
                run.warm.median(), run.first.median(), cosine);
    }

    private static float[] quantInt8(ZooModel<NDList, NDList> model,
            Predictor<NDList, NDList> predictor, Encoding e) throws Exception {
        try (NDManager manager = model.getNDManager().newSubManager()) {
            NDArray hidden = predictor.predict(BertInputs.of(manager, e)).get(0);
            return hidden.mean(new int[] {1}).toFloatArray();
        }
    }

    /** Latencies of the first and the measured round, and the summed cosine of one engine. */
    private static final class Run {
        private final Round first = new Round();
        private final Round warm = new Round();
        private double cosine;

        float[] time(int round, Embedder embedder) throws Exception {
            long start = System.nanoTime();
            float[] out = embedder.embed();
            double millis = (System.nanoTime() - start) / 1e6;
            if (round == 0) {
                first.add(millis);
            } else if (round == WARMUP) {
                warm.add(millis);
            }
            return out;
        }
    }

    /** The latencies of one round over the sentences. */
    private static final class Round {
        private final double[] millis = new double[SENTENCES.size()];
        private int count;

        void add(double value) {
            millis[count++] = value;
        }

        double median() {
            double[] sorted = Arrays.copyOf(millis, count);
            Arrays.sort(sorted);
            return sorted[sorted.length / 2];
        }
    }

    @FunctionalInterface
    private interface Embedder {
        float[] embed() throws Exception;
    }
}
