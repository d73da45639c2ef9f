package org.quantint8.zoo.nlp;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertNotEquals;
import static org.testng.Assert.assertThrows;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;

import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.zoo.architectures.Gpt2;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Generation and perplexity on a tiny random GPT-2 through our engine (FP32 and dynamic INT8) and
 * ONNX Runtime: the cache changes no token, top-1 sampling is greedy search, seeds reproduce, and
 * perplexity equals a direct computation from full forward passes.
 */
public class Gpt2LanguageModelTest {

    private static final int LAYERS = 2;
    private static final int HEADS = 4;
    private static final int HIDDEN = 32;
    private static final int VOCAB = 61;
    private static final int CONTEXT = 16;
    private static final long[] PROMPT = {5, 17, 3, 42};

    private Path folder;
    private ZooModel<NDList, NDList> fp32;
    private ZooModel<NDList, NDList> onnxRuntime;

    @BeforeClass
    public void load() throws Exception {
        folder = ModelFolders.write(Gpt2.builder().optNumLayers(LAYERS).optNumHeads(HEADS)
                .optHiddenSize(HIDDEN).optVocabSize(VOCAB).optContextLength(CONTEXT).optSeed(7)
                .build());
        fp32 = load(ModelFolders.QUANT_INT8, false);
        onnxRuntime = load(ModelFolders.ONNX_RUNTIME, false);
    }

    @AfterClass
    public void close() {
        fp32.close();
        onnxRuntime.close();
    }

    @Test
    public void cacheGivesTheTokensOfFullRecomputation() throws Exception {
        GenerationConfig.Builder greedy = GenerationConfig.builder().optMaxNewTokens(10)
                .optEndOfText(-1);
        try (Gpt2LanguageModel lm = languageModel(fp32, 0);
                Gpt2LanguageModel reference = languageModel(onnxRuntime, 0)) {
            long[] cached = lm.generate(PROMPT, greedy.build());
            assertEquals(cached.length, 10);
            assertEquals(lm.generate(PROMPT, greedy.optKeyValueCache(false).build()), cached);
            assertEquals(reference.generate(PROMPT, greedy.build()), cached);
        }
    }

    @Test
    public void int8GeneratesValidTokens() throws Exception {
        try (ZooModel<NDList, NDList> int8 = load(ModelFolders.QUANT_INT8, true);
                Gpt2LanguageModel lm = languageModel(int8, 0)) {
            long[] tokens = lm.generate(PROMPT,
                    GenerationConfig.builder().optMaxNewTokens(6).optEndOfText(-1).build());
            assertEquals(tokens.length, 6);
            for (long token : tokens) {
                assertTrue(token >= 0 && token < VOCAB, "token " + token);
            }
        }
    }

    @Test
    public void samplingTopOneIsGreedyAndSeedsReproduce() throws Exception {
        try (Gpt2LanguageModel lm = languageModel(fp32, 0)) {
            GenerationConfig.Builder config = GenerationConfig.builder().optMaxNewTokens(8)
                    .optEndOfText(-1);
            long[] greedy = lm.generate(PROMPT, config.build());
            assertEquals(lm.generate(PROMPT, config.optTopK(1).optSeed(3).build()), greedy);

            config.optTopK(VOCAB).optTemperature(2f);
            long[] sampled = lm.generate(PROMPT, config.optSeed(11).build());
            assertEquals(lm.generate(PROMPT, config.optSeed(11).build()), sampled);
            Set<List<Long>> outcomes = new HashSet<>();
            for (long seed = 0; seed < 5; seed++) {
                outcomes.add(boxed(lm.generate(PROMPT, config.optSeed(seed).build())));
            }
            assertTrue(outcomes.size() > 1, "five seeds gave one sequence");
        }
    }

    @Test
    public void stopsAtEndOfTextAndContextLength() throws Exception {
        try (Gpt2LanguageModel lm = languageModel(fp32, 0)) {
            GenerationConfig.Builder config = GenerationConfig.builder().optMaxNewTokens(10)
                    .optEndOfText(-1);
            long[] tokens = lm.generate(PROMPT, config.build());
            long[] stopped = lm.generate(PROMPT, config.optEndOfText(tokens[3]).build());
            int first = 0;
            while (tokens[first] != tokens[3]) {
                first++;
            }
            assertEquals(stopped.length, first);

            long[] longPrompt = new long[CONTEXT - 3];
            assertEquals(lm.generate(longPrompt, config.optEndOfText(-1).build()).length, 3);
        }
    }

    @Test
    public void perplexityEqualsDirectComputation() throws Exception {
        long[] tokens = randomTokens(12, 1);
        try (Gpt2LanguageModel lm = languageModel(fp32, 0)) {
            assertEquals(lm.perplexity(tokens), Math.exp(directMeanNll(tokens)), 1e-4);
        }
    }

    @Test
    public void perplexitySlidesOverTheContext() throws Exception {
        long[] tokens = randomTokens(40, 2);
        int stride = 5;
        double sum = 0;
        for (int t = 1; t < tokens.length; t++) {
            // The window scoring token t ends at CONTEXT + k * stride, the first end beyond t.
            int end = t < CONTEXT ? CONTEXT
                    : CONTEXT + (int) Math.ceil((t + 1.0 - CONTEXT) / stride) * stride;
            int begin = Math.max(0, Math.min(end, tokens.length) - CONTEXT);
            sum += nll(Arrays.copyOfRange(tokens, begin, t + 1));
        }
        try (Gpt2LanguageModel lm = languageModel(onnxRuntime, stride)) {
            assertEquals(lm.perplexity(tokens), Math.exp(sum / (tokens.length - 1)), 1e-4);
        }
    }

