package org.quantint8.it;

import ai.djl.engine.Engine;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.calibration.AccuracyBudget;
import org.quantint8.calibration.BudgetFallback;
import org.quantint8.calibration.Granularity;
import org.quantint8.calibration.LayerReport;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.demo.BertInputs;
import org.quantint8.demo.EmbeddingRunner;
import org.quantint8.engine.QuantizationOptions;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelReader;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.quantize.OnnxQuantizer;
import org.quantint8.onnx.quantize.PostTrainingQuantizer;
import org.quantint8.onnx.quantize.QuantizedOnnxModel;
import org.testng.Assert;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * QuantInt8's dynamic and static quantization of the real BERT-family models, exported and run by
 * ONNX Runtime, against FP32 and against ONNX Runtime's own INT8 twin of the same weights: mean
 * cosine of mean-pooled embeddings over the sentiment sentences. Per-token dynamic activations
 * and static quantization with the per-token budget fallback must reach the bar of issue 5
 * (0.995) on both models with every weight in INT8; per-token also in QuantInt8 itself on MiniLM.
 */
public class OnnxQuantizerAccuracyTest {

    /** Sentences per data set; the three sets make 3 x this many. */
    private static final int PER_SET = Integer.getInteger("quantint8.it.sentencesPerSet", 1000);
    /** Issue 5's bar: mean cosine to FP32 of every all-INT8 variant. */
    private static final double ISSUE_BAR = 0.995;
    /** Sentences per set that QuantInt8 itself embeds for the agreement check (slower). */
    private static final int ENGINE_PER_SET = Math.max(1, PER_SET / 20);
    /** Calibration sentences of static mode, from a text the evaluation never reads. */
    static final int CALIBRATION = 200;
    /**
     * The output SQNR budget (dB, on 32 calibration sentences) of static mode with the per-token
     * fallback: the layers it cannot afford per tensor quantize their input per token.
     */
    static final double STATIC_BUDGET_DB = 22;

    @DataProvider
    public Object[][] models() {
        return new Object[][] {
            {TestAssets.MINILM, TestAssets.MINILM_Q}, {TestAssets.BGE_SMALL, TestAssets.BGE_SMALL_Q}
        };
    }

    @Test(dataProvider = "models")
    public void dynamicInt8StaysCloseToFp32(String fp32Name, String twinName) throws Exception {
        Path dir = TestAssets.modelDir(fp32Name);
        Path tokenizer = dir.resolve(fp32Name + "-tokenizer.json");
        OnnxModel fp32 = OnnxModelReader.read(dir.resolve(fp32Name + ".onnx"));
        QuantizedOnnxModel ours = OnnxQuantizer.builder().build().quantize(fp32);
        byte[] oursBytes = OnnxModelWriter.builder().build().toByteArray(ours.model());
        List<String> sentences = sentences(PER_SET);
        double oursCosine = 0;
        double twinCosine = 0;
        try (EmbeddingRunner reference = new EmbeddingRunner(dir.resolve(fp32Name + ".onnx"), tokenizer);
                EmbeddingRunner quantized = new EmbeddingRunner(oursBytes, tokenizer);
                EmbeddingRunner twin = new EmbeddingRunner(
                        TestAssets.modelDir(twinName).resolve(twinName + ".onnx"), tokenizer)) {
            for (String sentence : sentences) {
                float[] r = reference.embed(sentence);
                oursCosine += EmbeddingRunner.cosine(r, quantized.embed(sentence));
                twinCosine += EmbeddingRunner.cosine(r, twin.embed(sentence));
            }
        }
        oursCosine /= sentences.size();
        twinCosine /= sentences.size();
        long fp32Bytes = java.nio.file.Files.size(dir.resolve(fp32Name + ".onnx"));
        long twinBytes = java.nio.file.Files.size(
                TestAssets.modelDir(twinName).resolve(twinName + ".onnx"));
        System.out.printf(Locale.ROOT,
                "%s: %d sentences, mean cosine to FP32: QuantInt8 dynamic INT8 %.5f, ONNX Runtime"
                        + " INT8 twin %.5f; %d layers quantized; file bytes FP32 %,d, QuantInt8"
                        + " %,d, twin %,d%n",
                fp32Name, sentences.size(), oursCosine, twinCosine,
                ours.report().getQuantizedLayerCount(), fp32Bytes, oursBytes.length, twinBytes);
        // Guard bounds; docs/accuracy.md states the measured figures.
        Assert.assertTrue(oursCosine >= 0.99, "mean cosine " + oursCosine);
        Assert.assertTrue(oursBytes.length * 3.5 < fp32Bytes, "file " + oursBytes.length);
    }

