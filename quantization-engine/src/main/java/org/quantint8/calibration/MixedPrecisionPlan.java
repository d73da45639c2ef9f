package org.quantint8.calibration;

import java.util.List;
import java.util.Set;

/**
 * The outcome of automatic mixed precision: which layers stay in FP32, why, and whether the
 * budget holds.
 *
 * @param budget the budget that was searched for
 * @param sensitivities every layer's sensitivity, most sensitive first; empty when the budget
 *     holds with every layer quantized (nothing was ranked)
 * @param quantizedLayers the layers to quantize
 * @param fp32Layers the layers kept in FP32 (or in the model's other {@link BudgetFallback}
 *     form), in the order they were moved back
 * @param fp32Score the metric on the FP32 outputs
 * @param score the metric with {@code quantizedLayers} quantized
 * @param budgetMet whether {@code score} satisfies the budget; {@code false} only if even keeping
 *     every layer in FP32 does not (a non-deterministic model or an impossible budget)
 */
public record MixedPrecisionPlan(
        AccuracyBudget budget,
        List<LayerSensitivity> sensitivities,
        Set<String> quantizedLayers,
        List<String> fp32Layers,
        double fp32Score,
        double score,
        boolean budgetMet) {

    /**
     * Returns why a layer is kept in FP32, or an empty string if it is quantized.
     *
     * @param layerName the layer
     * @return the reason, for reports
     */
    public String reasonFor(String layerName) {
        int position = fp32Layers.indexOf(layerName);
        if (position < 0) {
            return "";
        }
        LayerSensitivity sensitivity =
                sensitivities.stream()
                        .filter(s -> s.layerName().equals(layerName))
                        .findFirst()
                        .orElseThrow();
        return String.format(
                "sensitivity rank %d (metric %.2f with it alone quantized as configured); needed"
                        + " for %s",
                sensitivities.indexOf(sensitivity) + 1, sensitivity.score(), budget);
    }

    /**
     * Returns a one-line summary, for layers moved back to FP32.
     *
     * @return the summary
     */
    public String summary() {
        return summary(BudgetFallback.FP32);
    }

    /**
     * Returns a one-line summary that names the form the moved layers take.
     *
     * @param fallback what the planned model does with the layers this plan moved
     * @return the summary
     */
    public String summary(BudgetFallback fallback) {
        String moved = switch (fallback) {
            case FP32 -> "kept in FP32";
            case PER_TOKEN -> "with inputs quantized per token";
        };
        String outcome = budgetMet ? "met"
                : "NOT met even with all " + fp32Layers.size() + " layers " + moved;
        return String.format(
                "%s: %s, metric %.2f (FP32 %.2f), %d layers quantized as configured, %d %s",
                budget, outcome, score, fp32Score, quantizedLayers.size(), fp32Layers.size(),
                moved);
    }
}
