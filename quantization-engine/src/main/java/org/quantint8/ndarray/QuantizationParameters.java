package org.quantint8.ndarray;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The affine map between real values and the integers of a quantized tensor: {@code real = scale *
 * (q - zeroPoint)}, either one pair for the whole tensor or one pair per channel along an axis.
 *
 * <p>Instances are immutable and always valid: every scale is finite and positive, and every zero
 * point lies inside the range of the quantized data type. A per-tensor instance has axis {@code
 * -1} and one channel.
 */
public final class QuantizationParameters {

    /** The axis value of per-tensor parameters. */
    public static final int PER_TENSOR = -1;

    private static final byte[] MAGIC = {'Q', 'P', 'A', 'R'};
    private static final int VERSION = 1;

    private final DataType dataType;
    private final int axis;
    private final float[] scales;
    private final int[] zeroPoints;
    /** The scales as a native FP32 vector, made on first use by {@link #scaleVector}. */
    private volatile MemorySegment scaleVector;

    private QuantizationParameters(DataType dataType, int axis, float[] scales, int[] zeroPoints) {
        this.dataType = dataType;
        this.axis = axis;
        this.scales = scales;
        this.zeroPoints = zeroPoints;
        validate();
    }

    /**
     * Returns per-tensor parameters.
     *
     * @param scale the step between two adjacent quantized values, finite and positive
     * @param zeroPoint the quantized value that stands for real zero
     * @param dataType {@link DataType#INT8}, {@link DataType#UINT8} or {@link DataType#INT32}
     * @return the parameters
     * @throws IllegalArgumentException if the scale, zero point or data type is invalid
     */
    public static QuantizationParameters perTensor(float scale, int zeroPoint, DataType dataType) {
        return new QuantizationParameters(
                dataType, PER_TENSOR, new float[] {scale}, new int[] {zeroPoint});
    }

    /**
     * Returns per-channel parameters along an axis.
     *
     * @param scales one scale per channel
     * @param zeroPoints one zero point per channel, as many as scales
     * @param axis the channel axis of the tensors these parameters describe, non-negative
     * @param dataType {@link DataType#INT8}, {@link DataType#UINT8} or {@link DataType#INT32}
     * @return the parameters
     * @throws IllegalArgumentException if a value is invalid or the counts differ
     */
    public static QuantizationParameters perChannel(
            float[] scales, int[] zeroPoints, int axis, DataType dataType) {
        if (axis < 0) {
            throw new IllegalArgumentException(
                    "Per-channel quantization axis must be non-negative, got " + axis);
        }
        if (scales.length != zeroPoints.length) {
            throw new IllegalArgumentException(
                    "Per-channel quantization needs one zero point per scale, got "
                            + scales.length
                            + " scales and "
                            + zeroPoints.length
                            + " zero points");
        }
        return new QuantizationParameters(dataType, axis, scales.clone(), zeroPoints.clone());
    }

    /**
     * Returns symmetric per-channel INT8 parameters (all zero points 0), the weight scheme.
     *
     * @param scales one scale per channel
     * @param axis the channel axis
     * @return the parameters
     */
    public static QuantizationParameters symmetricPerChannel(float[] scales, int axis) {
        return perChannel(scales, new int[scales.length], axis, DataType.INT8);
    }