    @Test(dataProvider = "models")
    public void perTokenInt8MeetsTheIssueBar(String fp32Name, String twinName) throws Exception {
        Path dir = TestAssets.modelDir(fp32Name);
        Path tokenizer = dir.resolve(fp32Name + "-tokenizer.json");
        QuantizedOnnxModel ours = perToken(dir.resolve(fp32Name + ".onnx"));
        byte[] bytes = OnnxModelWriter.builder().build().toByteArray(ours.model());
        List<String> sentences = sentences(PER_SET);
        double cosine = meanCosineInOrt(dir.resolve(fp32Name + ".onnx"), bytes, tokenizer, sentences);
        System.out.printf(Locale.ROOT, "%s: %d sentences, mean cosine to FP32 of per-token dynamic"
                + " INT8 in ONNX Runtime %.5f; %d layers quantized, file bytes %,d%n", fp32Name,
                sentences.size(), cosine, ours.report().getQuantizedLayerCount(), bytes.length);
        Assert.assertTrue(cosine >= ISSUE_BAR, fp32Name + " mean cosine " + cosine);
    }

    /**
     * Static INT8 calibrated on {@value #CALIBRATION} State of the Union sentences (MSE observer),
     * with the per-token budget fallback: every weight INT8, the layers the budget flags quantize
     * their input per token, the others keep their calibrated per-tensor range.
     */
    @Test(dataProvider = "models")
    public void staticInt8WithPerTokenFallbackMeetsTheIssueBar(String fp32Name, String twinName)
            throws Exception {
        Path dir = TestAssets.modelDir(fp32Name);
        Path tokenizer = dir.resolve(fp32Name + "-tokenizer.json");
        Path fp32File = dir.resolve(fp32Name + ".onnx");
        OnnxModel fp32 = OnnxModelReader.read(fp32File);
        QuantizationConfig config = QuantizationConfig.builder()
                .optMode(QuantizationMode.STATIC)
                .optAccuracyBudget(AccuracyBudget.minSqnrDb(STATIC_BUDGET_DB))
                .optBudgetFallback(BudgetFallback.PER_TOKEN)
                .build();
        QuantizedOnnxModel ours;
        try (NDManager manager = Engine.getEngine("QuantInt8").newBaseManager()) {
            ours = PostTrainingQuantizer.quantize(fp32, config,
                    calibrationSamples(manager, tokenizer, CALIBRATION));
        }
        byte[] bytes = OnnxModelWriter.builder().build().toByteArray(ours.model());
        List<String> sentences = sentences(PER_SET);
        double cosine = meanCosineInOrt(fp32File, bytes, tokenizer, sentences);
        List<String> perToken = ours.report().getLayers().stream()
                .filter(l -> l.reason().startsWith("dynamic per token"))
                .map(LayerReport::layerName).toList();
        System.out.printf(Locale.ROOT, "%s: %d sentences, mean cosine to FP32 of static INT8"
                        + " (budget %.0f dB, per-token fallback) in ONNX Runtime %.5f; %d of %d"
                        + " layers INT8, %d per token %s; file bytes %,d (FP32 %,d)%n",
                fp32Name, sentences.size(), STATIC_BUDGET_DB, cosine,
                ours.report().getQuantizedLayerCount(), ours.report().getLayers().size(),
                perToken.size(), perToken, bytes.length, java.nio.file.Files.size(fp32File));
        Assert.assertEquals(ours.report().getQuantizedLayerCount(),
                ours.report().getLayers().size(), "every layer INT8");
        Assert.assertTrue(bytes.length * 3.5 < java.nio.file.Files.size(fp32File),
                "file " + bytes.length);
        Assert.assertTrue(cosine >= ISSUE_BAR, fp32Name + " mean cosine " + cosine);
    }

