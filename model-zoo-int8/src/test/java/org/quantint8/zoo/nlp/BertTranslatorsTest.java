package org.quantint8.zoo.nlp;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertNotEquals;
import static org.testng.Assert.assertThrows;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxDimension;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.quantint8.zoo.architectures.Bert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The BERT translators on a tiny random BERT with a classification head, through our engine
 * (FP32 and dynamic INT8) and ONNX Runtime.
 */
public class BertTranslatorsTest {

    private static final int HIDDEN = 32;
    private static final int MAX_POSITIONS = 24;
    private static final List<String> LABELS = List.of("negative", "neutral", "positive");
    private static final List<String> TEXTS = List.of("the cat sat on the mat.",
            "a dog, the dogs", "cats sat", "zebra quartz");

    private Path folder;
    private HuggingFaceTokenizer tokenizer;

    @BeforeClass
    public void writeModel() throws Exception {
        OnnxModel bert = Bert.builder().optNumLayers(2).optHiddenSize(HIDDEN).optNumHeads(4)
                .optIntermediateSize(64).optVocabSize(vocabulary().size())
                .optMaxPositions(MAX_POSITIONS).optSeed(11).build();
        folder = ModelFolders.write(withClassifier(bert));
        Files.write(folder.resolve("vocab.txt"), vocabulary(), StandardCharsets.UTF_8);
        folder.resolve("vocab.txt").toFile().deleteOnExit();
        tokenizer = BertTokenizers.fromVocabulary(folder.resolve("vocab.txt"), true,
                MAX_POSITIONS);
    }

    @AfterClass
    public void close() {
        tokenizer.close();
    }

    @Test
    public void embeddingsMatchOnnxRuntime() throws Exception {
        TextEmbeddingTranslator translator = TextEmbeddingTranslator.builder()
                .setTokenizer(tokenizer).optMaxLength(MAX_POSITIONS).build();
        List<float[]> reference = embed(ModelFolders.ONNX_RUNTIME, false, translator, TEXTS);
        List<float[]> fp32 = embed(ModelFolders.QUANT_INT8, false, translator, TEXTS);
        List<float[]> int8 = embed(ModelFolders.QUANT_INT8, true, translator, TEXTS);
        for (int i = 0; i < TEXTS.size(); i++) {
            assertClose(fp32.get(i), reference.get(i), 1e-4f, TEXTS.get(i));
            assertTrue(cosine(int8.get(i), reference.get(i)) > 0.99, TEXTS.get(i));
        }
    }

