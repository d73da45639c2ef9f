package org.quantint8.it.accuracy;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.engine.QuantInt8Model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/** How the accuracy suites load one variant of a model: an engine, load options, calibration. */
final class CalibratedModels {

    private CalibratedModels() {}

    /**
     * Loads an ONNX file and, when samples are given, calibrates QuantInt8 on them.
     *
     * @param onnx the model file
     * @param engine {@code QuantInt8} or {@code OnnxRuntime}
     * @param options the load options
     * @param calibration the calibration samples; empty for none (the only choice off QuantInt8)
     * @param inputs turns one sample into the model's inputs, in the given manager
     * @param <T> the sample type
     * @return the loaded model, to be closed by the caller
     * @throws Exception if loading or calibration fails
     */
    static <T> ZooModel<NDList, NDList> load(Path onnx, String engine, Map<String, String> options,
            List<T> calibration, BiFunction<NDManager, T, NDList> inputs) throws Exception {
        Criteria.Builder<NDList, NDList> criteria = Criteria.builder()
                .setTypes(NDList.class, NDList.class).optEngine(engine).optModelPath(onnx);
        options.forEach(criteria::optOption);
        ZooModel<NDList, NDList> model = criteria.build().loadModel();
        if (!calibration.isEmpty()) {
            try (NDManager manager = model.getNDManager().newSubManager()) {
                List<NDList> samples = new ArrayList<>();
                for (T sample : calibration) {
                    samples.add(inputs.apply(manager, sample));
                }
                ((QuantInt8Model) model.getWrappedModel()).calibrate(samples);
            } catch (Exception | Error e) {
                model.close();
                throw e;
            }
        }
        return model;
    }

    /**
     * Returns load options that turn QuantInt8's quantization cache off: each variant quantizes
     * afresh, so a cached static model never stands in for another calibration set.
     *
     * @param options the variant's options
     * @return a copy with {@code quantizationCache=false}
     */
    static Map<String, String> uncached(Map<String, String> options) {
        Map<String, String> all = new LinkedHashMap<>(options);
        all.put("quantizationCache", "false");
        return all;
    }
}
