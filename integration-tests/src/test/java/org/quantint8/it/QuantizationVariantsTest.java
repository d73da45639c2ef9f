package org.quantint8.it;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import org.quantint8.demo.BertInputs;
import org.quantint8.demo.EmbeddingRunner;
import org.quantint8.calibration.AccuracyBudget;
import org.quantint8.calibration.BudgetFallback;
import org.quantint8.calibration.Granularity;
import org.quantint8.calibration.ObserverFactory;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelReader;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.quantize.PostTrainingQuantizer;
import org.quantint8.onnx.quantize.QuantizedOnnxModel;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The quantization configurations side by side on MiniLM, run by ONNX Runtime: dynamic (per-tensor
 * and per-token activations), weight-only, and static, with and without SmoothQuant or an
 * accuracy budget (FP32 or per-token fallback), calibrated on sentences outside the evaluation
 * set. {@code -Dquantint8.it.variants=REGEX} runs only the variants whose name matches.
 */
public class QuantizationVariantsTest {

    private static final int EVAL_PER_SET = Integer.getInteger("quantint8.it.sentencesPerSet", 1000);
    private static final Pattern SELECTED =
            Pattern.compile(System.getProperty("quantint8.it.variants", ".*"));

    @Test
    public void variantsOnMiniLm() throws Exception {
        String name = TestAssets.MINILM;
        Path dir = TestAssets.modelDir(name);
        Path tokenizerFile = dir.resolve(name + "-tokenizer.json");
        OnnxModel fp32 = OnnxModelReader.read(dir.resolve(name + ".onnx"));
        Map<String, QuantizationConfig> variants = variants();
        variants.keySet().removeIf(k -> !SELECTED.matcher(k).matches());
        List<String> eval = new ArrayList<>();
        for (String set : new String[] {"amazon", "imdb", "yelp"}) {
            TestAssets.sentiment(set).stream().limit(EVAL_PER_SET).forEach(s -> eval.add(s.text()));
        }
        try (NDManager manager = Engine.getEngine("QuantInt8").newBaseManager();
                EmbeddingRunner reference = new EmbeddingRunner(dir.resolve(name + ".onnx"),
                        tokenizerFile)) {
            List<NDList> samples = OnnxQuantizerAccuracyTest.calibrationSamples(
                    manager, tokenizerFile, OnnxQuantizerAccuracyTest.CALIBRATION);
            List<float[]> expected = new ArrayList<>();
            for (String s : eval) {
                expected.add(reference.embed(s));
            }
            for (Map.Entry<String, QuantizationConfig> v : variants.entrySet()) {
                QuantizedOnnxModel q = PostTrainingQuantizer.quantize(fp32, v.getValue(), samples);
                byte[] bytes = OnnxModelWriter.builder().build().toByteArray(q.model());
                double cosine = 0;
                try (EmbeddingRunner runner = new EmbeddingRunner(bytes, tokenizerFile)) {
                    for (int i = 0; i < eval.size(); i++) {
                        cosine += EmbeddingRunner.cosine(expected.get(i), runner.embed(eval.get(i)));
                    }
                }
                cosine /= eval.size();
                long perToken = q.report().getLayers().stream()
                        .filter(l -> l.reason().startsWith("dynamic per token")).count();
                System.out.printf(Locale.ROOT, "%s %-34s mean cosine %.5f over %d sentences"
                        + " (calibrated on %d others); %d of %d layers INT8 (%d of them per token"
                        + " by the budget), weights %,d bytes, file %,d bytes%n",
                        name, v.getKey(), cosine, eval.size(), samples.size(),
                        q.report().getQuantizedLayerCount(), q.report().getLayers().size(),
                        perToken, q.report().getDeployedWeightBytes(), bytes.length);
                Assert.assertTrue(cosine > 0.98, v.getKey() + ": " + cosine);
            }
        }
    }

    private static Map<String, QuantizationConfig> variants() {
        Map<String, QuantizationConfig> variants = new LinkedHashMap<>();
        variants.put("dynamic", config(QuantizationMode.DYNAMIC, null, false));
        variants.put("dynamic per-token", QuantizationConfig.builder()
                .optMode(QuantizationMode.DYNAMIC)
                .optActivationGranularity(Granularity.PER_TOKEN).build());
        variants.put("weight-only", config(QuantizationMode.WEIGHT_ONLY, null, false));
        variants.put("dynamic + SmoothQuant", config(QuantizationMode.DYNAMIC, null, true));
        variants.put("static MSE", config(QuantizationMode.STATIC, ObserverFactory.mse(), false));
        variants.put("static percentile 99.99",
                config(QuantizationMode.STATIC, ObserverFactory.percentile(99.99), false));
        variants.put("static MSE + SmoothQuant",
                config(QuantizationMode.STATIC, ObserverFactory.mse(), true));
        for (double db : new double[] {25, 30}) {
            variants.put("dynamic, budget " + db + " dB", QuantizationConfig.builder()
                    .optMode(QuantizationMode.DYNAMIC)
                    .optAccuracyBudget(AccuracyBudget.minSqnrDb(db)).build());
        }
        for (double db : new double[] {20, 22, 25}) {
            variants.put("static MSE, budget " + db + " dB per token", QuantizationConfig.builder()
                    .optMode(QuantizationMode.STATIC)
                    .optAccuracyBudget(AccuracyBudget.minSqnrDb(db))
                    .optBudgetFallback(BudgetFallback.PER_TOKEN).build());
        }
        return variants;
    }

    private static QuantizationConfig config(QuantizationMode mode, ObserverFactory observer,
            boolean smoothQuant) {
        QuantizationConfig.Builder b = QuantizationConfig.builder().optMode(mode);
        if (observer != null) {
            b.optActivationObserver(observer);
        }
        if (smoothQuant) {
            b.optSmoothQuant(0.5);
        }
        return b.build();
    }
}
