package org.quantint8.it.onnx;

import static org.testng.Assert.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;

import org.quantint8.demo.BertInputs;
import org.quantint8.demo.EmbeddingRunner;
import org.quantint8.it.TestAssets;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * ONNX Runtime's own INT8 twins (DynamicQuantizeLinear + MatMulInteger, UINT8 embeddings) run
 * through QuantInt8's quantized operators as accurately as through ONNX Runtime.
 *
 * <p>A fixed element-wise bound (such as 1e-3) is the wrong test for a dynamically quantized
 * model: two runs of its FP32 operators differ in the last bits (summation order, fused kernels),
 * {@code DynamicQuantizeLinear} turns such a difference into a whole quantization step now and
 * then, and the steps compound over the layers. ONNX Runtime does not meet such a bound against
 * itself: with and without its graph optimizations the last hidden states of the twins differ by
 * up to 0.31 (MiniLM) and 0.28 (bge-small) over these sentences, while each quantized operator of
 * QuantInt8 alone matches ONNX Runtime bit for bit (see QuantizedMatMulTest). So two things must
 * hold: QuantInt8 differs from ONNX Runtime by no more than ONNX Runtime differs from itself
 * (with a factor 2 for the luck of which roundings flip), and both runs of the twin are equally
 * close to the FP32 model (mean cosine of mean-pooled embeddings, over the same sentences).
 */
public class QuantizedTwinTest {

    private static final int SENTENCES = 100;

    @DataProvider
    public Object[][] twins() {
        return new Object[][] {
            {TestAssets.MINILM, TestAssets.MINILM_Q}, {TestAssets.BGE_SMALL, TestAssets.BGE_SMALL_Q}
        };
    }

    @Test(dataProvider = "twins", timeOut = 600_000)
    public void twinIsAsAccurateInQuantInt8AsInOnnxRuntime(String fp32, String twin)
            throws Exception {
        Path fp32Dir = TestAssets.modelDir(fp32);
        Path twinDir = TestAssets.modelDir(twin);
        Path tokenizerFile = fp32Dir.resolve(fp32 + "-tokenizer.json");
        List<String> sentences = BertBatches.sentencesByLength(SENTENCES);
        Criteria<NDList, NDList> criteria = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optEngine("QuantInt8")
                .optModelPath(twinDir)
                // The twin is quantized already: run it as it is.
                .optOption("quantization", "fp32")
                .build();
        double ortCosine = 0;
        double ourCosine = 0;
        double agreement = 0;
        double ourDeviation = 0;
        double ortSelfDeviation = 0;
        try (ZooModel<NDList, NDList> model = criteria.loadModel();
                Predictor<NDList, NDList> predictor = model.newPredictor();
                HuggingFaceTokenizer tokenizer = BertBatches.tokenizer(fp32Dir, fp32);
                EmbeddingRunner reference = new EmbeddingRunner(
                        fp32Dir.resolve(fp32 + ".onnx"), tokenizerFile);
                EmbeddingRunner ortTwin = new EmbeddingRunner(
                        twinDir.resolve(twin + ".onnx"), tokenizerFile);
                OrtSession optimized = session(twinDir.resolve(twin + ".onnx"), OptLevel.ALL_OPT);
                OrtSession asWritten = session(twinDir.resolve(twin + ".onnx"), OptLevel.NO_OPT)) {
            for (String sentence : sentences) {
                Encoding encoding = tokenizer.encode(sentence);
                float[] expected = reference.embed(sentence);
                float[] ort = ortTwin.embed(sentence);
                float[] ourHidden = hidden(model.getNDManager(), predictor, encoding);
                float[] ours = EmbeddingRunner.meanOverTokens(ourHidden, encoding.getIds().length);
                float[] ortHidden = EmbeddingRunner.lastHiddenState(asWritten, encoding);
                float[] optimizedHidden = EmbeddingRunner.lastHiddenState(optimized, encoding);
                ortCosine += EmbeddingRunner.cosine(expected, ort);
                ourCosine += EmbeddingRunner.cosine(expected, ours);
                agreement += EmbeddingRunner.cosine(ort, ours);
                ourDeviation = Math.max(ourDeviation, maxAbsDifference(ourHidden, ortHidden));
                ortSelfDeviation = Math.max(ortSelfDeviation,
                        maxAbsDifference(optimizedHidden, ortHidden));
            }
        }
        ortCosine /= SENTENCES;
        ourCosine /= SENTENCES;
        agreement /= SENTENCES;
        System.out.printf(Locale.ROOT, "%s: mean cosine to FP32 over %d sentences: ONNX Runtime"
                        + " %.5f, QuantInt8 %.5f; QuantInt8 vs ONNX Runtime %.5f%n",
                twin, SENTENCES, ortCosine, ourCosine, agreement);
        System.out.printf(Locale.ROOT, "%s: max |difference| of last_hidden_state to ONNX Runtime"
                        + " without graph optimizations: QuantInt8 %.4f, ONNX Runtime with them"
                        + " %.4f%n", twin, ourDeviation, ortSelfDeviation);
        assertTrue(ourDeviation <= 2 * ortSelfDeviation,
                "QuantInt8 deviates from ONNX Runtime by " + ourDeviation
                        + ", more than twice ONNX Runtime's own deviation " + ortSelfDeviation);
        // The two runs of the same INT8 model must be equally good (within 0.002) and agree.
        assertTrue(Math.abs(ourCosine - ortCosine) <= 0.002, ourCosine + " vs " + ortCosine);
        assertTrue(agreement >= 0.99, "agreement " + agreement);
    }

    private static float[] hidden(NDManager parent, Predictor<NDList, NDList> predictor,
            Encoding encoding) throws Exception {
        try (NDManager manager = parent.newSubManager()) {
            return predictor.predict(BertInputs.of(manager, encoding)).get(0).toFloatArray();
        }
    }

    private static OrtSession session(Path file, OptLevel level) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setOptimizationLevel(level);
        return OrtEnvironment.getEnvironment().createSession(file.toString(), options);
    }

    private static double maxAbsDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
