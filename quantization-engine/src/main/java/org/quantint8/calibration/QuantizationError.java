package org.quantint8.calibration;

import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.QuantMath;
import org.quantint8.ndarray.QuantizationParameters;

import java.util.List;

/** Measures what quantization does to values: fake quantization, squared error and SQNR. */
public final class QuantizationError {

    private QuantizationError() {}

    /**
     * Quantizes and dequantizes values with per-tensor or per-channel parameters.
     *
     * @param values the real values, row-major
     * @param shape the shape of the values, needed to find the channel of per-channel parameters
     * @param params the parameters
     * @return the nearest representable values
     * @throws IllegalArgumentException if the shape does not match the values or parameters
     */
    public static float[] fakeQuantize(float[] values, Shape shape, QuantizationParameters params) {
        if (shape.size() != values.length) {
            throw new IllegalArgumentException(
                    "Shape " + shape + " does not hold " + values.length + " values");
        }
        params.checkCompatible("fakeQuantize", shape, params.getDataType());
        int channels = params.getChannelCount();
        long inner = params.isPerChannel() ? shape.slice(params.getAxis() + 1).size() : 1;
        int quantMin = params.getQuantMin();
        int quantMax = params.getQuantMax();
        float[] result = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            int channel = (int) ((i / inner) % channels);
            result[i] =
                    QuantMath.fakeQuantize(
                            values[i],
                            params.getScale(channel),
                            params.getZeroPoint(channel),
                            quantMin,
                            quantMax);
        }
        return result;
    }

    /**
     * Quantizes and dequantizes values with per-tensor parameters.
     *
     * @param values the real values
     * @param params per-tensor parameters
     * @return the nearest representable values
     */
    public static float[] fakeQuantize(float[] values, QuantizationParameters params) {
        return fakeQuantize(values, new Shape(values.length), params);
    }

    /**
     * Returns the mean squared difference of two arrays of equal length.
     *
     * @param reference the reference values
     * @param approximation the approximated values
     * @return the mean squared error, 0 for empty arrays
     */
    public static double meanSquaredError(float[] reference, float[] approximation) {
        checkSameLength(reference, approximation);
        return reference.length == 0
                ? 0
                : squaredError(reference, approximation) / reference.length;
    }

    /**
     * Returns the signal-to-quantization-noise ratio of an approximation, in decibels.
     *
     * @param reference the reference values (the signal)
     * @param approximation the approximated values
     * @return {@code 10 log10(sum(ref^2) / sum((ref - approx)^2))}; positive infinity when the
     *     two are equal
     */
    public static double sqnrDb(float[] reference, float[] approximation) {
        checkSameLength(reference, approximation);
        return decibels(energy(reference), squaredError(reference, approximation));
    }

    /**
     * Returns the SQNR over several outputs together, in decibels.
     *
     * @param references the reference outputs
     * @param approximations the approximated outputs, matching one to one
     * @return the SQNR of all values together
     */
    public static double sqnrDb(List<float[]> references, List<float[]> approximations) {
        if (references.size() != approximations.size()) {
            throw new IllegalArgumentException(
                    "Expected "
                            + references.size()
                            + " outputs to compare, got "
                            + approximations.size());
        }
        double signal = 0;
        double noise = 0;
        for (int i = 0; i < references.size(); i++) {
            checkSameLength(references.get(i), approximations.get(i));
            signal += energy(references.get(i));
            noise += squaredError(references.get(i), approximations.get(i));
        }
        return decibels(signal, noise);
    }

    private static double decibels(double signal, double noise) {
        if (noise == 0) {
            return Double.POSITIVE_INFINITY;
        }
        return 10 * Math.log10(signal / noise);
    }

    private static double energy(float[] values) {
        double sum = 0;
        for (float v : values) {
            sum += (double) v * v;
        }
        return sum;
    }

    private static double squaredError(float[] reference, float[] approximation) {
        double sum = 0;
        for (int i = 0; i < reference.length; i++) {
            double d = (double) reference[i] - approximation[i];
            sum += d * d;
        }
        return sum;
    }

    private static void checkSameLength(float[] reference, float[] approximation) {
        if (reference.length != approximation.length) {
            throw new IllegalArgumentException(
                    "Cannot compare "
                            + reference.length
                            + " reference values with "
                            + approximation.length
                            + " approximated values");
        }
    }
}
