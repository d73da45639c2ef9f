package org.quantint8.calibration;

import java.util.List;

/**
 * Scores a model's outputs on the calibration samples; higher is better.
 *
 * <p>A metric may compare against the FP32 reference outputs (SQNR) or ignore them and judge the
 * outputs on their own (accuracy against labels the metric holds).
 */
@FunctionalInterface
public interface OutputMetric {

    /**
     * Scores outputs.
     *
     * @param reference the FP32 outputs, one per sample
     * @param outputs the outputs to score, one per sample
     * @return the score, higher is better
     */
    double score(List<float[]> reference, List<float[]> outputs);

    /**
     * Returns the signal-to-quantization-noise ratio of the outputs against the reference, in
     * decibels, the default metric.
     *
     * @return the metric
     */
    static OutputMetric sqnrDb() {
        return QuantizationError::sqnrDb;
    }
}