    @Test
    public void rejectsBadInput() throws Exception {
        assertThrows(IllegalArgumentException.class,
                () -> GenerationConfig.builder().optTopK(0));
        assertThrows(IllegalArgumentException.class,
                () -> GenerationConfig.builder().optTemperature(0f));
        assertThrows(IllegalArgumentException.class,
                () -> GenerationConfig.builder().optMaxNewTokens(-1));
        assertThrows(IllegalArgumentException.class, () -> Gpt2LanguageModel.builder()
                .setModel(fp32).setCacheShape(LAYERS, HEADS, HIDDEN / HEADS)
                .optContextLength(CONTEXT).optStride(CONTEXT).build());
        try (Gpt2LanguageModel lm = languageModel(fp32, 0)) {
            GenerationConfig config = GenerationConfig.builder().build();
            assertThrows(IllegalArgumentException.class, () -> lm.generate(new long[0], config));
            assertThrows(IllegalArgumentException.class,
                    () -> lm.generate(new long[CONTEXT + 1], config));
            assertThrows(IllegalArgumentException.class, () -> lm.perplexity(new long[] {3}));
            assertThrows(IllegalArgumentException.class, () -> lm.perplexity(""));
        }
    }

    /** The mean NLL of tokens 1.. given the ones before, from one forward pass, in double. */
    private double directMeanNll(long[] tokens) throws Exception {
        float[] logits = logits(tokens);
        double sum = 0;
        for (int t = 1; t < tokens.length; t++) {
            sum += nllOfRow(logits, t - 1, (int) tokens[t]);
        }
        return sum / (tokens.length - 1);
    }

    /** The NLL of the last token given the ones before it, from one forward pass. */
    private double nll(long[] tokens) throws Exception {
        return nllOfRow(logits(tokens), tokens.length - 2, (int) tokens[tokens.length - 1]);
    }

    private static double nllOfRow(float[] logits, int row, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < VOCAB; v++) {
            max = Math.max(max, logits[row * VOCAB + v]);
        }
        double sum = 0;
        for (int v = 0; v < VOCAB; v++) {
            sum += Math.exp(logits[row * VOCAB + v] - max);
        }
        return max + Math.log(sum) - logits[row * VOCAB + target];
    }

    /** All positions' logits of one ONNX Runtime pass with an empty cache, named inputs. */
    private float[] logits(long[] tokens) throws Exception {
        try (NDManager manager = onnxRuntime.getNDManager().newSubManager();
                Predictor<NDList, NDList> predictor = onnxRuntime.newPredictor()) {
            NDList inputs = new NDList(manager.create(tokens, new Shape(1, tokens.length)));
            inputs.get(0).setName(Gpt2.INPUT_IDS);
            for (int layer = 0; layer < LAYERS; layer++) {
                for (boolean key : new boolean[] {true, false}) {
                    inputs.add(manager.create(new float[0],
                            new Shape(1, HEADS, 0, HIDDEN / HEADS)));
                    inputs.get(inputs.size() - 1).setName(Gpt2.pastName(layer, key));
                }
            }
            return predictor.predict(inputs).get(Gpt2.LOGITS).toFloatArray();
        }
    }

    private static long[] randomTokens(int count, long seed) {
        return new Random(seed).longs(count, 0, VOCAB).toArray();
    }

    private static List<Long> boxed(long[] values) {
        return Arrays.stream(values).boxed().toList();
    }

    @Test
    public void nanLogitsStopGenerationByName() throws Exception {
        // A NaN final layer-norm bias makes every logit NaN; ONNX Runtime passes it through.
        OnnxModel model = Gpt2.builder().optNumLayers(LAYERS).optNumHeads(HEADS)
                .optHiddenSize(HIDDEN).optVocabSize(VOCAB).optContextLength(CONTEXT).optSeed(7)
                .build();
        OnnxGraph graph = model.getGraph();
        float[] nan = new float[HIDDEN];
        Arrays.fill(nan, Float.NaN);
        OnnxGraph.Builder broken = graph
                .toBuilderWithoutNodes(t -> !t.getName().equals("ln_f.bias"))
                .addInitializer(OnnxTensor.of("ln_f.bias", nan, HIDDEN));
        graph.getNodes().forEach(broken::addNode);
        Path brokenFolder = ModelFolders.write(model.toBuilder(broken.build()).build());
        try (ZooModel<NDList, NDList> ort = ModelFolders.load(brokenFolder,
                        ModelFolders.ONNX_RUNTIME, false, NDList.class, NDList.class,
                        new NoopTranslator());
                Gpt2LanguageModel lm = languageModel(ort, 0)) {
            GenerationConfig config = GenerationConfig.builder().optMaxNewTokens(2).build();
            IllegalStateException e = expectThrows(IllegalStateException.class,
                    () -> lm.generate(PROMPT, config));
            assertTrue(e.getMessage().contains("logits hold NaN (token 0 of " + VOCAB
                    + " at position " + (PROMPT.length - 1) + ")"), e.getMessage());
        }
    }

    private Gpt2LanguageModel languageModel(ZooModel<NDList, NDList> model, int stride) {
        Gpt2LanguageModel.Builder builder = Gpt2LanguageModel.builder().setModel(model)
                .setCacheShape(LAYERS, HEADS, HIDDEN / HEADS).optContextLength(CONTEXT);
        if (stride > 0) {
            builder.optStride(stride);
        }
        return builder.build();
    }

    private ZooModel<NDList, NDList> load(String engine, boolean int8) throws Exception {
        return ModelFolders.load(folder, engine, int8, NDList.class, NDList.class,
                new NoopTranslator());
    }
}