    /**
     * Returns per-tensor parameters that cover {@code [min, max]}, widened to include zero so that
     * zero is exactly representable.
     *
     * <p>A constant or empty range ({@code min == max == 0}) still gives a valid scale of 1, so
     * that quantizing a tensor of zeros is exact. Symmetric types ({@link DataType#INT8}) map the
     * larger absolute bound onto 127 with zero point 0; {@link DataType#UINT8} is asymmetric.
     *
     * @param min the lowest real value to represent, finite
     * @param max the highest real value to represent, finite
     * @param dataType {@link DataType#INT8} (symmetric) or {@link DataType#UINT8} (asymmetric)
     * @return the parameters
     * @throws IllegalArgumentException if a bound is not finite or {@code min > max}
     */
    public static QuantizationParameters forRange(float min, float max, DataType dataType) {
        if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
            throw new IllegalArgumentException(
                    "Quantization range must be finite with min <= max, got [" + min + ", " + max + "]");
        }
        double lo = Math.min(min, 0f);
        double hi = Math.max(max, 0f);
        if (dataType == DataType.INT8) {
            double absMax = Math.max(-lo, hi);
            return perTensor(scaleFor(absMax, 127), 0, dataType);
        }
        if (dataType != DataType.UINT8) {
            throw new IllegalArgumentException(
                    "Range quantization supports INT8 and UINT8, got " + dataType);
        }
        float scale = scaleFor(hi - lo, 255);
        int zeroPoint = (int) Math.rint(-lo / scale);
        return perTensor(scale, Math.clamp(zeroPoint, 0, 255), dataType);
    }

    /**
     * Returns the scale that maps {@code span} real units onto {@code levels} steps, never zero.
     *
     * @param span the real width to cover, non-negative
     * @param levels the number of quantization steps
     * @return the scale, 1 when the span is zero
     */
    public static float scaleFor(double span, int levels) {
        float scale = (float) (span / levels);
        // A constant tensor has no span; any positive scale represents it exactly.
        if (!(scale > 0f)) {
            return 1f;
        }
        return scale;
    }

    /**
     * Returns the quantized data type.
     *
     * @return INT8, UINT8 or INT32
     */
    public DataType getDataType() {
        return dataType;
    }

    /**
     * Returns whether there is one scale per channel.
     *
     * @return {@code true} for per-channel parameters
     */
    public boolean isPerChannel() {
        return axis != PER_TENSOR;
    }

    /**
     * Returns the channel axis, or {@link #PER_TENSOR}.
     *
     * @return the axis
     */
    public int getAxis() {
        return axis;
    }

    /**
     * Returns the number of channels, 1 for per-tensor parameters.
     *
     * @return the channel count
     */
    public int getChannelCount() {
        return scales.length;
    }

    /**
     * Returns the scale of a channel (use 0 for per-tensor parameters).
     *
     * @param channel the channel index
     * @return the scale
     */
    public float getScale(int channel) {
        return scales[channel];
    }

    /**
     * Returns the zero point of a channel (use 0 for per-tensor parameters).
     *
     * @param channel the channel index
     * @return the zero point
     */
    public int getZeroPoint(int channel) {
        return zeroPoints[channel];
    }

    /**
     * Returns a copy of the scales.
     *
     * @return the scales, one per channel
     */
    public float[] getScales() {
        return scales.clone();
    }

    /**
     * Returns the scales as a native FP32 vector of {@code channels} values (per-tensor ones
     * repeated), made once and kept with these parameters, which never change: a GEMM epilogue
     * reads it on every call without a copy. Nothing may write it.
     *
     * @param channels the number of channels, the number of scales when per channel
     * @return the vector, freed when these parameters are unreachable
     * @throws IllegalArgumentException if per-channel parameters have another count
     */
    MemorySegment scaleVector(int channels) {
        if (scales.length != 1 && scales.length != channels) {
            throw new IllegalArgumentException("quantization parameters with " + scales.length
                    + " scales cannot scale " + channels + " channels");
        }
        MemorySegment vector = scaleVector;
        if (vector == null || vector.byteSize() != 4L * channels) {
            vector = Arena.ofAuto().allocate(4L * Math.max(channels, 1), 64)
                    .asSlice(0, 4L * channels);
            for (int c = 0; c < channels; c++) {
                vector.setAtIndex(ValueLayout.JAVA_FLOAT, c, scales[scales.length == 1 ? 0 : c]);
            }
            scaleVector = vector;
        }
        return vector;
    }

    /**
     * Returns a copy of the zero points.
     *
     * @return the zero points, one per channel
     */
    public int[] getZeroPoints() {
        return zeroPoints.clone();
    }

    /**
     * Returns the smallest value of the quantized data type.
     *
     * @return -128, 0 or {@link Integer#MIN_VALUE}
     */
    public int getQuantMin() {
        return quantMin(dataType);
    }

    /**
     * Returns the largest value of the quantized data type.
     *
     * @return 127, 255 or {@link Integer#MAX_VALUE}
     */
    public int getQuantMax() {
        return quantMax(dataType);
    }

    /**
     * Returns these parameters for another channel axis (the channels stay the same).
     *
     * @param newAxis the new axis
     * @return parameters with the axis changed, or {@code this} for per-tensor parameters
     */
    public QuantizationParameters withAxis(int newAxis) {
        if (!isPerChannel() || newAxis == axis) {
            return this;
        }
        return perChannel(scales, zeroPoints, newAxis, dataType);
    }

    /**
     * Checks that these parameters can describe a tensor of the given shape and data type.
     *
     * @param operator the operator name, for the message
     * @param tensorShape the tensor shape
     * @param tensorType the tensor data type
     * @throws IllegalArgumentException naming the operator and the mismatch
     */
    public void checkCompatible(String operator, Shape tensorShape, DataType tensorType) {
        if (tensorType != dataType) {
            throw new IllegalArgumentException(
                    operator
                            + ": quantization parameters are for "
                            + dataType
                            + " but the tensor is "
                            + tensorType);
        }
        if (!isPerChannel()) {
            return;
        }
        if (axis >= tensorShape.dimension()) {
            throw new IllegalArgumentException(
                    operator
                            + ": per-channel axis "
                            + axis
                            + " is out of range for shape "
                            + tensorShape);
        }
        if (tensorShape.get(axis) != scales.length) {
            throw new IllegalArgumentException(
                    operator
                            + ": "
                            + scales.length
                            + " per-channel scales do not match dimension "
                            + tensorShape.get(axis)
                            + " of axis "
                            + axis
                            + " in shape "
                            + tensorShape);
        }
    }

    /**
     * Returns the smallest value of a quantized data type.
     *
     * @param type INT8, UINT8 or INT32
     * @return the minimum
     */
    public static int quantMin(DataType type) {
        return switch (type) {
            case INT8 -> Byte.MIN_VALUE;
            case UINT8 -> 0;
            case INT32 -> Integer.MIN_VALUE;
            default -> throw new IllegalArgumentException("Not a quantized data type: " + type);
        };
    }

    /**
     * Returns the largest value of a quantized data type.
     *
     * @param type INT8, UINT8 or INT32
     * @return the maximum
     */
    public static int quantMax(DataType type) {
        return switch (type) {
            case INT8 -> Byte.MAX_VALUE;
            case UINT8 -> 255;
            case INT32 -> Integer.MAX_VALUE;
            default -> throw new IllegalArgumentException("Not a quantized data type: " + type);
        };
    }

    /**
     * Returns the encoded form, read back by {@link #decode(ByteBuffer)}.
     *
     * @return the bytes
     */
    public byte[] encode() {
        ByteBuffer bb = ByteBuffer.allocate(4 + 4 + 1 + 4 + 4 + scales.length * 8);
        bb.put(MAGIC).putInt(VERSION).put((byte) dataType.ordinal()).putInt(axis);
        bb.putInt(scales.length);
        for (int i = 0; i < scales.length; i++) {
            bb.putFloat(scales[i]).putInt(zeroPoints[i]);
        }
        return bb.array();
    }

    /**
     * Reads parameters written by {@link #encode()}, validating every field.
     *
     * @param bb the buffer, positioned at the encoded parameters; advanced past them
     * @return the parameters
     * @throws IllegalArgumentException if the bytes are not valid encoded parameters
     */
    public static QuantizationParameters decode(ByteBuffer bb) {
        try {
            byte[] magic = new byte[MAGIC.length];
            bb.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new IllegalArgumentException("Not encoded quantization parameters");
            }
            int version = bb.getInt();
            if (version != VERSION) {
                throw new IllegalArgumentException(
                        "Unsupported quantization parameters version " + version);
            }
            int typeOrdinal = bb.get();
            DataType[] types = DataType.values();
            if (typeOrdinal < 0 || typeOrdinal >= types.length) {
                throw new IllegalArgumentException("Invalid quantized data type " + typeOrdinal);
            }
            int axis = bb.getInt();
            int count = bb.getInt();
            if (count < 1 || count > bb.remaining() / 8) {
                throw new IllegalArgumentException("Invalid channel count " + count);
            }
            float[] scales = new float[count];
            int[] zeroPoints = new int[count];
            for (int i = 0; i < count; i++) {
                scales[i] = bb.getFloat();
                zeroPoints[i] = bb.getInt();
            }
            return new QuantizationParameters(types[typeOrdinal], axis, scales, zeroPoints);
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalArgumentException("Truncated quantization parameters", e);
        }
    }

    private void validate() {
        int qMin = quantMin(dataType);
        int qMax = quantMax(dataType);
        if (axis < PER_TENSOR) {
            throw new IllegalArgumentException("Invalid quantization axis " + axis);
        }
        if (scales.length == 0 || (axis == PER_TENSOR && scales.length != 1)) {
            throw new IllegalArgumentException(
                    "Per-tensor quantization needs exactly one scale, got " + scales.length);
        }
        for (int i = 0; i < scales.length; i++) {
            float s = scales[i];
            if (!(s > 0f) || !Float.isFinite(s)) {
                throw new IllegalArgumentException(
                        "Quantization scale must be finite and positive, got "
                                + s
                                + channelSuffix(i));
            }
            if (zeroPoints[i] < qMin || zeroPoints[i] > qMax) {
                throw new IllegalArgumentException(
                        "Zero point "
                                + zeroPoints[i]
                                + channelSuffix(i)
                                + " is outside the "
                                + dataType
                                + " range ["
                                + qMin
                                + ", "
                                + qMax
                                + "]");
            }
        }
    }

    private String channelSuffix(int channel) {
        return isPerChannel() ? " (channel " + channel + ")" : "";
    }

    /** {@inheritDoc} */
    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizationParameters p
                && dataType == p.dataType
                && axis == p.axis
                && Arrays.equals(scales, p.scales)
                && Arrays.equals(zeroPoints, p.zeroPoints);
    }

    /** {@inheritDoc} */
    @Override
    public int hashCode() {
        return 31 * (31 * (31 * dataType.hashCode() + axis) + Arrays.hashCode(scales))
                + Arrays.hashCode(zeroPoints);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        if (!isPerChannel()) {
            return dataType + "(scale=" + scales[0] + ", zeroPoint=" + zeroPoints[0] + ")";
        }
        float min = Float.MAX_VALUE;
        float max = 0f;
        for (float s : scales) {
            min = Math.min(min, s);
            max = Math.max(max, s);
        }
        return dataType
                + "(axis="
                + axis
                + ", channels="
                + scales.length
                + ", scale=["
                + min
                + ", "
                + max
                + "])";
    }
}
