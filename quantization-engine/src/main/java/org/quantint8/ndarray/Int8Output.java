package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import org.quantint8.kernels.Activation;

/**
 * What an INT8 operator returns: real values (FP32), the raw INT32 accumulator, or values
 * requantized to 8 bits under given per-tensor parameters. Real values may go on through a
 * per-channel affine step, the addition of a residual and an activation (a batch normalization, a
 * ResNet shortcut and a Relu or GELU folded into the operator, so that the output is written
 * once).
 */
public final class Int8Output {

    private static final Int8Output FLOAT32 =
            new Int8Output(DataType.FLOAT32, null, null, null, null, Activation.NONE, false);
    private static final Int8Output INT32 =
            new Int8Output(DataType.INT32, null, null, null, null, Activation.NONE, false);

    private final DataType dataType;
    private final float[] postScale;
    private final float[] postShift;
    private final NDArray residual;
    private final Activation activation;
    private final QuantizationParameters quantization;
    private final boolean channelsLast;

    private Int8Output(DataType dataType, QuantizationParameters quantization, float[] postScale,
            float[] postShift, NDArray residual, Activation activation, boolean channelsLast) {
        this.dataType = dataType;
        this.quantization = quantization;
        this.postScale = postScale;
        this.postShift = postShift;
        this.residual = residual;
        this.activation = activation;
        this.channelsLast = channelsLast;
    }

    /**
     * Returns the FP32 output: the accumulator scaled back to real values, plus the bias.
     *
     * @return the output kind
     */
    public static Int8Output float32() {
        return FLOAT32;
    }

    /**
     * Returns the FP32 output (scaled, plus the bias) followed by an activation, for example the
     * GELU after a transformer's first feed-forward projection.
     *
     * @param activation the activation
     * @return the output kind
     */
    public static Int8Output float32(Activation activation) {
        return activation == Activation.NONE ? FLOAT32
                : new Int8Output(DataType.FLOAT32, null, null, null, null, activation, false);
    }

    /**
     * Returns the FP32 output followed, per output channel, by {@code y = x * scale[c] +
     * shift[c]} (each step rounded to FP32, as separate operators compute it) and then, if asked,
     * by {@code y < 0 ? 0 : y}.
     *
     * @param scale the factor per output channel, or null for no affine step
     * @param shift the term per output channel, or null for no affine step (both or neither)
     * @param relu whether negative values become 0
     * @return the output kind
     * @throws IllegalArgumentException if only one of scale and shift is given, or their lengths
     *     differ
     */
    public static Int8Output float32(float[] scale, float[] shift, boolean relu) {
        if ((scale == null) != (shift == null)
                || scale != null && scale.length != shift.length) {
            throw new IllegalArgumentException("The FP32 output's affine step needs a scale and a"
                    + " shift of the same length, got " + (scale == null ? "none" : scale.length)
                    + " and " + (shift == null ? "none" : shift.length));
        }
        return new Int8Output(DataType.FLOAT32, null, scale == null ? null : scale.clone(),
                shift == null ? null : shift.clone(), null,
                relu ? Activation.RELU : Activation.NONE, false);
    }

    /**
     * Returns this FP32 output with {@code residual} added after the affine step and before the
     * activation, value by value (a ResNet block's shortcut; {@link Int8Ops#conv2d} only). The residual
     * must be FP32 of exactly the operator's output shape, which the operator checks; it must
     * stay open while the operator runs.
     *
     * @param residual the values to add
     * @return the output kind
     * @throws IllegalStateException if this output is not FP32 or already has a residual
     */
    public Int8Output withResidual(NDArray residual) {
        if (dataType != DataType.FLOAT32 || this.residual != null) {
            throw new IllegalStateException("Only an FP32 output without one takes a residual,"
                    + " this is " + this);
        }
        return new Int8Output(dataType, null, postScale, postShift, residual, activation,
                channelsLast);
    }

    /**
     * Returns this FP32 output, allowed to come channels-last: a 2-D convolution may then write
     * it as {@code [N, H, W, C]} ({@link QuantInt8NDArray#isChannelsLast}) when that is how its
     * GEMM produces it (positions on rows, one group, and a residual that is channels-last or
     * none), saving the transposition to NCHW planes. Only for outputs that convolutions alone
     * read.
     *
     * @return the output kind
     * @throws IllegalStateException if this output is not FP32
     */
    public Int8Output withChannelsLastAllowed() {
        if (dataType != DataType.FLOAT32) {
            throw new IllegalStateException("Only an FP32 output may come channels-last, this is "
                    + this);
        }
        return new Int8Output(dataType, null, postScale, postShift, residual, activation, true);
    }

    /**
     * Returns whether the output may come channels-last ({@link #withChannelsLastAllowed}).
     *
     * @return {@code true} if a convolution may write it as {@code [N, H, W, C]}
     */
    public boolean isChannelsLastAllowed() {
        return channelsLast;
    }

    /**
     * Returns the raw INT32 accumulator output, {@code sum (a - zA)(w - zW)}, without scale or
     * bias.
     *
     * @return the output kind
     */
    public static Int8Output int32() {
        return INT32;
    }

    /**
     * Returns an 8-bit output requantized under the given parameters.
     *
     * @param parameters per-tensor INT8 or UINT8 parameters
     * @return the output kind
     * @throws IllegalArgumentException if the parameters are per channel or not 8-bit
     */
    public static Int8Output quantized(QuantizationParameters parameters) {
        DataType type = parameters.getDataType();
        if (parameters.isPerChannel() || (type != DataType.INT8 && type != DataType.UINT8)) {
            throw new IllegalArgumentException(
                    "A quantized output needs per-tensor INT8 or UINT8 parameters, got "
                            + parameters);
        }
        return new Int8Output(type, parameters, null, null, null, Activation.NONE, false);
    }

    /**
     * Returns the data type of the output array.
     *
     * @return FLOAT32, INT32, INT8 or UINT8
     */
    public DataType getDataType() {
        return dataType;
    }

    /**
     * Returns the output quantization parameters, or null for FP32 and INT32 outputs.
     *
     * @return the parameters or null
     */
    public QuantizationParameters getQuantization() {
        return quantization;
    }

    /**
     * Returns the per-channel factor of the FP32 output's affine step, or null without one.
     *
     * @return a copy of the factors, or null
     */
    public float[] getPostScale() {
        return postScale == null ? null : postScale.clone();
    }

    /**
     * Returns the per-channel term of the FP32 output's affine step, or null without one.
     *
     * @return a copy of the terms, or null
     */
    public float[] getPostShift() {
        return postShift == null ? null : postShift.clone();
    }

    /**
     * Returns the residual added before the activation, or null without one.
     *
     * @return the residual or null
     */
    public NDArray getResidual() {
        return residual;
    }

    /**
     * Returns the activation applied last (after the affine step and residual).
     *
     * @return the activation, {@link Activation#NONE} for none
     */
    public Activation getActivation() {
        return activation;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        if (quantization != null) {
            return quantization.toString();
        }
        return dataType + (postScale != null ? " with per-channel affine step" : "")
                + (residual != null ? " plus residual" : "")
                + (activation != Activation.NONE ? " and " + activation : "")
                + (channelsLast ? ", channels-last allowed" : "");
    }
}
