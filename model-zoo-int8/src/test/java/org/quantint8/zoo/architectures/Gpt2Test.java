package org.quantint8.zoo.architectures;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import org.quantint8.onnx.OnnxModel;
import org.quantint8.zoo.architectures.OrtRunner.Output;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/** A small GPT-2: the key/value cache reproduces full-sequence logits, and attention is causal. */
public class Gpt2Test {

    private static final int LAYERS = 2;
    private static final int HEADS = 4;
    private static final int HIDDEN = 32;
    private static final int VOCAB = 61;
    private static final long[] TOKENS = {5, 17, 3, 42, 8, 60, 0};

    private OrtRunner runner;

    @BeforeClass
    public void build() throws Exception {
        OnnxModel model = Gpt2.builder().optNumLayers(LAYERS).optNumHeads(HEADS)
                .optHiddenSize(HIDDEN).optVocabSize(VOCAB).optContextLength(16).optSeed(7)
                .build();
        runner = new OrtRunner(model);
    }

    @AfterClass
    public void close() throws Exception {
        runner.close();
    }

    @Test
    public void incrementalDecodingMatchesFullSequence() throws Exception {
        Map<String, Output> full = step(TOKENS, 2, emptyCache(2));
        assertEquals(full.get(Gpt2.LOGITS).shape(), new long[] {2, TOKENS.length, VOCAB});
        assertEquals(full.get(Gpt2.presentName(1, false)).shape(),
                new long[] {2, HEADS, TOKENS.length, HIDDEN / HEADS});

        int prompt = 4;
        Map<String, Output> cache = step(Arrays.copyOf(TOKENS, prompt), 2, emptyCache(2));
        assertClose(cache.get(Gpt2.LOGITS).values(), full.get(Gpt2.LOGITS).values(), 2, 0,
                prompt, 1e-5);
        for (int t = prompt; t < TOKENS.length; t++) {
            Map<String, Output> next = step(new long[] {TOKENS[t]}, 2, presentAsPast(cache));
            assertEquals(next.get(Gpt2.presentName(0, true)).shape()[2], t + 1);
            assertClose(next.get(Gpt2.LOGITS).values(), full.get(Gpt2.LOGITS).values(), 2, t,
                    1, 1e-4);
            cache = next;
        }
    }

    @Test
    public void positionsDoNotSeeLaterTokens() throws Exception {
        float[] original = step(TOKENS, 1, emptyCache(1)).get(Gpt2.LOGITS).values();
        for (int changed = 1; changed < TOKENS.length; changed++) {
            long[] tokens = TOKENS.clone();
            tokens[changed] = (tokens[changed] + 1) % VOCAB;
            float[] logits = step(tokens, 1, emptyCache(1)).get(Gpt2.LOGITS).values();
            int prefix = changed * VOCAB;
            assertEquals(Arrays.copyOf(logits, prefix), Arrays.copyOf(original, prefix),
                    "positions before " + changed + " must not depend on it");
            float difference = Math.abs(logits[prefix] - original[prefix]);
            assertTrue(difference > 0, "position " + changed + " must depend on its own token");
        }
    }

    /** Runs one step on {@code batch} copies of the tokens. */
    private Map<String, Output> step(long[] tokens, int batch, Map<String, Output> past)
            throws Exception {
        long[] ids = new long[batch * tokens.length];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(tokens, 0, ids, b * tokens.length, tokens.length);
        }
        try (OrtRunner.Inputs inputs = runner.inputs()) {
            inputs.longs(Gpt2.INPUT_IDS, ids, batch, tokens.length);
            for (Map.Entry<String, Output> entry : past.entrySet()) {
                inputs.floats(entry.getKey(), entry.getValue().values(), entry.getValue().shape());
            }
            return runner.run(inputs);
        }
    }

    private static Map<String, Output> emptyCache(int batch) {
        Map<String, Output> past = new HashMap<>();
        for (int i = 0; i < LAYERS; i++) {
            for (boolean key : new boolean[] {true, false}) {
                past.put(Gpt2.pastName(i, key),
                        new Output(new long[] {batch, HEADS, 0, HIDDEN / HEADS}, new float[0]));
            }
        }
        return past;
    }

    private static Map<String, Output> presentAsPast(Map<String, Output> outputs) {
        Map<String, Output> past = new HashMap<>();
        for (int i = 0; i < LAYERS; i++) {
            for (boolean key : new boolean[] {true, false}) {
                past.put(Gpt2.pastName(i, key), outputs.get(Gpt2.presentName(i, key)));
            }
        }
        return past;
    }

    /** Compares {@code count} positions of a step with positions {@code from...} of the full run. */
    private static void assertClose(float[] step, float[] full, int batch, int from, int count,
            double tolerance) {
        int fullLength = TOKENS.length;
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < count; t++) {
                for (int v = 0; v < VOCAB; v++) {
                    float actual = step[(b * count + t) * VOCAB + v];
                    float expected = full[(b * fullLength + from + t) * VOCAB + v];
                    assertEquals(actual, expected, tolerance,
                            "batch " + b + ", position " + (from + t) + ", token " + v);
                }
            }
        }
    }
}
