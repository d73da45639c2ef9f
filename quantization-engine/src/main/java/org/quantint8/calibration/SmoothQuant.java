package org.quantint8.calibration;

/**
 * SmoothQuant: moves the range of outlier activation channels into the weights of the linear
 * layer that consumes them, so that both quantize well.
 *
 * <p>For {@code y = x W^T} with {@code W} of shape {@code [out, in]} (DJL Linear layout), input
 * channel {@code j} gets the factor {@code s_j = max|X_j|^alpha / max|W_:j|^(1 - alpha)}. Then
 * {@code y = (x / s) (W s)^T} exactly in real arithmetic: the weights' columns are multiplied by
 * {@code s} and the activations divided by it, which is free when folded into the gamma and beta
 * of a preceding normalization. Apply before the weight observer sees the weights.
 */
public final class SmoothQuant {

    /** The migration strength the SmoothQuant paper recommends for most models. */
    public static final double DEFAULT_ALPHA = 0.5;

    private final double alpha;

    /**
     * Creates a smoother.
     *
     * @param alpha the share of the activation range moved into the weights, in {@code [0, 1]}
     */
    public SmoothQuant(double alpha) {
        checkAlpha(alpha);
        this.alpha = alpha;
    }

    static void checkAlpha(double alpha) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException(
                    "SmoothQuant alpha must be in [0, 1], got " + alpha);
        }
    }

    /**
     * Returns the migration strength.
     *
     * @return alpha
     */
    public double getAlpha() {
        return alpha;
    }

    /**
     * Computes the smoothing factors of a linear layer and its scaled weights.
     *
     * @param layerName the layer, for messages
     * @param activationAbsMax the largest absolute calibration input per input channel, for
     *     example from a {@link PerChannelObserver} on the last axis
     * @param weight the weights {@code [outFeatures, inFeatures]}, row-major; not modified
     * @param outFeatures the number of output features
     * @param inFeatures the number of input features
     * @return the factors and the scaled weights
     * @throws IllegalArgumentException naming the layer if a size or value is invalid
     */
    public SmoothedLinear apply(
            String layerName,
            float[] activationAbsMax,
            float[] weight,
            int outFeatures,
            int inFeatures) {
        checkShapes(layerName, activationAbsMax, weight, outFeatures, inFeatures);
        float[] weightAbsMax = new float[inFeatures];
        for (int i = 0; i < weight.length; i++) {
            float w = weight[i];
            if (!Float.isFinite(w)) {
                throw new IllegalArgumentException(
                        "Layer '" + layerName + "': weight " + i + " is " + w);
            }
            int column = i % inFeatures;
            weightAbsMax[column] = Math.max(weightAbsMax[column], Math.abs(w));
        }
        float[] factors = new float[inFeatures];
        for (int j = 0; j < inFeatures; j++) {
            factors[j] = factor(layerName, j, activationAbsMax[j], weightAbsMax[j]);
        }
        float[] scaled = new float[weight.length];
        for (int i = 0; i < weight.length; i++) {
            scaled[i] = weight[i] * factors[i % inFeatures];
        }
        return new SmoothedLinear(factors, scaled);
    }

    private float factor(String layerName, int channel, float activationMax, float weightMax) {
        if (!(activationMax >= 0) || Float.isInfinite(activationMax)) {
            throw new IllegalArgumentException(
                    "Layer '"
                            + layerName
                            + "': activation max of input channel "
                            + channel
                            + " must be finite and non-negative, got "
                            + activationMax);
        }
        // A channel that is always zero on either side carries nothing worth migrating.
        if (activationMax == 0 || weightMax == 0) {
            return 1f;
        }
        float factor =
                (float) (Math.pow(activationMax, alpha) / Math.pow(weightMax, 1 - alpha));
        if (!(factor > 0) || Float.isInfinite(factor)) {
            throw new IllegalArgumentException(
                    "Layer '"
                            + layerName
                            + "': smoothing factor of input channel "
                            + channel
                            + " is not representable (activation max "
                            + activationMax
                            + ", weight max "
                            + weightMax
                            + ")");
        }
        return factor;
    }

    private static void checkShapes(
            String layerName,
            float[] activationAbsMax,
            float[] weight,
            int outFeatures,
            int inFeatures) {
        if (activationAbsMax == null || weight == null) {
            throw new IllegalArgumentException(
                    "Layer '" + layerName + "': activation maxima and weights must not be null");
        }
        if (outFeatures <= 0 || inFeatures <= 0) {
            throw new IllegalArgumentException(
                    "Layer '"
                            + layerName
                            + "': feature counts must be positive, got ["
                            + outFeatures
                            + ", "
                            + inFeatures
                            + "]");
        }
        if ((long) outFeatures * inFeatures != weight.length) {
            throw new IllegalArgumentException(
                    "Layer '"
                            + layerName
                            + "': "
                            + weight.length
                            + " weights do not form a ["
                            + outFeatures
                            + ", "
                            + inFeatures
                            + "] matrix");
        }
        if (activationAbsMax.length != inFeatures) {
            throw new IllegalArgumentException(
                    "Layer '"
                            + layerName
                            + "': expected "
                            + inFeatures
                            + " activation maxima (one per input channel), got "
                            + activationAbsMax.length);
        }
    }
}
