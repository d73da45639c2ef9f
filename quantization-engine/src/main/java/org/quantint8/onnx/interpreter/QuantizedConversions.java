package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.ElementwiseKernels;
import org.quantint8.kernels.FloatRange;
import org.quantint8.kernels.QuantMath;
import org.quantint8.ndarray.Int8Ops;
import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxNode;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The ONNX operators that convert between real and quantized values: {@code QuantizeLinear},
 * {@code DequantizeLinear} and {@code DynamicQuantizeLinear}.
 *
 * <p>Quantized outputs are QuantInt8 arrays carrying their parameters; real outputs, scales and
 * zero points live in the run's FP32 manager.
 */
final class QuantizedConversions {

    /** The first opset with per-axis scales ({@code axis} attribute). */
    private static final long PER_AXIS_OPSET = 13;

    private QuantizedConversions() {}

    /**
     * {@code y = saturate(round_half_even(x / y_scale) + y_zero_point)}: FLOAT32 to UINT8 (the
     * default, without a zero point) or INT8, per tensor or, from opset 13, per axis. NaN has no
     * code and is refused; infinities saturate.
     */
    static NDList quantizeLinear(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        try (QuantizedScope s = new QuantizedScope("QuantizeLinear", context, inputs, 2, 3)) {
            NDArray x = s.input(0, "x");
            if (x.getDataType() != DataType.FLOAT32) {
                throw s.error("x must be FLOAT32, got " + x.getDataType());
            }
            NDArray zeroPoint = s.optionalInput(2);
            DataType type = zeroPoint == null
                    ? DataType.UINT8
                    : QuantizedArguments.requireType(
                            s, "y_zero_point", zeroPoint, DataType.UINT8, DataType.INT8);
            QuantizationParameters p = perAxisParameters(s, node, "y", x.getShape(), type);
            return s.result(Int8Ops.quantize(context.quantManager(), x, p));
        }
    }

    /**
     * {@code y = (x - x_zero_point) * x_scale}: UINT8, INT8 or INT32 (a bias, zero point 0) to
     * FLOAT32, per tensor or, from opset 13, per axis.
     */
    static NDList dequantizeLinear(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        try (QuantizedScope s = new QuantizedScope("DequantizeLinear", context, inputs, 2, 3)) {
            NDArray x = s.input(0, "x");
            DataType type = QuantizedArguments.requireType(
                    s, "x", x, DataType.UINT8, DataType.INT8, DataType.INT32);
            QuantizationParameters p = perAxisParameters(s, node, "x", x.getShape(), type);
            QuantInt8NDArray codes = QuantizedArguments.withParameters(s, x, p);
            return s.result(Int8Ops.dequantize(codes));
        }
    }

    /**
     * Quantizes FLOAT32 to UINT8 over the tensor's own range widened to include 0, computed as
     * ONNX Runtime does, in FP32: {@code scale = (max - min) / 255} (1 when the range is empty),
     * {@code zero_point = round_half_even(clamp(-min / scale, 0, 255))}. Outputs y, y_scale
     * (FLOAT32 scalar) and y_zero_point (UINT8 scalar).
     */
    static NDList dynamicQuantizeLinear(
            OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        try (QuantizedScope s = new QuantizedScope("DynamicQuantizeLinear", context, inputs, 1, 1)) {
            NDArray x = s.input(0, "x");
            if (x.getDataType() != DataType.FLOAT32) {
                throw s.error("x must be FLOAT32, got " + x.getDataType());
            }
            QuantInt8NDArray real = s.own(x);
            QuantizationParameters p = rangeParameters(s, real);
            QuantInt8NDArray y = Int8Ops.quantize(context.quantManager(), real, p);
            ByteBuffer zeroPoint = ByteBuffer.allocateDirect(1).order(ByteOrder.nativeOrder());
            zeroPoint.put(0, (byte) p.getZeroPoint(0));
            return new NDList(
                    y,
                    TensorConversion.owned(context.manager().create(p.getScale(0))),
                    TensorConversion.owned(
                            context.manager().create(zeroPoint, new Shape(), DataType.UINT8)));
        }
    }

    /**
     * Reads the parameters of a (De)QuantizeLinear node. Before opset 13 the scale is a scalar;
     * from 13 a 1-D scale follows the {@code axis} attribute (default 1).
     */
    private static QuantizationParameters perAxisParameters(
            QuantizedScope s, OnnxNode node, String tensor, Shape shape, DataType type) {
        long blockSize = node.getInt("block_size", 0);
        if (blockSize != 0) {
            throw s.error("blocked quantization (block_size " + blockSize + ") is not supported");
        }
        long axis = s.context().opset() >= PER_AXIS_OPSET
                ? node.getInt("axis", 1)
                : QuantizedArguments.NO_AXIS;
        return QuantizedArguments.read(s, tensor, 1, 2, type).parameters(s, shape, axis);
    }

