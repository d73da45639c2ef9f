package org.quantint8.calibration;

import java.util.Arrays;

/** Exhaustive references computed from raw values, independent of any histogram. */
final class BruteForce {

    private BruteForce() {}

    /** The squared error of quantizing values with the parameters of a range. */
    static double mse(float[] values, QuantizationScheme scheme, CalibrationRange range) {
        float[] quantized = QuantizationError.fakeQuantize(values, scheme.parametersFor(range));
        return QuantizationError.meanSquaredError(values, quantized);
    }

    /** The mean squared error over the values that are not outliers. */
    static double bulkMse(
            float[] values, boolean[] outliers, QuantizationScheme scheme, CalibrationRange range) {
        float[] quantized = QuantizationError.fakeQuantize(values, scheme.parametersFor(range));
        double sum = 0;
        int n = 0;
        for (int i = 0; i < values.length; i++) {
            if (!outliers[i]) {
                double d = values[i] - quantized[i];
                sum += d * d;
                n++;
            }
        }
        return sum / n;
    }

    /** The symmetric clip threshold of least MSE, over {@code steps} evenly spaced thresholds. */
    static float bestSymmetricClip(float[] values, QuantizationScheme scheme, int steps) {
        float absMax = 0;
        for (float v : values) {
            absMax = Math.max(absMax, Math.abs(v));
        }
        float best = absMax;
        double bestError = Double.POSITIVE_INFINITY;
        for (int i = 1; i <= steps; i++) {
            float t = absMax * i / steps;
            double error = mse(values, scheme, new CalibrationRange(-t, t));
            if (error < bestError) {
                bestError = error;
                best = t;
            }
        }
        return best;
    }

    /** The exact value below which a fraction of the absolute values lie. */
    static float absPercentile(float[] values, double percent) {
        float[] abs = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            abs[i] = Math.abs(values[i]);
        }
        Arrays.sort(abs);
        int index = (int) Math.ceil(percent / 100 * abs.length) - 1;
        return abs[Math.clamp(index, 0, abs.length - 1)];
    }

    static CalibrationRange observe(ObserverFactory factory, float[] values, int batches) {
        Observer observer = factory.create("test", QuantizationScheme.SYMMETRIC_INT8);
        int size = values.length / batches;
        for (int b = 0; b < batches; b++) {
            observer.observe(values, b * size, size);
        }
        return observer.computeRange();
    }
}
