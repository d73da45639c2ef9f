package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.Activation;
import org.quantint8.kernels.ChannelLayout;
import org.quantint8.kernels.ElementwiseKernels;
import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.QuantMath;
import org.quantint8.kernels.QuantizedStorage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The INT8 operators of the QuantInt8 engine.
 *
 * <p>Quantized operands are {@link QuantInt8NDArray}s that carry {@link QuantizationParameters};
 * FP32 activations given to {@link #linear}, {@link #matMul} or {@link #conv2d} are quantized on
 * the fly to UINT8 over their own range (dynamic quantization). DJL's {@code Linear}, {@code
 * Conv2d}, ReLU, pooling and embedding blocks reach these operators by themselves when their
 * parameters or inputs are quantized.
 *
 * <p>Every operator checks shapes, data types and parameters first and throws an {@link
 * IllegalArgumentException} whose message starts with the operator name.
 */
public final class Int8Ops {

    private Int8Ops() {}

    /**
     * Quantizes an FP32 QuantInt8 array: {@code q = saturate(rint(x / scale) + zeroPoint)}.
     *
     * @param x the FP32 values, a QuantInt8 array
     * @param parameters the parameters, compatible with the shape of {@code x}
     * @return the quantized array, in the manager of {@code x}
     * @throws IllegalArgumentException if {@code x} is not FP32, contains NaN, or does not fit
     */
    public static QuantInt8NDArray quantize(NDArray x, QuantizationParameters parameters) {
        if (!(x instanceof QuantInt8NDArray q)) {
            throw new IllegalArgumentException(
                    "quantize: input is a " + Operands.describe(x) + "; pass a QuantInt8"
                            + " manager with quantize(manager, x, parameters)");
        }
        return quantize((QuantInt8NDManager) q.getManager(), x, parameters);
    }

    /**
     * Quantizes FP32 values from any engine into an array of the given manager.
     *
     * @param manager the manager of the result
     * @param x the FP32 values
     * @param parameters the parameters, compatible with the shape of {@code x}
     * @return the quantized array
     * @throws IllegalArgumentException if {@code x} is not FP32, contains NaN, or does not fit
     */
    public static QuantInt8NDArray quantize(
            QuantInt8NDManager manager, NDArray x, QuantizationParameters parameters) {
        try (Operands ops = new Operands("quantize", manager)) {
            requireFloat32(ops, "input", x);
            Shape shape = x.getShape();
            parameters.checkCompatible("quantize", shape, parameters.getDataType());
            if (!parameters.isPerChannel()) {
                ops.acceptingChannelsLast(); // element-wise: the codes keep the layout
            }
            QuantInt8NDArray real = ops.own(x);
            // Element-wise: every code is written (a NaN too).
            QuantInt8NDArray result =
                    ops.overwrittenResult(shape, parameters.getDataType(), parameters);
            if (real.isChannelsLast()) {
                result.markChannelsLast();
            }
            long nans = ElementwiseKernels.quantize(
                    real.getDataSegment(),
                    result.getDataSegment(),
                    storage(parameters),
                    layout(shape, parameters),
                    parameters.getScales(),
                    parameters.getZeroPoints());
            if (nans > 0) {
                result.close();
                throw new IllegalArgumentException(
                        "quantize: input " + shape + " contains " + nans + " NaN value(s)");
            }
            return result;
        }
    }

    /**
     * Quantizes FP32 values per tensor over their own range: UINT8 asymmetric or INT8
     * symmetric. This is dynamic quantization, the choice when no calibration data exists.
     *
     * @param x the FP32 values, a QuantInt8 array
     * @param dataType {@link DataType#UINT8} or {@link DataType#INT8}
     * @return the quantized array
     * @throws IllegalArgumentException if a value is not finite
     */
    public static QuantInt8NDArray quantizeDynamic(NDArray x, DataType dataType) {
        // Element-wise over the whole tensor: a channels-last array keeps its layout.
        try (Operands ops = new Operands("quantizeDynamic", x).acceptingChannelsLast()) {
            requireFloat32(ops, "input", x);
            float[] range = ops.finiteRange("input", ops.own(x));
            return quantize(x, QuantizationParameters.forRange(range[0], range[1], dataType));
        }
    }

