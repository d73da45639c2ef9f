package org.quantint8.zoo.bert;

import static org.testng.Assert.assertEquals;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.zoo.architectures.Bert;
import org.quantint8.zoo.architectures.OrtRunner;
import org.quantint8.zoo.architectures.ParameterCount;
import org.quantint8.zoo.nlp.BertTokenizers;
import org.quantint8.zoo.weights.BertWeights;
import org.quantint8.zoo.weights.CheckpointTensor;
import org.quantint8.zoo.weights.EasyBertArchive;
import org.quantint8.zoo.weights.TensorBundleReader;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Google's BERT-base-uncased, imported from its TensorFlow checkpoint (every tensor's CRC-32C
 * verified) into the BERT builder with the masked-LM head and run by ONNX Runtime, fills in masked
 * words as BERT does.
 */
public class RealBertMaskedLmTest {

    private HuggingFaceTokenizer tokenizer;
    private OrtRunner runner;

    @BeforeClass(timeOut = 120_000)
    public void importAndBuild() throws Exception {
        long start = System.nanoTime();
        Path folder = EasyBertArchive.extract(buildFolder());
        double extractSeconds = seconds(start);

        start = System.nanoTime();
        Map<String, CheckpointTensor> tensors;
        try (TensorBundleReader bundle =
                TensorBundleReader.open(EasyBertArchive.variables(folder))) {
            tensors = bundle.readAll();
        }
        double importSeconds = seconds(start);
        assertEquals(tensors.size(), 204);

        start = System.nanoTime();
        OnnxModel model = Bert.builder().optMaskedLmHead(true)
                .optWeights(BertWeights.fromTensorFlow(tensors)).build();
        tensors = null;
        assertEquals(ParameterCount.of(model), 110_104_890L);
        byte[] bytes = OnnxModelWriter.builder().build().toByteArray(model);
        model = null;
        double buildSeconds = seconds(start);

        start = System.nanoTime();
        runner = new OrtRunner(bytes);
        double sessionSeconds = seconds(start);
        tokenizer = BertTokenizers.fromVocabulary(folder.resolve(EasyBertArchive.VOCAB), true);
        System.out.printf("BERT-base-uncased: files ready in %.1f s; 204 tensors imported with"
                        + " CRC-32C checks in %.1f s; ONNX model (%,d bytes) built in %.1f s;"
                        + " ONNX Runtime session created in %.1f s%n", extractSeconds,
                importSeconds, bytes.length, buildSeconds, sessionSeconds);
    }

    @AfterClass
    public void close() throws Exception {
        if (runner != null) {
            runner.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    @Test
    public void predictsParisAsTheCapitalOfFrance() throws Exception {
        assertEquals(topWords("the capital of france is [MASK].", 5).get(0), "paris");
    }

    @Test
    public void reportsTopWordsOfOtherSentences() throws Exception {
        for (String sentence : List.of("i went to the [MASK] to buy some milk.",
                "the man worked as a [MASK] in the hospital.",
                "she picked up the [MASK] and called her mother.")) {
            topWords(sentence, 5);
        }
    }

    /** Returns the most likely words for the first [MASK], printing them with the run time. */
    private List<String> topWords(String sentence, int count) throws Exception {
        Encoding encoding = tokenizer.encode(sentence);
        long[] ids = encoding.getIds();
        int mask = Arrays.asList(encoding.getTokens()).indexOf("[MASK]");
        long[] ones = new long[ids.length];
        Arrays.fill(ones, 1);
        long start = System.nanoTime();
        float[] logits;
        try (OrtRunner.Inputs inputs = runner.inputs()) {
            inputs.longs(Bert.INPUT_IDS, ids, 1, ids.length)
                    .longs(Bert.ATTENTION_MASK, ones, 1, ids.length)
                    .longs(Bert.TOKEN_TYPE_IDS, new long[ids.length], 1, ids.length);
            logits = runner.run(inputs).get(Bert.LOGITS).values();
        }
        double millis = (System.nanoTime() - start) / 1e6;
        int vocab = logits.length / ids.length;
        float[] row = Arrays.copyOfRange(logits, mask * vocab, (mask + 1) * vocab);
        List<Integer> best = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            int top = -1;
            for (int v = 0; v < vocab; v++) {
                if (!best.contains(v) && (top < 0 || row[v] > row[top])) {
                    top = v;
                }
            }
            best.add(top);
        }
        double max = row[best.get(0)];
        double sum = 0;
        for (float value : row) {
            sum += Math.exp(value - max);
        }
        final double total = sum;
        System.out.printf("%s -> %s (%d tokens, %.0f ms)%n", sentence, best.stream()
                .map(v -> String.format("%s %.3f", word(v),
                        Math.exp(row[v] - max) / total))
                .collect(Collectors.joining(", ")), ids.length, millis);
        return best.stream().map(this::word).toList();
    }

    private String word(int id) {
        return tokenizer.decode(new long[] {id});
    }

    /** The build folder (target/), where the checkpoint is extracted once. */
    static Path buildFolder() throws URISyntaxException {
        return Path.of(RealBertMaskedLmTest.class.getProtectionDomain().getCodeSource()
                .getLocation().toURI()).getParent();
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
