package org.quantint8.calibration;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Chooses which layers to keep in FP32 (or in another {@link BudgetFallback} form, as the model
 * runs them) so that an accuracy budget holds: rank layers by sensitivity, quantize all, then move
 * the most sensitive back to the fallback one at a time until the budget is met.
 *
 * <p>Costs two model runs when the budget holds with every layer quantized (then nothing is
 * ranked), else {@code L} more for the ranking and at most {@code L} more for the search, where
 * {@code L} is the number of layers. The greedy order is optimal when layer errors
 * add up independently, a good approximation for quantization noise.
 */
public final class MixedPrecisionPlanner {

    private MixedPrecisionPlanner() {}

    /**
     * Plans mixed precision for a model.
     *
     * @param model the model, with its calibration samples
     * @param budget the accuracy budget
     * @return the plan; check {@link MixedPrecisionPlan#budgetMet()}
     * @throws IllegalArgumentException if the model has no layers or no calibration samples
     */
    public static MixedPrecisionPlan plan(LayerwiseQuantizableModel model, AccuracyBudget budget) {
        List<String> layers = model.getQuantizableLayers();
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("Mixed precision: the model has no quantizable layers");
        }
        List<float[]> reference = model.runReference();
        if (reference.isEmpty()) {
            throw new IllegalArgumentException(
                    "Mixed precision: the model produced no outputs (empty calibration set)");
        }
        OutputMetric metric = budget.getMetric();
        double fp32Score = metric.score(reference, reference);
        Set<String> quantized = new LinkedHashSet<>(layers);
        List<String> fp32 = new ArrayList<>();
        double score = metric.score(reference, model.run(Set.copyOf(quantized)));
        // Ranking costs a model run per layer: only worth it when something must fall back.
        List<LayerSensitivity> ranking = budget.isMet(fp32Score, score)
                ? List.of()
                : SensitivityAnalysis.rank(model, metric, reference);
        for (LayerSensitivity next : ranking) {
            if (budget.isMet(fp32Score, score)) {
                break;
            }
            quantized.remove(next.layerName());
            fp32.add(next.layerName());
            score = metric.score(reference, model.run(Set.copyOf(quantized)));
        }
        return new MixedPrecisionPlan(
                budget,
                ranking,
                Collections.unmodifiableSet(quantized),
                List.copyOf(fp32),
                fp32Score,
                score,
                budget.isMet(fp32Score, score));
    }
}
