package org.quantint8.calibration;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertFalse;
import static org.testng.Assert.assertTrue;

import org.testng.annotations.Test;

import java.util.List;
import java.util.Random;
import java.util.Set;

/** Sensitivity ranking and greedy FP32 fallback on a toy model with one sensitive layer. */
public class MixedPrecisionTest {

    @Test
    public void sensitiveLayerRankedFirstAndKeptInFp32() {
        ToyModel model = new ToyModel(new Random(21), 32, 0);
        List<float[]> reference = model.run(Set.of());
        double allQuantized = QuantizationError.sqnrDb(reference, model.run(Set.copyOf(ToyModel.LAYERS)));
        double withoutSensitive = QuantizationError.sqnrDb(reference, model.run(Set.of("fc0", "fc1", "fc3")));
        // A budget between the two: quantizing everything misses it, sparing fc2 meets it.
        double budgetDb = (allQuantized + withoutSensitive) / 2;
        MixedPrecisionPlan plan = MixedPrecisionPlanner.plan(model, AccuracyBudget.minSqnrDb(budgetDb));
        System.out.printf(
                "mixed precision: all INT8 %.1f dB, all but fc2 %.1f dB, budget %.1f dB; ranking %s; %s%n",
                allQuantized, withoutSensitive, budgetDb, plan.sensitivities(), plan.summary());
        assertTrue(allQuantized < withoutSensitive - 3, "fc2 must be the dominant error");
        assertEquals(plan.sensitivities().get(0).layerName(), "fc2");
        assertEquals(plan.fp32Layers(), List.of("fc2"));
        assertTrue(plan.budgetMet());
        assertTrue(plan.score() >= budgetDb);
        assertEquals(plan.quantizedLayers(), Set.of("fc0", "fc1", "fc3"));
        assertTrue(plan.reasonFor("fc2").contains("rank 1"));
    }

    @Test
    public void metricDropBudgetWithUserMetric() {
        ToyModel model = new ToyModel(new Random(22), 32, 0);
        // A user metric: negative mean absolute output error, higher is better.
        OutputMetric negativeMae =
                (reference, outputs) -> {
                    double sum = 0;
                    long n = 0;
                    for (int s = 0; s < reference.size(); s++) {
                        for (int i = 0; i < reference.get(s).length; i++) {
                            sum += Math.abs(reference.get(s)[i] - outputs.get(s)[i]);
                            n++;
                        }
                    }
                    return -sum / n;
                };
        List<float[]> reference = model.run(Set.of());
        double allDrop = -negativeMae.score(reference, model.run(Set.copyOf(ToyModel.LAYERS)));
        MixedPrecisionPlan plan =
                MixedPrecisionPlanner.plan(model, AccuracyBudget.maxMetricDrop(negativeMae, allDrop / 4));
        assertTrue(plan.budgetMet());
        assertTrue(plan.fp32Score() - plan.score() <= allDrop / 4);
        assertEquals(plan.fp32Layers().get(0), "fc2");
    }

    @Test
    public void budgetMetByAllQuantizedRanksNothing() {
        ToyModel model = new ToyModel(new Random(24), 16, 0);
        List<float[]> reference = model.run(Set.of());
        double allQuantized =
                QuantizationError.sqnrDb(reference, model.run(Set.copyOf(ToyModel.LAYERS)));
        MixedPrecisionPlan plan =
                MixedPrecisionPlanner.plan(model, AccuracyBudget.minSqnrDb(allQuantized - 1));
        assertTrue(plan.budgetMet());
        assertTrue(plan.fp32Layers().isEmpty());
        assertTrue(plan.sensitivities().isEmpty(), "no ranking needed: " + plan.sensitivities());
        assertEquals(plan.quantizedLayers(), Set.copyOf(ToyModel.LAYERS));
    }

    @Test
    public void unreachableBudgetIsReported() {
        // Output noise of 1e-2 on every run caps the SQNR even with every layer in FP32.
        ToyModel model = new ToyModel(new Random(23), 16, 1e-2);
        MixedPrecisionPlan plan = MixedPrecisionPlanner.plan(model, AccuracyBudget.minSqnrDb(80));
        assertFalse(plan.budgetMet());
        assertEquals(plan.fp32Layers().size(), ToyModel.LAYERS.size());
        assertTrue(plan.quantizedLayers().isEmpty());
        assertTrue(plan.summary().contains("NOT met"), plan.summary());
        assertTrue(plan.summary().endsWith(ToyModel.LAYERS.size() + " kept in FP32"),
                plan.summary());
        // With the per-token fallback the moved layers stay INT8: the summary must not say FP32.
        String perToken = plan.summary(BudgetFallback.PER_TOKEN);
        assertTrue(perToken.contains("NOT met even with all " + ToyModel.LAYERS.size()
                + " layers with inputs quantized per token"), perToken);
        assertFalse(perToken.contains("kept in FP32"), perToken);
    }
}