    /**
     * Quantizes a weight symmetrically to INT8 with one scale per channel along {@code axis},
     * each mapping the channel's largest magnitude to 127: the default weight scheme.
     *
     * @param weight the FP32 weight, a QuantInt8 array
     * @param axis the channel axis (0 for DJL's Linear and Conv2d weights)
     * @return the quantized weight
     * @throws IllegalArgumentException if the axis is out of range or a value is not finite
     */
    public static QuantInt8NDArray quantizePerChannel(NDArray weight, int axis) {
        try (Operands ops = new Operands("quantizePerChannel", weight)) {
            requireFloat32(ops, "weight", weight);
            Shape shape = weight.getShape();
            int a = Layouts.normalizeAxis("quantizePerChannel", axis, shape.dimension());
            ChannelLayout layout = ChannelLayout.of(shape.getShape(), a);
            float[] absMax = new float[layout.channels()];
            MemorySegment data = ops.own(weight).getDataSegment();
            long e = 0;
            for (long o = 0; o < layout.outer(); o++) {
                for (int c = 0; c < layout.channels(); c++) {
                    for (long i = 0; i < layout.inner(); i++, e++) {
                        float v = data.get(ValueLayout.JAVA_FLOAT_UNALIGNED, e * 4);
                        if (!Float.isFinite(v)) {
                            throw new IllegalArgumentException(
                                    "quantizePerChannel: weight has " + v + " at index " + e);
                        }
                        absMax[c] = Math.max(absMax[c], Math.abs(v));
                    }
                }
            }
            float[] scales = new float[absMax.length];
            for (int c = 0; c < scales.length; c++) {
                scales[c] = QuantizationParameters.scaleFor(absMax[c], 127);
            }
            return quantize(weight, QuantizationParameters.symmetricPerChannel(scales, a));
        }
    }

    /**
     * Returns the real values of a quantized array: {@code scale * (q - zeroPoint)}.
     *
     * @param q the quantized array
     * @return an FP32 array in the same manager
     * @throws IllegalArgumentException if {@code q} is not quantized
     */
    public static QuantInt8NDArray dequantize(NDArray q) {
        try (Operands ops = new Operands("dequantize", q)) {
            QuantInt8NDArray x = ops.quantized("input", q);
            QuantizationParameters p = x.getQuantization();
            QuantInt8NDArray result = ops.overwrittenResult(x.getShape(), DataType.FLOAT32, null);
            ElementwiseKernels.dequantize(
                    x.getDataSegment(),
                    storage(p),
                    result.getDataSegment(),
                    layout(x.getShape(), p),
                    p.getScales(),
                    p.getZeroPoints());
            return result;
        }
    }

    /**
     * Re-expresses a quantized array under new parameters (change of scale, zero point or type).
     * When one side is per channel, the other must be per tensor or per channel along the same
     * axis.
     *
     * @param q the quantized array
     * @param target the new parameters, compatible with the shape of {@code q}
     * @return the requantized array
     * @throws IllegalArgumentException if the parameters do not fit
     */
    public static QuantInt8NDArray requantize(NDArray q, QuantizationParameters target) {
        try (Operands ops = new Operands("requantize", q)) {
            QuantInt8NDArray x = ops.quantized("input", q);
            QuantizationParameters source = x.getQuantization();
            Shape shape = x.getShape();
            target.checkCompatible("requantize", shape, target.getDataType());
            if (source.isPerChannel() && target.isPerChannel()
                    && source.getAxis() != target.getAxis()) {
                throw new IllegalArgumentException(
                        "requantize: source axis " + source.getAxis() + " and target axis "
                                + target.getAxis() + " differ");
            }
            int axis = source.isPerChannel() ? source.getAxis() : target.getAxis();
            ChannelLayout layout = ChannelLayout.of(shape.getShape(), axis);
            QuantInt8NDArray result = ops.result(shape, target.getDataType(), target);
            ElementwiseKernels.requantize(
                    x.getDataSegment(), storage(source),
                    spread(source.getScales(), layout), spread(source.getZeroPoints(), layout),
                    result.getDataSegment(), storage(target),
                    spread(target.getScales(), layout), spread(target.getZeroPoints(), layout),
                    layout);
            return result;
        }
    }

    /**
     * ReLU on quantized values: codes below the zero point become the zero point.
     *
     * @param q the quantized array
     * @return the result, with the same parameters
     */
    public static QuantInt8NDArray relu(NDArray q) {
        return clampCodes("relu", q, 0f, Float.POSITIVE_INFINITY);
    }

