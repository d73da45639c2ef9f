package org.quantint8.it.onnx;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import ai.djl.Model;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import org.quantint8.it.TestAssets;
import org.quantint8.ndarray.QuantInt8NDArray;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Acceptance of the ONNX interpreter on real BERT models: loaded through {@code Criteria} with
 * the QuantInt8 engine, in FP32, {@code last_hidden_state} must match ONNX Runtime within 1e-4 on
 * 100 real sentences from short to long, at batch 1 and at batch 8 with padding.
 *
 * <p>At batch 8 only the real tokens are compared: the hidden states of pad positions are
 * meaningless (no real token attends to them) and their value depends on summation order.
 */
public class InterpreterAccuracyTest {

    private static final double TOLERANCE = 1e-4;
    private static final int SENTENCES = 100;
    private static final int BATCH = 8;

    @DataProvider
    public Object[][] models() {
        return new Object[][] {{TestAssets.MINILM}, {TestAssets.BGE_SMALL}};
    }

    @Test(dataProvider = "models", timeOut = 600_000)
    public void lastHiddenStateMatchesOnnxRuntime(String name) throws Exception {
        Path dir = TestAssets.modelDir(name);
        List<String> sentences = BertBatches.sentencesByLength(SENTENCES);
        Criteria<NDList, NDList> criteria =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optEngine("QuantInt8")
                        .optModelPath(dir)
                        // Exactness of the FP32 interpreter is under test, not quantization.
                        .optOption("quantization", "fp32")
                        .build();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (ZooModel<NDList, NDList> model = criteria.loadModel();
                Predictor<NDList, NDList> predictor = model.newPredictor();
                OrtSession session =
                        env.createSession(dir.resolve(name + ".onnx").toString(),
                                new OrtSession.SessionOptions());
                HuggingFaceTokenizer tokenizer = BertBatches.tokenizer(dir, name)) {
            assertEquals(model.describeInput().keys(),
                    List.of("input_ids", "attention_mask", "token_type_ids"));
            Stats one = new Stats();
            for (String sentence : sentences) {
                compare(model, predictor, env, session, BertBatches.encode(tokenizer,
                        List.of(sentence)), one);
            }
            Stats eight = new Stats();
            for (int i = 0; i < sentences.size(); i += BATCH) {
                List<String> batch = sentences.subList(i, Math.min(sentences.size(), i + BATCH));
                compare(model, predictor, env, session, BertBatches.encode(tokenizer, batch), eight);
            }
            System.out.printf(
                    "%s: max |interpreter - ORT| on last_hidden_state: batch 1 %.3g, batch 8 %.3g"
                            + " (real tokens; %.3g with pads); mean %.3g / %.3g; per sentence at"
                            + " batch 1: interpreter %.1f ms, ORT %.1f ms%n",
                    name, one.maxError, eight.maxError, eight.maxErrorWithPads,
                    one.meanError(), eight.meanError(),
                    one.interpreterNanos / 1e6 / SENTENCES, one.ortNanos / 1e6 / SENTENCES);
            assertTrue(one.maxError <= TOLERANCE, name + " batch 1: " + one.maxError);
            assertTrue(eight.maxError <= TOLERANCE, name + " batch 8: " + eight.maxError);
        }
    }

    /** Errors and times accumulated over batches. */
    private static final class Stats {
        double maxError;
        double maxErrorWithPads;
        double errorSum;
        long count;

        double meanError() {
            return errorSum / count;
        }
        long interpreterNanos;
        long ortNanos;
    }

    private static void compare(
            Model model,
            Predictor<NDList, NDList> predictor,
            OrtEnvironment env,
            OrtSession session,
            BertBatches in,
            Stats stats)
            throws Exception {
        Shape shape = new Shape(in.batch(), in.length());
        float[] expected;
        long start = System.nanoTime();
        Map<String, OnnxTensor> feed =
                Map.of(
                        "input_ids", tensor(env, in.ids(), shape),
                        "attention_mask", tensor(env, in.mask(), shape),
                        "token_type_ids", tensor(env, in.types(), shape));
        try (OrtSession.Result result = session.run(feed)) {
            OnnxTensor hidden = (OnnxTensor) result.get("last_hidden_state").orElseThrow();
            expected = hidden.getFloatBuffer().array();
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
        stats.ortNanos += System.nanoTime() - start;
        try (NDManager manager = model.getNDManager().newSubManager()) {
            NDArray ids = named(manager.create(in.ids(), shape), "input_ids");
            NDArray mask = named(manager.create(in.mask(), shape), "attention_mask");
            NDArray types = named(manager.create(in.types(), shape), "token_type_ids");
            start = System.nanoTime();
            // Given out of order on purpose: inputs are matched by name.
            NDList outputs = predictor.predict(new NDList(types, ids, mask));
            stats.interpreterNanos += System.nanoTime() - start;
            NDArray hidden = outputs.get(0);
            assertTrue(hidden instanceof QuantInt8NDArray, hidden.getClass().getName());
            assertEquals(hidden.getShape(), new Shape(in.batch(), in.length(), expected.length
                    / (in.batch() * in.length())));
            float[] actual = hidden.toFloatArray();
            int width = actual.length / (in.batch() * in.length());
            for (int i = 0; i < actual.length; i++) {
                double error = Math.abs(actual[i] - expected[i]);
                stats.maxErrorWithPads = Math.max(stats.maxErrorWithPads, error);
                if (in.mask()[i / width] == 1) {
                    stats.maxError = Math.max(stats.maxError, error);
                    stats.errorSum += error;
                    stats.count++;
                }
            }
        }
    }

    private static NDArray named(NDArray array, String name) {
        array.setName(name);
        return array;
    }

    private static OnnxTensor tensor(OrtEnvironment env, long[] values, Shape shape)
            throws Exception {
        return OnnxTensor.createTensor(env, LongBuffer.wrap(values), shape.getShape());
    }
}
