package org.quantint8.calibration;

/**
 * The outcome of {@link SmoothQuant} for one linear layer: the per-input-channel factors {@code
 * s} and the weights with column {@code j} multiplied by {@code s_j}.
 */
public final class SmoothedLinear {

    private final float[] factors;
    private final float[] scaledWeight;

    SmoothedLinear(float[] factors, float[] scaledWeight) {
        this.factors = factors;
        this.scaledWeight = scaledWeight;
    }

    /**
     * Returns the smoothing factors, one per input channel, all finite and positive.
     *
     * @return a copy of the factors
     */
    public float[] getFactors() {
        return factors.clone();
    }

    /**
     * Returns the scaled weights {@code W * s}, {@code [out, in]} row-major, to be quantized in
     * place of the original weights.
     *
     * @return a copy of the scaled weights
     */
    public float[] getScaledWeight() {
        return scaledWeight.clone();
    }

    /**
     * Divides values whose last axis is the input channel by the factors: the activations of the
     * layer at run time, or the gamma and the beta of the preceding normalization to fold the
     * division in ahead of time.
     *
     * @param values values of shape {@code [..., in]}, row-major; not modified
     * @return the divided values
     * @throws IllegalArgumentException if the length is not a multiple of the channel count
     */
    public float[] divideByFactors(float[] values) {
        if (values.length % factors.length != 0) {
            throw new IllegalArgumentException(
                    values.length
                            + " values do not end in an axis of "
                            + factors.length
                            + " input channels");
        }
        float[] result = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            result[i] = values[i] / factors[i % factors.length];
        }
        return result;
    }
}
