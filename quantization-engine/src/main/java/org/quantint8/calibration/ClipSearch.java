package org.quantint8.calibration;

import java.util.function.ToDoubleFunction;

/**
 * Finds the clip range of least cost among ranges scaled towards zero from the observed range,
 * the one-parameter family every histogram search uses (for symmetric schemes it is the clip
 * threshold {@code t}). A geometric sweep finds the neighbourhood of the optimum, a linear sweep
 * refines it.
 */
final class ClipSearch {

    private static final int COARSE_STEPS = 96;
    private static final int FINE_STEPS = 48;

    private ClipSearch() {}

    /**
     * Returns the cheapest candidate.
     *
     * @param observed the observed range, containing zero
     * @param minFactor the strongest clipping allowed, in {@code (0, 1]}
     * @param cost the cost of a candidate; infinite for candidates that cannot be judged
     * @return the best candidate, or {@code observed} if none could be judged
     */
    static CalibrationRange minimize(
            CalibrationRange observed, double minFactor, ToDoubleFunction<CalibrationRange> cost) {
        double[] coarse = new double[COARSE_STEPS + 1];
        for (int i = 0; i <= COARSE_STEPS; i++) {
            // minFactor^(1 - i/n): evenly spaced in log scale, exactly 1 at the end.
            coarse[i] = Math.pow(minFactor, 1.0 - (double) i / COARSE_STEPS);
        }
        Best best = new Best();
        for (double factor : coarse) {
            best.offer(factor, cost.applyAsDouble(observed.scaled(factor)));
        }
        if (Double.isInfinite(best.cost)) {
            return observed;
        }
        int index = best.index(coarse);
        double from = coarse[Math.max(0, index - 1)];
        double to = coarse[Math.min(COARSE_STEPS, index + 1)];
        for (int i = 0; i <= FINE_STEPS; i++) {
            double factor = from + (to - from) * i / FINE_STEPS;
            best.offer(factor, cost.applyAsDouble(observed.scaled(factor)));
        }
        return observed.scaled(best.factor);
    }

    private static final class Best {
        double factor = 1;
        double cost = Double.POSITIVE_INFINITY;

        void offer(double candidate, double candidateCost) {
            if (candidateCost < cost) {
                cost = candidateCost;
                factor = candidate;
            }
        }

        int index(double[] grid) {
            for (int i = 0; i < grid.length; i++) {
                if (grid[i] == factor) {
                    return i;
                }
            }
            return grid.length - 1;
        }
    }
}