    /**
     * Clamps quantized values to the real interval {@code [min, max]}.
     *
     * @param q the quantized array
     * @param min the lower bound, in real units
     * @param max the upper bound, in real units, not below {@code min}
     * @return the result, with the same parameters
     */
    public static QuantInt8NDArray clamp(NDArray q, float min, float max) {
        if (!(min <= max)) {
            throw new IllegalArgumentException(
                    "clamp: min " + min + " must not exceed max " + max);
        }
        return clampCodes("clamp", q, min, max);
    }

    private static QuantInt8NDArray clampCodes(String op, NDArray q, float min, float max) {
        try (Operands ops = new Operands(op, q)) {
            QuantInt8NDArray x = ops.quantized("input", q);
            QuantizationParameters p = x.getQuantization();
            int[] lower = new int[p.getChannelCount()];
            int[] upper = new int[p.getChannelCount()];
            for (int c = 0; c < lower.length; c++) {
                float s = p.getScale(c);
                int z = p.getZeroPoint(c);
                lower[c] = QuantMath.quantize(min, s, z, p.getQuantMin(), p.getQuantMax());
                upper[c] = QuantMath.quantize(max, s, z, p.getQuantMin(), p.getQuantMax());
            }
            QuantInt8NDArray result = ops.result(x.getShape(), x.getDataType(), p);
            ElementwiseKernels.clamp(
                    x.getDataSegment(), result.getDataSegment(), storage(p),
                    layout(x.getShape(), p), lower, upper);
            return result;
        }
    }