    @Test
    public void meanPoolingIgnoresPadding() throws Exception {
        String json = BertTokenizers.toTokenizerJson(folder.resolve("vocab.txt"), true);
        try (HuggingFaceTokenizer padding = HuggingFaceTokenizer.newInstance(
                new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)),
                Map.of("padding", "max_length", "maxLength", "16"))) {
            assertEquals(padding.encode("cats sat").getIds().length, 16);
            TextEmbeddingTranslator padded = TextEmbeddingTranslator.builder()
                    .setTokenizer(padding).build();
            TextEmbeddingTranslator plain = TextEmbeddingTranslator.builder()
                    .setTokenizer(tokenizer).build();
            List<float[]> expected = embed(ModelFolders.QUANT_INT8, false, plain, TEXTS);
            List<float[]> actual = embed(ModelFolders.QUANT_INT8, false, padded, TEXTS);
            for (int i = 0; i < TEXTS.size(); i++) {
                assertClose(actual.get(i), expected.get(i), 1e-4f, TEXTS.get(i));
            }
        }
    }

    @Test
    public void clsPoolingAndNormalization() throws Exception {
        TextEmbeddingTranslator.Builder builder = TextEmbeddingTranslator.builder()
                .setTokenizer(tokenizer);
        float[] mean = embed(ModelFolders.ONNX_RUNTIME, false, builder.build(), TEXTS).get(0);
        float[] cls = embed(ModelFolders.ONNX_RUNTIME, false,
                builder.optPooling(TextEmbeddingTranslator.Pooling.CLS).build(), TEXTS).get(0);
        float[] unit = embed(ModelFolders.ONNX_RUNTIME, false, builder.optNormalize(true).build(),
                TEXTS).get(0);
        assertEquals(cls.length, HIDDEN);
        assertNotEquals(cls, mean);
        assertEquals(cosine(unit, unit), 1.0, 1e-6);
        assertEquals(cosine(unit, cls), 1.0, 1e-6);
        double norm = Math.sqrt(cosineTerms(unit, unit));
        assertEquals(norm, 1.0, 1e-6);
    }

    @Test
    public void factoryLoadsTheFolderVocabulary() throws Exception {
        try (ZooModel<String, float[]> model = ModelFolders.load(folder, ModelFolders.QUANT_INT8,
                String.class, float[].class, new TextEmbeddingTranslatorFactory(),
                Map.<String, Object>of("pooling", "cls", "normalize", "true", "maxLength", "8"));
                Predictor<String, float[]> predictor = model.newPredictor()) {
            float[] truncated = predictor.predict("the cat sat on the mat the cat sat on");
            float[] same = predictor.predict("the cat sat on the mat the cat sat on the mat");
            assertEquals(truncated.length, HIDDEN);
            assertClose(same, truncated, 1e-4f, "texts equal after truncation to 8 tokens");
        }
    }

    @Test
    public void classifiesWithLabels() throws Exception {
        TextClassificationTranslator translator = TextClassificationTranslator.builder()
                .setTokenizer(tokenizer).setLabels(LABELS).build();
        try (ZooModel<String, Classifications> ort = ModelFolders.load(folder,
                ModelFolders.ONNX_RUNTIME, false, String.class, Classifications.class, translator);
                ZooModel<String, Classifications> ours = ModelFolders.load(folder,
                        ModelFolders.QUANT_INT8, String.class, Classifications.class,
                        new TextClassificationTranslatorFactory(),
                        Map.<String, Object>of("labels", String.join(",", LABELS)));
                Predictor<String, Classifications> reference = ort.newPredictor();
                Predictor<String, Classifications> predictor = ours.newPredictor()) {
            for (String text : TEXTS) {
                Classifications expected = reference.predict(text);
                Classifications actual = predictor.predict(text);
                assertEquals(actual.getClassNames(), LABELS);
                assertEquals(actual.getProbabilities().stream().mapToDouble(p -> p).sum(), 1.0,
                        1e-9);
                for (int i = 0; i < LABELS.size(); i++) {
                    assertEquals(actual.getProbabilities().get(i),
                            expected.getProbabilities().get(i), 1e-4, text);
                }
            }
        }
    }

    @Test
    public void rejectsBadInput() throws Exception {
        assertThrows(IllegalArgumentException.class,
                () -> TextEmbeddingTranslator.builder().build());
        assertThrows(IllegalArgumentException.class,
                () -> TextClassificationTranslator.builder().setTokenizer(tokenizer).build());
        assertThrows(IllegalArgumentException.class,
                () -> TextEmbeddingTranslator.Pooling.fromName("max"));
        TextEmbeddingTranslator strict = TextEmbeddingTranslator.builder().setTokenizer(tokenizer)
                .optMaxLength(4).build();
        TextClassificationTranslator wrongLabels = TextClassificationTranslator.builder()
                .setTokenizer(tokenizer).setLabels(List.of("a", "b")).build();
        try (ZooModel<String, float[]> model = ModelFolders.load(folder, ModelFolders.QUANT_INT8,
                false, String.class, float[].class, strict);
                Predictor<String, float[]> predictor = model.newPredictor();
                ZooModel<String, Classifications> classifier = ModelFolders.load(folder,
                        ModelFolders.QUANT_INT8, false, String.class, Classifications.class,
                        wrongLabels);
                Predictor<String, Classifications> classify = classifier.newPredictor()) {
            assertCause(() -> predictor.predict(" "), "the text is empty");
            assertCause(() -> predictor.predict("the cat sat on the mat"),
                    "more than the maximum length 4");
            assertCause(() -> classify.predict("the cat"), "has 3 scores for 2 labels");
        }
    }

    private interface Call {
        void run() throws Exception;
    }

    private static void assertCause(Call call, String message) {
        TranslateException e = expectThrows(TranslateException.class, call::run);
        Throwable cause = e;
        while (cause.getCause() != null && !cause.getMessage().contains(message)) {
            cause = cause.getCause();
        }
        assertTrue(cause.getMessage().contains(message), e.toString());
    }

    private List<float[]> embed(String engine, boolean int8, TextEmbeddingTranslator translator,
            List<String> texts) throws Exception {
        try (ZooModel<String, float[]> model = ModelFolders.load(folder, engine, int8,
                String.class, float[].class, translator);
                Predictor<String, float[]> predictor = model.newPredictor()) {
            List<float[]> embeddings = new ArrayList<>();
            for (String text : texts) {
                embeddings.add(predictor.predict(text));
            }
            return embeddings;
        }
    }

    /** Appends a classification head, {@code logits = pooler_output W^T + b}, to a BERT graph. */
    private static OnnxModel withClassifier(OnnxModel bert) {
        OnnxGraph graph = bert.getGraph();
        OnnxGraph.Builder builder = graph.toBuilderWithoutNodes(t -> true);
        graph.getNodes().forEach(builder::addNode);
        Random random = new Random(5);
        float[] weight = new float[LABELS.size() * HIDDEN];
        for (int i = 0; i < weight.length; i++) {
            weight[i] = (float) random.nextGaussian();
        }
        builder.addInitializer(OnnxTensor.of("classifier.weight", weight, LABELS.size(), HIDDEN))
                .addInitializer(OnnxTensor.of("classifier.bias", new float[] {0.1f, 0, -0.1f},
                        LABELS.size()))
                .addNode(OnnxNode.builder().setOpType("Gemm")
                        .addInput(Bert.POOLER_OUTPUT, "classifier.weight", "classifier.bias")
                        .addOutput(TextClassificationTranslator.DEFAULT_OUTPUT)
                        .addAttribute(OnnxAttribute.ofInt("transB", 1)).build())
                .addOutput(OnnxValueInfo.tensor(TextClassificationTranslator.DEFAULT_OUTPUT,
                        OnnxDataType.FLOAT, List.of(OnnxDimension.symbolic("batch"),
                                OnnxDimension.of(LABELS.size()))));
        return bert.toBuilder(builder.build()).build();
    }

    private static List<String> vocabulary() {
        List<String> tokens = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]",
                "[MASK]", "the", "cat", "sat", "on", "mat", "dog", "a", "##s", ".", ","));
        for (char c = 'a'; c <= 'z'; c++) {
            if (!tokens.contains(String.valueOf(c))) {
                tokens.add(String.valueOf(c));
            }
            tokens.add("##" + c);
        }
        return tokens.stream().distinct().toList();
    }

    private static void assertClose(float[] actual, float[] expected, float tolerance,
            String what) {
        assertEquals(actual.length, expected.length, what);
        for (int i = 0; i < actual.length; i++) {
            assertEquals(actual[i], expected[i], tolerance, what + " [" + i + "]");
        }
    }

    private static double cosine(float[] a, float[] b) {
        return cosineTerms(a, b) / Math.sqrt(cosineTerms(a, a) * cosineTerms(b, b));
    }

    private static double cosineTerms(float[] a, float[] b) {
        double dot = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
        }
        return dot;
    }
}
