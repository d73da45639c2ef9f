package org.quantint8.it;


import org.quantint8.demo.EmbeddingRunner;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelReader;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.quantize.OnnxQuantizer;
import org.quantint8.onnx.quantize.QuantizedOnnxModel;
import org.testng.Assert;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * QuantInt8's dynamic quantization of the real BERT-family models, exported and run by ONNX
 * Runtime, against FP32 and against ONNX Runtime's own INT8 twin of the same weights: mean cosine
 * of mean-pooled embeddings over the sentiment sentences.
 */
public class OnnxQuantizerAccuracyTest {

    /** Sentences per data set; the three sets make 3 x this many. */
    private static final int PER_SET = Integer.getInteger("quantint8.it.sentencesPerSet", 1000);

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
        List<String> sentences = new ArrayList<>();
        for (String set : new String[] {"amazon", "imdb", "yelp"}) {
            TestAssets.sentiment(set).stream().limit(PER_SET).forEach(s -> sentences.add(s.text()));
        }
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
}
