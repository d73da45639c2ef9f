package org.quantint8.it.onnx;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import org.testng.annotations.Test;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Nodes without an interpreter operator run on ONNX Runtime, with ONNX Runtime's result; an
 * operator no one knows fails with a message naming the file, the node and the operator.
 */
public class OrtFallbackTest {

    @Test
    public void graphWithMissingOperatorsMatchesOnnxRuntime() throws Exception {
        Path file = FallbackModels.writeMixed(Files.createTempDirectory("fallback"));
        float[] x = new float[2 * FallbackModels.FEATURES];
        for (int i = 0; i < x.length; i++) {
            x[i] = (i - 15) / 7f;
        }
        float[] expected;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(file.toString());
                OnnxTensor input =
                        OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {2, 16});
                OrtSession.Result result = session.run(Map.of("x", input))) {
            expected = ((OnnxTensor) result.get(0)).getFloatBuffer().array();
        }
        try (ZooModel<NDList, NDList> model = load(file.getParent());
                Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager manager = model.getNDManager().newSubManager()) {
            for (int run = 0; run < 3; run++) {
                NDArray in = manager.create(x, new Shape(2, FallbackModels.FEATURES));
                float[] actual = predictor.predict(new NDList(in)).singletonOrThrow().toFloatArray();
                assertEquals(actual.length, expected.length);
                for (int i = 0; i < actual.length; i++) {
                    assertEquals(actual[i], expected[i], 1e-6f, "element " + i);
                }
            }
        }
    }

    @Test
    public void unknownOperatorFailsAtFirstRunNamingFileNodeAndOperator() throws Exception {
        Path file = FallbackModels.writeUnknown(Files.createTempDirectory("unknown"), "");
        try (ZooModel<NDList, NDList> model = load(file.getParent());
                Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager manager = model.getNDManager().newSubManager()) {
            TranslateException e =
                    expectThrows(
                            TranslateException.class,
                            () -> predictor.predict(new NDList(manager.create(new float[2]))));
            String message = e.getCause().getMessage();
            assertTrue(message.contains(file.toString()), message);
            assertTrue(message.contains("'mystery'") && message.contains("NoSuchOp"), message);
        }
    }

    @Test
    public void unknownDomainFailsAtLoadNamingFileNodeAndOperator() throws Exception {
        Path file = FallbackModels.writeUnknown(Files.createTempDirectory("domain"), "com.example");
        MalformedModelException e =
                expectThrows(MalformedModelException.class, () -> load(file.getParent()).close());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("'mystery' (com.example.NoSuchOp)"), e.getMessage());
    }

    private static ZooModel<NDList, NDList> load(Path dir) throws Exception {
        return Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optEngine("QuantInt8")
                .optModelPath(dir)
                .optOption("quantization", "fp32")
                .build()
                .loadModel();
    }
}
