package org.quantint8.calibration;

import java.util.List;

/**
 * How much accuracy quantization may cost: either a minimum output SQNR against FP32, or a
 * maximum drop of a user metric from its FP32 score.
 */
public final class AccuracyBudget {

    private final OutputMetric metric;
    private final double limit;
    private final boolean isDropLimit;

    private AccuracyBudget(OutputMetric metric, double limit, boolean isDropLimit) {
        this.metric = metric;
        this.limit = limit;
        this.isDropLimit = isDropLimit;
    }

    /**
     * Requires the output SQNR against FP32 to be at least a value.
     *
     * @param decibels the minimum SQNR in dB, finite
     * @return the budget
     */
    public static AccuracyBudget minSqnrDb(double decibels) {
        if (!Double.isFinite(decibels)) {
            throw new IllegalArgumentException("Minimum SQNR must be finite, got " + decibels);
        }
        return new AccuracyBudget(OutputMetric.sqnrDb(), decibels, false);
    }

    /**
     * Requires a metric to drop by at most a value from its score on the FP32 outputs.
     *
     * @param metric the metric, higher is better
     * @param maxDrop the largest allowed drop, finite and non-negative
     * @return the budget
     */
    public static AccuracyBudget maxMetricDrop(OutputMetric metric, double maxDrop) {
        if (metric == null) {
            throw new IllegalArgumentException("The metric of an accuracy budget is null");
        }
        if (!(maxDrop >= 0) || Double.isInfinite(maxDrop)) {
            throw new IllegalArgumentException(
                    "Maximum metric drop must be finite and non-negative, got " + maxDrop);
        }
        return new AccuracyBudget(metric, maxDrop, true);
    }

    /**
     * Returns the metric that scores outputs.
     *
     * @return the metric
     */
    public OutputMetric getMetric() {
        return metric;
    }

    /**
     * Returns whether outputs fit the budget.
     *
     * @param reference the FP32 outputs
     * @param outputs the outputs of the (partly) quantized model
     * @return {@code true} if the budget holds
     */
    public boolean isMet(List<float[]> reference, List<float[]> outputs) {
        return isMet(metric.score(reference, reference), metric.score(reference, outputs));
    }

    /**
     * Returns whether a score fits the budget.
     *
     * @param fp32Score the metric's score on the FP32 outputs (ignored by an SQNR budget)
     * @param score the score of the candidate
     * @return {@code true} if the budget holds
     */
    public boolean isMet(double fp32Score, double score) {
        return isDropLimit ? fp32Score - score <= limit : score >= limit;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return isDropLimit ? "metric drop <= " + limit : "output SQNR >= " + limit + " dB";
    }
}