    /**
     * Adds two quantized arrays of the same shape whose scales may differ (a residual
     * connection): {@code sA (a - zA) + sB (b - zB)}, as FP32 or requantized.
     *
     * @param a a per-tensor quantized array
     * @param b a per-tensor quantized array of the same shape
     * @param out {@link Int8Output#float32()} or {@link Int8Output#quantized}
     * @return the sum
     */
    public static NDArray add(NDArray a, NDArray b, Int8Output out) {
        try (Operands ops = new Operands("add", a, b)) {
            QuantInt8NDArray x = ops.activation("left operand", requireQuantized(ops, "left", a));
            QuantInt8NDArray y = ops.activation("right operand", requireQuantized(ops, "right", b));
            if (!x.getShape().equals(y.getShape())) {
                throw new IllegalArgumentException(
                        "add: shapes " + x.getShape() + " and " + y.getShape() + " differ");
            }
            if (out.getDataType() == DataType.INT32) {
                throw new IllegalArgumentException("add: INT32 output is not meaningful");
            }
            QuantizationParameters px = x.getQuantization();
            QuantizationParameters py = y.getQuantization();
            QuantizationParameters po = out.getQuantization();
            QuantInt8NDArray result = ops.result(x.getShape(), out.getDataType(), po);
            QuantizedStorage sx = storage(px);
            QuantizedStorage sy = storage(py);
            QuantizedStorage so = po == null ? null : storage(po);
            MemorySegment dst = result.getDataSegment();
            for (long i = 0, n = x.getShape().size(); i < n; i++) {
                float real = QuantMath.dequantize(sx.get(x.getDataSegment(), i), px.getScale(0),
                                px.getZeroPoint(0))
                        + QuantMath.dequantize(sy.get(y.getDataSegment(), i), py.getScale(0),
                                py.getZeroPoint(0));
                if (so == null) {
                    dst.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4, real);
                } else {
                    so.set(dst, i, QuantMath.quantize(real, po.getScale(0), po.getZeroPoint(0),
                            so.min(), so.max()));
                }
            }
            return result;
        }
    }

    /**
     * INT8 linear layer {@code y = x W^T + b}, DJL's {@code Linear}: UINT8 or INT8 activations
     * times INT8 weights, INT32 accumulation.
     *
     * @param input FP32 (quantized dynamically) or per-tensor quantized, shape [..., K]
     * @param weight quantized [N, K], per tensor or per output channel (axis 0)
     * @param bias FP32 [N], or null; not allowed with INT32 output
     * @param out the output kind
     * @return the output, shape [..., N]; an FP32 result lives in the engine of {@code input}
     */
    public static NDArray linear(NDArray input, NDArray weight, NDArray bias, Int8Output out) {
        return GemmOps.linear(input, weight, bias, out);
    }

    /**
     * INT8 linear layer of an input quantized dynamically per row (per token), the form ONNX
     * writes as {@code MatMulInteger} with the row zero points subtracted through the weight's
     * column sums: {@code y[r][n] = ((float) (acc[r][n] - rowZeroPoints[r] * columnSums[n]) *
     * rowScales[r]) * wScale[n] + bias[n]}, where {@code acc[r][n] = sum_k codes[r][k] *
     * (W[n][k] - wZero[n])}. The integer part wraps like Java's {@code int}; each FP32 product
     * and sum is rounded on its own, in that order, so the result matches the ONNX operators
     * bit for bit.
     *
     * @param codes the input's 8-bit codes [..., K] (UINT8 or INT8; their parameters, if any,
     *     are ignored), rows being the flattened leading dimensions
     * @param rowScales the scale of each row
     * @param rowZeroPoints the zero point of each row
     * @param weight quantized [N, K], per tensor or per output channel (axis 0)
     * @param columnSums {@code sum_k (W[n][k] - wZero[n])} for each n, as the caller has them
     * @param bias FP32 [N], or null
     * @param activation applied last, to each output value
     * @return the FP32 output [..., N], in the engine of {@code codes}
     */
    public static NDArray linearPerRow(NDArray codes, float[] rowScales, int[] rowZeroPoints,
            NDArray weight, int[] columnSums, NDArray bias, Activation activation) {
        return GemmOps.linearPerRow(codes, rowScales, rowZeroPoints, weight, columnSums, bias,
                activation);
    }

    /**
     * INT8 matrix product {@code a b} with a quantized right operand in the usual [K, N] layout
     * (ONNX {@code MatMul}). For repeated use, prefer {@link #linear} with the weight stored
     * transposed once.
     *
     * @param a FP32 (quantized dynamically) or per-tensor quantized, shape [..., K]
     * @param b quantized [K, N], per tensor or per column (axis 1)
     * @param out the output kind
     * @return the product, shape [..., N]
     */
    public static NDArray matMul(NDArray a, NDArray b, Int8Output out) {
        return GemmOps.matMul(a, b, out);
    }

    /**
     * Returns the shape of the values an array holds as an NCHW tensor: its own shape, or for a
     * channels-last array ({@link QuantInt8NDArray#isChannelsLast}, shape {@code [N, H, W, C]})
     * {@code [N, C, H, W]}.
     *
     * @param x the array
     * @return the NCHW shape of its values
     */
    public static Shape valueShape(NDArray x) {
        return ConvOps.valueShape(x);
    }

    /**
     * Returns the NCHW copy of a channels-last array ({@link QuantInt8NDArray#isChannelsLast}),
     * in the array's manager: FP32 values, or 8-bit codes with their quantization.
     *
     * @param x the channels-last array
     * @return its values as NCHW planes
     * @throws IllegalArgumentException if {@code x} is not channels-last
     */
    public static QuantInt8NDArray channelsFirst(QuantInt8NDArray x) {
        if (!x.isChannelsLast()) {
            throw new IllegalArgumentException(
                    "channelsFirst: " + Operands.describe(x) + " is not channels-last");
        }
        QuantInt8NDArray planes = ((QuantInt8NDManager) x.getManager())
                .allocateOverwritten(valueShape(x), x.getDataType(), x.getQuantization());
        ConvOps.toChannelsFirst(Int8Kernels.best(), x, planes);
        return planes;
    }

    /**
     * INT8 2-D convolution of NCHW data, DJL's {@code Conv2d}, including grouped and depthwise.
     *
     * @param input FP32 (quantized dynamically) or per-tensor quantized, shape [N, C, H, W]
     * @param weight quantized [OC, C / groups, KH, KW], per tensor or per output channel
     * @param bias FP32 [OC], or null
     * @param stride two values, or an empty shape for 1
     * @param padding two values (both sides), or an empty shape for 0
     * @param dilation two values, or an empty shape for 1
     * @param groups the number of groups
     * @param out the output kind
     * @return the output [N, OC, OH, OW]
     */
    public static NDArray conv2d(
            NDArray input,
            NDArray weight,
            NDArray bias,
            Shape stride,
            Shape padding,
            Shape dilation,
            int groups,
            Int8Output out) {
        ConvGeometry g = ConvGeometry.of("conv2d", stride, padding, dilation, groups);
        return ConvOps.conv2d(input, weight, bias, g, out);
    }

    /**
     * Max pooling of quantized NCHW data; the result keeps the input's parameters.
     *
     * @param input quantized [N, C, H, W]
     * @param kernel two values
     * @param stride two values, or an empty shape for the kernel size
     * @param padding two values, at most half the kernel, or an empty shape for 0
     * @param ceilMode whether partial windows at the end produce outputs
     * @return the pooled array
     */
    public static NDArray maxPool2d(
            NDArray input, Shape kernel, Shape stride, Shape padding, boolean ceilMode) {
        return PoolOps.maxPool2d(input, kernel, stride, padding, ceilMode);
    }

    /**
     * Global average pooling of [N, C, ...] data to [N, C]. Quantized data keeps its parameters
     * and the mean code is rounded half to even; FP32 data in QuantInt8 memory is averaged in
     * double precision and rounded to FP32 once.
     *
     * @param input quantized, or a FP32 QuantInt8 array; at least 3-D
     * @return the pooled array
     */
    public static NDArray globalAvgPool(NDArray input) {
        return PoolOps.globalAvgPool(input);
    }

    /**
     * Gathers rows of a quantized embedding table into FP32: {@code out[..., d] =
     * dequantize(table[index[...], d])}.
     *
     * @param table quantized [V, D], per tensor, per row (axis 0) or per column (axis 1)
     * @param indices INT32 or INT64 indices in [0, V), any shape, any engine
     * @return FP32 [indices..., D]
     * @throws IllegalArgumentException if an index is out of range
     */
    public static NDArray gather(NDArray table, NDArray indices) {
        try (Operands ops = new Operands("gather", indices, table)) {
            QuantInt8NDArray t = ops.quantized("table", table);
            if (t.getShape().dimension() != 2) {
                throw new IllegalArgumentException(
                        "gather: table must be 2-D [rows, dim], got shape " + t.getShape());
            }
            DataType indexType = indices.getDataType();
            if (indexType != DataType.INT32 && indexType != DataType.INT64) {
                throw new IllegalArgumentException(
                        "gather: indices must be INT32 or INT64, got " + indexType);
            }
            long[] index = indexType == DataType.INT64
                    ? indices.toLongArray()
                    : java.util.Arrays.stream(indices.toIntArray()).asLongStream().toArray();
            int rows = Math.toIntExact(t.getShape().get(0));
            int dim = Math.toIntExact(t.getShape().get(1));
            QuantizationParameters p = t.getQuantization();
            QuantizedStorage type = storage(p);
            QuantInt8NDArray result =
                    ops.result(indices.getShape().add(dim), DataType.FLOAT32, null);
            MemorySegment dst = result.getDataSegment();
            for (int i = 0; i < index.length; i++) {
                long row = index[i];
                if (row < 0 || row >= rows) {
                    result.close();
                    throw new IllegalArgumentException(
                            "gather: index " + row + " at position " + i + " is outside [0, "
                                    + rows + ")");
                }
                for (int d = 0; d < dim; d++) {
                    int c = !p.isPerChannel() ? 0 : p.getAxis() == 0 ? (int) row : d;
                    int code = type.get(t.getDataSegment(), row * dim + d);
                    dst.set(ValueLayout.JAVA_FLOAT_UNALIGNED, ((long) i * dim + d) * 4,
                            QuantMath.dequantize(code, p.getScale(c), p.getZeroPoint(c)));
                }
            }
            return ops.inEngineOf(indices, result);
        }
    }

    private static NDArray requireQuantized(Operands ops, String side, NDArray x) {
        return ops.quantized(side + " operand", x);
    }

    private static void requireFloat32(Operands ops, String name, NDArray x) {
        if (x.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException(
                    ops.op() + ": " + name + " must be FLOAT32, got " + Operands.describe(x));
        }
    }

    static QuantizedStorage storage(QuantizationParameters p) {
        return QuantizedStorage.valueOf(p.getDataType().name());
    }

    private static ChannelLayout layout(Shape shape, QuantizationParameters p) {
        return ChannelLayout.of(shape.getShape(), p.getAxis());
    }

    /** Expands per-tensor values to one per channel of the layout. */
    private static float[] spread(float[] values, ChannelLayout layout) {
        if (values.length == layout.channels()) {
            return values;
        }
        float[] out = new float[layout.channels()];
        java.util.Arrays.fill(out, values[0]);
        return out;
    }

    private static int[] spread(int[] values, ChannelLayout layout) {
        if (values.length == layout.channels()) {
            return values;
        }
        int[] out = new int[layout.channels()];
        java.util.Arrays.fill(out, values[0]);
        return out;
    }
}
