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

import org.quantint8.engine.QuantInt8Model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs, in a fresh JVM, the QuantInt8 ONNX Runtime fallback and another ONNX Runtime user in a
 * given creation order; prints {@code OK} when both ran. Started by {@link CoexistenceTest}.
 */
public final class CoexistenceMain {

    private CoexistenceMain() {}

    /**
     * Runs one order.
     *
     * @param args {@code djl-first}, {@code quantint8-first}, {@code calibration-first} (a
     *     static calibration, which runs the FP32 graph on ONNX Runtime, then DJL's engine) or
     *     {@code application-first}
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
            case "calibration-first" -> {
                // Static calibration runs the FP32 graph on ONNX Runtime before anything else.
                calibrate(dir);
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

    private static void calibrate(Path dir) throws Exception {
        Criteria<NDList, NDList> criteria =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optEngine("QuantInt8")
                        .optModelPath(dir)
                        .optOption("quantization", "static")
                        .optOption("quantizationCache", "false")
                        .build();
        try (ZooModel<NDList, NDList> model = criteria.loadModel();
                NDManager manager = model.getNDManager().newSubManager()) {
            float[] x = new float[2 * FallbackModels.FEATURES];
            for (int i = 0; i < x.length; i++) {
                x[i] = i % 7 - 3f;
            }
            ((QuantInt8Model) model.getWrappedModel()).calibrate(List.of(
                    new NDList(manager.create(x, new Shape(2, FallbackModels.FEATURES)))));
        }
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
