package org.quantint8.kernels;

/**
 * The activation a GEMM's FP32 epilogue applies last ({@link GemmEpilogue}), so that a
 * convolution's Relu or a transformer's GELU does not take a pass of its own over the output. The
 * ordinals are the native library's codes.
 */
public enum Activation {
    /** The identity. */
    NONE,
    /** {@code y < 0 ? 0 : y}; NaN stays NaN, as ONNX's Relu keeps it. */
    RELU,
    /** The exact GELU, as {@link FloatKernels#geluErf(float)} computes it. */
    GELU_ERF,
    /** GELU's tanh approximation, as {@link FloatKernels#geluTanh(float)} computes it. */
    GELU_TANH;

    /**
     * Applies the activation to one value.
     *
     * @param y the value
     * @return the activated value
     */
    public float apply(float y) {
        return switch (this) {
            case NONE -> y;
            // A comparison, not Math.max: NaN stays NaN.
            case RELU -> y < 0f ? 0f : y;
            case GELU_ERF -> FloatKernels.geluErf(y);
            case GELU_TANH -> FloatKernels.geluTanh(y);
        };
    }

    /**
     * Applies the activation to the first {@code count} values in place, in loops C2 vectorizes.
     *
     * @param values the values
     * @param count how many
     */
    public void applyInPlace(float[] values, int count) {
        switch (this) {
            case NONE -> { }
            case RELU -> {
                for (int i = 0; i < count; i++) {
                    values[i] = values[i] < 0f ? 0f : values[i];
                }
            }
            case GELU_ERF -> FloatKernels.geluErf(values, count);
            case GELU_TANH -> FloatKernels.geluTanh(values, count);
        }
    }
}
