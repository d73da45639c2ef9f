package org.quantint8.it.onnx;

import ai.djl.engine.Engine;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs, in a fresh JVM, the QuantInt8 ONNX Runtime fallback and another ONNX Runtime user in a
 * given creation order; prints {@code OK} when both ran. Started by {@link CoexistenceTest}.
 */
public final class CoexistenceMain {

    private CoexistenceMain() {}

    /**
     * Runs one order.
     *
     * @param args {@code djl-first}, {@code quantint8-first} or {@code application-first}
     * @throws Exception if either side fails
     */
    public static void main(String[] args) throws Exception {
        Path dir = FallbackModels.writeMixed(Files.createTempDirectory("coexist")).getParent();
        switch (args[0]) {
            case "djl-first" -> {
                run(dir, "OnnxRuntime");
                run(dir, "QuantInt8");
            }
            case "quantint8-first" -> {
                run(dir, "QuantInt8");
                run(dir, "OnnxRuntime");
            }
            case "application-first" -> {
                OrtEnvironment.getEnvironment(
                        OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                        "application",
                        new OrtEnvironment.ThreadingOptions());
                run(dir, "QuantInt8");
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.println("OK " + args[0] + " " + Engine.getAllEngines());
    }

    private static void run(Path dir, String engine) throws Exception {
        Criteria<NDList, NDList> criteria =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optEngine(engine)
                        .optModelPath(dir)
                        .build();
        try (ZooModel<NDList, NDList> model = criteria.loadModel();
                Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager manager = model.getNDManager().newSubManager()) {
            float[] x = new float[2 * FallbackModels.FEATURES];
            NDList out =
                    predictor.predict(
                            new NDList(manager.create(x, new Shape(2, FallbackModels.FEATURES))));
            if (out.singletonOrThrow().size() != x.length) {
                throw new IllegalStateException(engine + " returned " + out);
            }
        }
    }
}