    /** Tokenized State of the Union sentences: calibration text the evaluation never reads. */
    static List<NDList> calibrationSamples(NDManager manager, Path tokenizerFile, int count)
            throws Exception {
        List<NDList> samples = new ArrayList<>();
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile)) {
            for (String s : TestAssets.sotuSentences(count)) {
                samples.add(BertInputs.of(manager, tokenizer.encode(s)));
            }
        }
        return samples;
    }

    /** Mean cosine to FP32 of the quantized file's embeddings, both run by ONNX Runtime. */
    private static double meanCosineInOrt(Path fp32File, byte[] quantized, Path tokenizer,
            List<String> sentences) throws Exception {
        double cosine = 0;
        try (EmbeddingRunner reference = new EmbeddingRunner(fp32File, tokenizer);
                EmbeddingRunner runner = new EmbeddingRunner(quantized, tokenizer)) {
            for (String sentence : sentences) {
                cosine += EmbeddingRunner.cosine(reference.embed(sentence), runner.embed(sentence));
            }
        }
        return cosine / sentences.size();
    }

    /**
     * QuantInt8 loading MiniLM with {@code activationGranularity=token} computes what ONNX
     * Runtime computes on the quantizer's file, and so stays above the bar too.
     */
    @Test
    public void perTokenRunsTheSameInQuantInt8() throws Exception {
        String name = TestAssets.MINILM;
        Path dir = TestAssets.modelDir(name);
        Path tokenizerFile = dir.resolve(name + "-tokenizer.json");
        byte[] bytes = OnnxModelWriter.builder().build()
                .toByteArray(perToken(dir.resolve(name + ".onnx")).model());
        Criteria<NDList, NDList> criteria = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optEngine("QuantInt8")
                .optModelPath(dir)
                .optOption(QuantizationOptions.ACTIVATION_GRANULARITY, "token")
                .optOption(QuantizationOptions.CACHE, "false")
                .build();
        List<String> sentences = sentences(ENGINE_PER_SET);
        double agreement = 0;
        double toFp32 = 0;
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile);
                ZooModel<NDList, NDList> model = criteria.loadModel();
                Predictor<NDList, NDList> predictor = model.newPredictor();
                EmbeddingRunner reference = new EmbeddingRunner(dir.resolve(name + ".onnx"), tokenizerFile);
                EmbeddingRunner ort = new EmbeddingRunner(bytes, tokenizerFile)) {
            for (String sentence : sentences) {
                float[] engine;
                try (NDManager manager = model.getNDManager().newSubManager()) {
                    engine = predictor.predict(BertInputs.of(manager, tokenizer.encode(sentence)))
                            .get(0).mean(new int[] {1}).toFloatArray();
                }
                agreement += EmbeddingRunner.cosine(ort.embed(sentence), engine);
                toFp32 += EmbeddingRunner.cosine(reference.embed(sentence), engine);
            }
        }
        agreement /= sentences.size();
        toFp32 /= sentences.size();
        System.out.printf(Locale.ROOT, "%s per-token INT8 in QuantInt8, %d sentences: mean cosine"
                + " to ONNX Runtime on the same file %.6f, to FP32 %.5f%n", name, sentences.size(),
                agreement, toFp32);
        Assert.assertTrue(agreement >= 0.999, "agreement with ONNX Runtime " + agreement);
        Assert.assertTrue(toFp32 >= ISSUE_BAR, "mean cosine to FP32 " + toFp32);
    }

    private static QuantizedOnnxModel perToken(Path fp32File) throws Exception {
        QuantizationConfig config = QuantizationConfig.builder()
                .optMode(QuantizationMode.DYNAMIC)
                .optActivationGranularity(Granularity.PER_TOKEN)
                .build();
        return OnnxQuantizer.builder().optConfig(config).build()
                .quantize(OnnxModelReader.read(fp32File));
    }

    private static List<String> sentences(int perSet) throws Exception {
        List<String> sentences = new ArrayList<>();
        for (String set : new String[] {"amazon", "imdb", "yelp"}) {
            TestAssets.sentiment(set).stream().limit(perSet).forEach(s -> sentences.add(s.text()));
        }
        return sentences;
    }
}
