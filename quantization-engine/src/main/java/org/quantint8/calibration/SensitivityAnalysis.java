package org.quantint8.calibration;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/** Ranks layers by how much quantizing each one alone degrades the model output. */
public final class SensitivityAnalysis {

    private SensitivityAnalysis() {}

    /**
     * Quantizes one layer at a time and scores the outputs against the FP32 reference.
     *
     * @param model the model
     * @param metric the output metric, higher is better
     * @param reference the FP32 outputs, {@code model.runReference()}
     * @return the layers, most sensitive (lowest score) first; ties keep the model's order
     */
    public static List<LayerSensitivity> rank(
            LayerwiseQuantizableModel model, OutputMetric metric, List<float[]> reference) {
        List<LayerSensitivity> result = new ArrayList<>();
        for (String layer : model.getQuantizableLayers()) {
            double score = metric.score(reference, model.run(Set.of(layer)));
            if (Double.isNaN(score)) {
                throw new IllegalStateException(
                        "Layer '" + layer + "': the output metric returned NaN");
            }
            result.add(new LayerSensitivity(layer, score));
        }
        result.sort(Comparator.comparingDouble(LayerSensitivity::score));
        return List.copyOf(result);
    }
}
