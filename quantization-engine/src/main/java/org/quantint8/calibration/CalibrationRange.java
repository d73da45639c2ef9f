package org.quantint8.calibration;

/**
 * The real interval an observer chose to represent; values outside it saturate.
 *
 * @param min the lower bound, finite
 * @param max the upper bound, finite and not below {@code min}
 */
public record CalibrationRange(float min, float max) {

    /**
     * Validates the bounds.
     *
     * @throws IllegalArgumentException if a bound is not finite or {@code min > max}
     */
    public CalibrationRange {
        if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
            throw new IllegalArgumentException(
                    "A calibration range must be finite with min <= max, got ["
                            + min
                            + ", "
                            + max
                            + "]");
        }
    }

    /**
     * Returns the larger absolute bound, the threshold of a symmetric scheme.
     *
     * @return {@code max(|min|, |max|)}
     */
    public float absMax() {
        return Math.max(Math.abs(min), Math.abs(max));
    }

    /**
     * Returns this range scaled towards zero, a clipping candidate.
     *
     * @param factor the shrink factor in {@code (0, 1]}
     * @return {@code [factor * min, factor * max]}
     */
    public CalibrationRange scaled(double factor) {
        return new CalibrationRange((float) (min * factor), (float) (max * factor));
    }

    /**
     * Returns the smallest range that contains this one and zero, the range affine quantization
     * actually represents (zero must be exact for padding and ReLU).
     *
     * @return this range widened to contain zero
     */
    public CalibrationRange withZero() {
        return new CalibrationRange(Math.min(min, 0f), Math.max(max, 0f));
    }
}