    /**
     * Quantizes the FP32 input X of a fused per-tensor projection or convolution exactly as the
     * node it replaces: {@code DynamicQuantizeLinear} over its range, or {@code QuantizeLinear}
     * with the node's static parameters ({@link StaticInput}). Static codes carry scale 1: the
     * node's weight scale is then the graph's constant {@code x_scale * w_scale[c]}, which the
     * epilogue multiplies by alone, as the unfused {@code Mul} does.
     *
     * @param s the run
     * @param node the fused node
     * @param x the FP32 input
     * @return the codes, in the run's QuantInt8 manager; the caller closes them
     */
    static QuantInt8NDArray quantizeFusedInput(QuantizedScope s, OnnxNode node, NDArray x) {
        if (x.getDataType() != DataType.FLOAT32) {
            throw s.error("X must be FLOAT32, got " + x.getDataType());
        }
        QuantInt8NDArray real = s.own(x);
        StaticInput fixed = StaticInput.of(node);
        if (fixed == null) {
            return Int8Ops.quantize(s.context().quantManager(), real, rangeParameters(s, real));
        }
        QuantInt8NDArray codes =
                Int8Ops.quantize(s.context().quantManager(), real, fixed.parameters());
        codes.setQuantization(
                QuantizationParameters.perTensor(1f, fixed.zeroPoint(), fixed.codeType()));
        return codes;
    }

    /**
     * An FP32 tensor quantized per row to UINT8.
     *
     * @param codes the codes, shaped like the tensor; the caller closes them
     * @param scales the scale of each row (the flattened leading dimensions)
     * @param zeroPoints the zero point of each row
     */
    record RowQuantized(QuantInt8NDArray codes, float[] scales, int[] zeroPoints) {}

    /**
     * Quantizes the FP32 input X [..., K] of a fused per-token operator per row, in the FP32
     * arithmetic of the ONNX chain QuantInt8's quantizer writes for it: {@code lo = min(row, 0)},
     * {@code hi = max(row, 0)}, {@code s = (hi - lo) / 255} (1 where that is 0), {@code z =
     * saturate(rint(-lo / s))} and {@code q = saturate(rint(x / s + z))}, each step rounded to
     * FP32 as its node rounds it (adding z before rounding is not always the same as after).
     */
    static RowQuantized quantizePerRow(QuantizedScope s, NDArray x) {
        if (x.getDataType() != DataType.FLOAT32) {
            throw s.error("X must be FLOAT32, got " + x.getDataType());
        }
        QuantInt8NDArray real = s.own(x);
        Shape shape = real.getShape();
        int k = shape.dimension() == 0 ? 0 : Math.toIntExact(shape.get(shape.dimension() - 1));
        if (k == 0) {
            throw s.error("X must have at least one value per row, got shape " + shape);
        }
        int rows = Math.toIntExact(shape.size() / k);
        QuantInt8NDArray codes =
                s.context().quantManager().createOverwritten(shape, DataType.UINT8);
        MemorySegment src = real.getDataSegment();
        MemorySegment dst = codes.getDataSegment();
        float[] scales = new float[rows];
        int[] zeroPoints = new int[rows];
        float[] row = new float[k];
        byte[] q = new byte[k];
        for (int r = 0; r < rows; r++) {
            MemorySegment values = src.asSlice(4L * r * k, 4L * k);
            FloatRange range = ElementwiseKernels.range(values, k);
            if (!range.isFinite()) {
                codes.close();
                throw s.error(range.nonFiniteMessage("X (row " + r + ")"));
            }
            float lo = Math.min(range.min(), 0f);
            float raw = (Math.max(range.max(), 0f) - lo) / 255f;
            float scale = raw == 0f ? 1f : raw;
            int zeroPoint = QuantMath.quantize(-lo / scale, 1f, 0, 0, 255);
            float z = zeroPoint;
            MemorySegment.copy(values, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, row, 0, k);
            for (int j = 0; j < k; j++) {
                // QuantMath.quantize(x / scale + z, 1, 0, 0, 255) for finite x, without
                // branches so that C2 vectorizes it.
                float code = (float) Math.rint(row[j] / scale + z);
                q[j] = (byte) (int) Math.min(Math.max(code, 0f), 255f);
            }
            MemorySegment.copy(q, 0, dst, ValueLayout.JAVA_BYTE, (long) r * k, k);
            scales[r] = scale;
            zeroPoints[r] = zeroPoint;
        }
        return new RowQuantized(codes, scales, zeroPoints);
    }

    /**
     * The parameters {@code DynamicQuantizeLinear} chooses for a tensor, in ONNX Runtime's FP32
     * arithmetic; shared with the fused {@code QuantizeMatMul} so both agree bit for bit.
     */
    static QuantizationParameters rangeParameters(QuantizedScope s, QuantInt8NDArray x) {
        FloatRange range = ElementwiseKernels.range(x.getDataSegment(), x.getShape().size());
        if (!range.isFinite()) {
            throw s.error(range.nonFiniteMessage("x"));
        }
        // The range always includes 0, as the operator defines it.
        float min = Math.min(0f, range.min());
        float max = Math.max(0f, range.max());
        // FP32 arithmetic in ONNX Runtime's order, so that scale and zero point match it bit
        // for bit (a double computation differs in the last bit now and then).
        float scale = max == min ? 1f : (max - min) / 255f;
        if (!(scale > 0f) || !Float.isFinite(scale)) {
            throw s.error("the range [" + min + ", " + max + "] of x gives the unusable scale "
                    + scale);
        }
        float zeroPoint = Math.max(0f, Math.min(255f, 0f - min / scale));
        return QuantizationParameters.perTensor(scale, (int) Math.rint(zeroPoint), DataType.UINT8);
    }
}
