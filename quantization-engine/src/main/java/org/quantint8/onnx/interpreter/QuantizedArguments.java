package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantizationParameters;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Reads the quantization of a tensor the ONNX way, from a node's scale and zero-point inputs,
 * and gives integer inputs the {@link QuantizationParameters} the INT8 operators need.
 *
 * <p>Every check throws through {@link QuantizedScope#error}, so each message names the operator
 * and the input.
 */
final class QuantizedArguments {

    private QuantizedArguments() {}

    /** The axis of an operand that admits only per-tensor quantization. */
    static final long NO_AXIS = Long.MIN_VALUE;

    /**
     * The scales and zero points of one operand as the node gives them, before they are matched
     * to the operand's shape.
     *
     * @param name the operand's name in the ONNX specification, for messages
     * @param scales the scales, finite and positive
     * @param zeroPoints one zero point per scale
     * @param dataType the operand's data type
     */
    record Quantization(String name, float[] scales, int[] zeroPoints, DataType dataType) {

        /**
         * Returns the parameters for an operand of the given shape: per tensor when there is one
         * scale, else one scale and zero point per index of {@code axis}.
         *
         * @param s the run, for messages
         * @param shape the operand's shape
         * @param axis the axis per-axis scales follow, possibly negative, or {@link #NO_AXIS}
         */
        QuantizationParameters parameters(QuantizedScope s, Shape shape, long axis) {
            if (scales.length == 1) {
                return QuantizationParameters.perTensor(scales[0], zeroPoints[0], dataType);
            }
            if (axis == NO_AXIS) {
                throw s.error(name + "_scale must be a scalar (per-tensor quantization), got "
                        + scales.length + " values");
            }
            int a = QuantizedArguments.axis(s, axis, shape.dimension());
            if (shape.get(a) != scales.length) {
                throw s.error(name + "_scale has " + scales.length + " values but axis " + a
                        + " of " + name + " " + shape + " has " + shape.get(a));
            }
            return QuantizationParameters.perChannel(scales, zeroPoints, a, dataType);
        }
    }

    /**
     * Reads an operand's scale and zero-point inputs, once per model when both are constant.
     *
     * @param s the run
     * @param name the operand's name in the ONNX specification
     * @param scaleIndex the index of the scale input (required)
     * @param zeroPointIndex the index of the zero-point input (omitted means zero)
     * @param type the operand's data type, which the zero point must have
     * @return the scales and zero points
     */
    static Quantization read(
            QuantizedScope s, String name, int scaleIndex, int zeroPointIndex, DataType type) {
        NDArray scale = s.input(scaleIndex, name + "_scale");
        NDArray zeroPoint = s.optionalInput(zeroPointIndex);
        return s.prepared("quantization:" + scaleIndex + ':' + type,
                s.constant(scaleIndex, zeroPointIndex), () -> {
                    float[] scales = scales(s, name + "_scale", scale);
                    int[] zeros = zeroPoints(s, name + "_zero_point", zeroPoint, type,
                            scales.length);
                    return new Quantization(name, scales, zeros, type);
                });
    }

    /**
     * Reads the zero point of an operand that has no scale (MatMulInteger, ConvInteger): omitted,
     * a scalar, or one value per channel. The scales are 1, which an INT32 result ignores.
     *
     * @param s the run
     * @param name the operand's name in the ONNX specification
     * @param zeroPoint the zero-point input, or null
     * @param type the operand's data type
     * @param channels the number of channels a per-channel zero point must have
     * @return the quantization
     */
    static Quantization zeroPointOnly(
            QuantizedScope s, String name, NDArray zeroPoint, DataType type, long channels) {
        long count = zeroPoint == null ? 1 : zeroPoint.getShape().size();
        if (count != 1 && count != channels) {
            throw s.error(name + "_zero_point must be a scalar or have " + channels
                    + " values, got shape " + zeroPoint.getShape());
        }
        int[] zeros = zeroPoints(s, name + "_zero_point", zeroPoint, type, (int) count);
        float[] ones = new float[zeros.length];
        Arrays.fill(ones, 1f);
        return new Quantization(name, ones, zeros, type);
    }

    /** Reads a scale input: FLOAT32, a scalar or 1-D, every value finite and positive. */
    static float[] scales(QuantizedScope s, String name, NDArray scale) {
        if (scale.getDataType() != DataType.FLOAT32) {
            throw s.error(name + " must be FLOAT32, got " + scale.getDataType());
        }
        checkScalarOrVector(s, name, scale);
        float[] values = scale.toFloatArray();
        for (int i = 0; i < values.length; i++) {
            if (!(values[i] > 0f) || !Float.isFinite(values[i])) {
                throw s.error(name + " must be finite and positive, got " + values[i]
                        + (values.length > 1 ? " at index " + i : ""));
            }
        }
        return values;
    }

    /**
     * Reads a zero-point input of the operand's type, one value per scale; an omitted one is
     * zero. An INT32 operand (a bias) admits only zero.
     */
    static int[] zeroPoints(
            QuantizedScope s, String name, NDArray zeroPoint, DataType type, int count) {
        if (zeroPoint == null) {
            return new int[count];
        }
        if (zeroPoint.getDataType() != type) {
            throw s.error(name + " must have the type of its tensor, " + type + ", got "
                    + zeroPoint.getDataType());
        }
        checkScalarOrVector(s, name, zeroPoint);
        int[] values = codes(zeroPoint);
        if (values.length != count) {
            throw s.error(name + " has " + values.length + " values, expected " + count
                    + (count == 1 ? " (per-tensor)" : " (one per scale)"));
        }
        if (type == DataType.INT32 && Arrays.stream(values).anyMatch(v -> v != 0)) {
            throw s.error(name + " of an INT32 tensor must be 0, got " + Arrays.toString(values));
        }
        return values;
    }

    /** Requires one of the 8-bit integer types (or INT32 where allowed) and returns it. */
    static DataType requireType(QuantizedScope s, String name, NDArray x, DataType... allowed) {
        DataType type = x.getDataType();
        if (Arrays.asList(allowed).contains(type)) {
            return type;
        }
        throw s.error(name + " must be " + Arrays.toString(allowed) + ", got " + type);
    }

    /**
     * Returns the codes of {@code x} as a QuantInt8 array carrying {@code p}: {@code x} itself
     * when it already does (the output of a QuantizeLinear with the same parameters), else a
     * temporary copy, since the caller's array must not change.
     */
    static QuantInt8NDArray withParameters(QuantizedScope s, NDArray x, QuantizationParameters p) {
        if (x instanceof QuantInt8NDArray q && p.equals(q.getQuantization())) {
            return q;
        }
        QuantInt8NDArray copy = x instanceof QuantInt8NDArray q
                ? s.temporary((QuantInt8NDArray) q.duplicate())
                : s.own(x);
        copy.setQuantization(p);
        return copy;
    }

    /**
     * Returns the codes of {@code x} with the given zero point, for an INT32 result where the
     * scale plays no part: {@code x} itself when it is quantized per tensor with that zero point,
     * whatever its scale, else a copy with scale 1.
     */
    static QuantInt8NDArray withZeroPoint(QuantizedScope s, NDArray x, int zeroPoint) {
        if (x instanceof QuantInt8NDArray q && q.isQuantized()) {
            QuantizationParameters p = q.getQuantization();
            if (!p.isPerChannel() && p.getZeroPoint(0) == zeroPoint) {
                return q;
            }
        }
        return withParameters(
                s, x, QuantizationParameters.perTensor(1f, zeroPoint, x.getDataType()));
    }

    /** Returns the integer values of an INT8, UINT8 or INT32 array. */
    static int[] codes(NDArray x) {
        ByteBuffer bb = x.toByteBuffer().order(ByteOrder.nativeOrder());
        int n = Math.toIntExact(x.getShape().size());
        int[] values = new int[n];
        for (int i = 0; i < n; i++) {
            values[i] = switch (x.getDataType()) {
                case INT8 -> bb.get(i);
                case UINT8 -> bb.get(i) & 0xFF;
                case INT32 -> bb.getInt(i * 4);
                default -> throw new IllegalArgumentException(
                        "Not an integer code type: " + x.getDataType());
            };
        }
        return values;
    }

    /** Normalizes an axis attribute against a rank. */
    static int axis(QuantizedScope s, long axis, int rank) {
        if (axis < -rank || axis >= rank) {
            throw s.error("axis " + axis + " is out of range for rank " + rank);
        }
        return (int) (axis < 0 ? axis + rank : axis);
    }

    private static void checkScalarOrVector(QuantizedScope s, String name, NDArray x) {
        Shape shape = x.getShape();
        if (shape.dimension() > 1 || shape.size() == 0) {
            throw s.error(name + " must be a scalar or a non-empty 1-D tensor, got shape "
                    + shape);
        }
    }
}
