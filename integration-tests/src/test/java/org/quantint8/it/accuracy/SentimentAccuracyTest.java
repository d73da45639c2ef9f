package org.quantint8.it.accuracy;

import static org.testng.Assert.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import org.quantint8.demo.EmbeddingRunner;
import org.quantint8.it.TestAssets;
import org.testng.annotations.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What INT8 costs on a sentence classification task (issue: accuracy suites, BERT part): the
 * sentiment probe with FP32 features (ONNX Runtime) against the features of the same model
 * quantized by QuantInt8 dynamically (per-tensor and per-token activations) and statically
 * (calibrated on 200 State of the Union sentences, which the probe never sees), with ONNX
 * Runtime's own INT8 twin as the peer.
 */
public class SentimentAccuracyTest {

    /** Guard only: the exact figures go to docs/accuracy.md; the goal there is 0.3 points. */
    private static final double GUARD_POINTS = 1.5;

    @Test(timeOut = 1_800_000)
    public void miniLm() throws Exception {
        String name = TestAssets.MINILM;
        Path dir = TestAssets.modelDir(name);
        Path twinDir = TestAssets.modelDir(TestAssets.MINILM_Q);
        Path tokenizerFile = dir.resolve(name + "-tokenizer.json");
        List<String> calibration = TestAssets.sotuSentences(200);
        SentimentProbe probe = new SentimentProbe();
        Map<String, Map<String, Double>> accuracy;
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile);
                EmbeddingRunner fp32 = new EmbeddingRunner(dir.resolve(name + ".onnx"),
                        tokenizerFile);
                EmbeddingRunner twin = new EmbeddingRunner(
                        twinDir.resolve(TestAssets.MINILM_Q + ".onnx"), tokenizerFile);
                EngineEmbeddings dynamic = new EngineEmbeddings(dir, tokenizer,
                        Map.of("quantization", "dynamic"), List.of());
                EngineEmbeddings perToken = new EngineEmbeddings(dir, tokenizer,
                        Map.of("quantization", "dynamic", "activationGranularity", "token"),
                        List.of());
                EngineEmbeddings statik = new EngineEmbeddings(dir, tokenizer,
                        Map.of("quantization", "static", "activationObserver", "mse"),
                        calibration)) {
            Map<String, SentimentProbe.Features> variants = new LinkedHashMap<>();
            variants.put("QuantInt8 INT8 dynamic", dynamic);
            variants.put("QuantInt8 INT8 dynamic, per-token activations", perToken);
            variants.put("QuantInt8 INT8 static (MSE, 200 calibration sentences)", statik);
            variants.put("ONNX Runtime's INT8 twin (peer)", twin::embed);
            accuracy = probe.run(fp32::embed, variants);
        }
        String table = SentimentProbe.table(accuracy);
        System.out.println(table);
        AccuracyReport.publish("sentiment-minilm", "Sentiment probe: all-MiniLM-L6-v2",
                String.format(Locale.ROOT, "Mean-pooled embeddings; logistic-regression probe"
                        + " trained on FP32 features (ONNX Runtime) of 80%% of each set (seed 42),"
                        + " scored on the other %d sentences with each variant's features.%n%n%s",
                        probe.testSize(), table));
        double fp32All = accuracy.get("FP32").get("all");
        for (Map.Entry<String, Map<String, Double>> row : accuracy.entrySet()) {
            double delta = 100 * Math.abs(row.getValue().get("all") - fp32All);
            assertTrue(delta <= GUARD_POINTS, row.getKey() + " differs by " + delta + " points");
        }
        assertTrue(fp32All >= 0.8, "the FP32 probe itself is weak: " + fp32All);
    }
}
