package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.Activation;
import org.quantint8.ndarray.Int8Ops;
import org.quantint8.ndarray.Int8Output;
import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxNode;

import java.util.List;

/**
 * The quantized matrix products {@code MatMulInteger} (INT32 accumulator) and {@code
 * QLinearMatMul} (requantized 8-bit output), both on {@link Int8Ops#linear}.
 *
 * <p>A is {@code [..., M, K]} (or {@code [K]}), quantized per tensor; B is {@code [K, N]},
 * quantized per tensor or per column. B is transposed to the kernel's {@code [N, K]} layout with
 * its parameters once per model when it is constant, else on every run.
 */
final class QuantizedMatMul {

    private static final DataType[] EIGHT_BIT = {DataType.UINT8, DataType.INT8};

    private QuantizedMatMul() {}

    /**
     * {@code Y = (A - a_zero_point) (B - b_zero_point)} in INT32; zero points optional, A's a
     * scalar, B's a scalar or one per column.
     */
    static NDList matMulInteger(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        try (QuantizedScope s = new QuantizedScope("MatMulInteger", context, inputs, 2, 4)) {
            NDArray a = s.input(0, "A");
            NDArray b = s.input(1, "B");
            DataType aType = QuantizedArguments.requireType(s, "A", a, EIGHT_BIT);
            DataType bType = QuantizedArguments.requireType(s, "B", b, EIGHT_BIT);
            checkShapes(s, a.getShape(), b.getShape());
            int[] aZero = QuantizedArguments.zeroPoints(
                    s, "a_zero_point", s.optionalInput(2), aType, 1);
            QuantInt8NDArray weight = s.prepared("B", s.constant(1, 3), () -> transposed(s, b,
                    QuantizedArguments.zeroPointOnly(
                            s, "b", s.optionalInput(3), bType, b.getShape().get(1))));
            QuantInt8NDArray lhs = QuantizedArguments.withZeroPoint(s, a, aZero[0]);
            return s.result(Int8Ops.linear(lhs, weight, null, Int8Output.int32()));
        }
    }

    /**
     * {@code y = saturate(round(a_scale b_scale / y_scale (A - a_zp)(B - b_zp)) + y_zp)}: A and
     * y per tensor, B per tensor or per column; y has the type of y_zero_point.
     */
    static NDList qLinearMatMul(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        try (QuantizedScope s = new QuantizedScope("QLinearMatMul", context, inputs, 8, 8)) {
            NDArray a = s.input(0, "a");
            NDArray b = s.input(3, "b");
            DataType aType = QuantizedArguments.requireType(s, "a", a, EIGHT_BIT);
            DataType bType = QuantizedArguments.requireType(s, "b", b, EIGHT_BIT);
            NDArray yZero = s.input(7, "y_zero_point");
            DataType yType = QuantizedArguments.requireType(s, "y_zero_point", yZero, EIGHT_BIT);
            s.input(2, "a_zero_point");
            s.input(5, "b_zero_point");
            checkShapes(s, a.getShape(), b.getShape());
            QuantizationParameters pa = QuantizedArguments.read(s, "a", 1, 2, aType)
                    .parameters(s, a.getShape(), QuantizedArguments.NO_AXIS);
            QuantizationParameters py = QuantizedArguments.read(s, "y", 6, 7, yType)
                    .parameters(s, new Shape(), QuantizedArguments.NO_AXIS);
            QuantInt8NDArray weight = s.prepared("b", s.constant(3, 4, 5),
                    () -> transposed(s, b, QuantizedArguments.read(s, "b", 4, 5, bType)));
            QuantInt8NDArray lhs = QuantizedArguments.withParameters(s, a, pa);
            return s.result(Int8Ops.linear(lhs, weight, null, Int8Output.quantized(py)));
        }
    }

    /**
     * The fused form of {@code DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul(x_scale *
     * b_scale)} ({@link IntegerLinearFusion}): inputs X (FP32), B ([K, N], or [N, K] with {@code
     * transB = 1}; 8-bit, constant in practice), b_scale (scalar or [N]) and an optional
     * b_zero_point, then an optional FP32 bias [N] ({@link TransformerFusion} moves a following
     * {@code Add} here); FP32 output. X is quantized exactly as DynamicQuantizeLinear does and the
     * epilogue multiplies the INT32 sum by {@code x_scale * b_scale[n]} and then adds the bias, as
     * the unfused graph does, so both give the same bits. With the {@link StaticInput}
     * attributes it is the static chain's fusion: X is quantized with them as {@code
     * QuantizeLinear} does, and b_scale is the constant product {@code x_scale * b_scale[n]} of
     * that chain's Mul.
     *
     * <p>With {@code per_token = 1} ({@link PerTokenLinearFusion}) X is quantized per row as
     * {@link QuantizedConversions#quantizePerRow} does and a sixth input, the INT32 column sums
     * of {@code B - b_zero_point} [N], is required: the output is {@code ((float) (acc - z[r] *
     * column_sums[n]) * s[r]) * b_scale[n] + bias[n]}, again in the unfused graph's FP32 order.
     *
     * <p>With {@code activation = "gelu_erf" | "gelu_tanh"} ({@link TransformerFusion}) the
     * output goes through that GELU, as the {@code Gelu} node it replaces computes it.
     */
    static NDList quantizeMatMul(
            OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        boolean perToken = node.getInt(PerTokenLinearFusion.PER_TOKEN, 0) == 1;
        try (QuantizedScope s = new QuantizedScope("QuantizeMatMul", context, inputs, 3,
                perToken ? 6 : 5)) {
            NDArray x = s.input(0, "X");
            NDArray b = s.input(1, "B");
            DataType bType = QuantizedArguments.requireType(s, "B", b, EIGHT_BIT);
            boolean transB = node.getInt(IntegerLinearFusion.TRANS_B, 0) == 1;
            checkShapes(s, x.getShape(), transB ? transpose(s, b.getShape()) : b.getShape());
            QuantInt8NDArray weight = s.prepared("B", s.constant(1, 2, 3), () -> {
                QuantizedArguments.Quantization q = QuantizedArguments.read(s, "b", 2, 3, bType);
                return transB ? rows(s, b, q) : transposed(s, b, q);
            });
            Activation activation = activation(s, node);
            NDArray y = perToken
                    ? perToken(s, x, weight, activation)
                    : perTensor(s, node, x, weight, activation);
            // Its readers run on QuantInt8 memory (TransformerFusion checked): no copy.
            boolean keep = node.getInt(TransformerOperators.KEEP, 0) == 1;
            return keep ? new NDList(y) : s.result(y);
        }
    }

    /** The {@link TransformerFusion#ACTIVATION} attribute: none, or one of the GELU forms. */
    private static Activation activation(QuantizedScope s, OnnxNode node) {
        String name = node.getString(TransformerFusion.ACTIVATION, "none");
        return switch (name) {
            case "none" -> Activation.NONE;
            case "gelu_erf" -> Activation.GELU_ERF;
            case "gelu_tanh" -> Activation.GELU_TANH;
            default -> throw s.error(TransformerFusion.ACTIVATION + " must be \"none\","
                    + " \"gelu_erf\" or \"gelu_tanh\", got \"" + name + "\"");
        };
    }

    private static NDArray perTensor(QuantizedScope s, OnnxNode node, NDArray x,
            QuantInt8NDArray weight, Activation activation) {
        return s.context().inputCodes().apply(
                () -> QuantizedConversions.quantizeFusedInput(s, node, x),
                xq -> Int8Ops.linear(xq, weight, bias(s), Int8Output.float32(activation)));
    }

    /**
     * The optional bias: a constant one in QuantInt8 memory, copied once per model, which every
     * call then reads without an engine call (the per-tensor kernels in place).
     */
    private static NDArray bias(QuantizedScope s) {
        NDArray bias = s.optionalInput(4);
        if (bias == null || bias instanceof QuantInt8NDArray || !s.constant(4)) {
            return bias;
        }
        return s.prepared("bias", true, () -> s.context().quantManager().from(bias));
    }

    private static NDArray perToken(QuantizedScope s, NDArray x, QuantInt8NDArray weight,
            Activation activation) {
        NDArray sums = s.input(5, "column_sums");
        if (sums.getDataType() != DataType.INT32 || sums.getShape().dimension() != 1) {
            throw s.error("column_sums must be a 1-D INT32 tensor, got " + sums.getDataType()
                    + " " + sums.getShape());
        }
        int[] columnSums = s.prepared("column_sums", s.constant(5), sums::toIntArray);
        QuantizedConversions.RowQuantized xq = QuantizedConversions.quantizePerRow(s, x);
        try (QuantInt8NDArray codes = xq.codes()) {
            return Int8Ops.linearPerRow(codes, xq.scales(), xq.zeroPoints(), weight, columnSums,
                    bias(s), activation);
        }
    }

    /** A is [..., M, K] or [K]; B is [K, N]. */
    private static void checkShapes(QuantizedScope s, Shape a, Shape b) {
        if (b.dimension() != 2) {
            throw s.error("B must be 2-D [K, N] (batched B is not supported), got shape " + b);
        }
        if (a.dimension() < 1 || a.get(a.dimension() - 1) != b.get(0)) {
            throw s.error("A " + a + " must end with K = " + b.get(0) + ", the first dimension"
                    + " of B " + b);
        }
    }

    /** The shape of B^T, for checking a B given as [N, K]; B must be 2-D. */
    private static Shape transpose(QuantizedScope s, Shape b) {
        if (b.dimension() != 2) {
            throw s.error("B must be 2-D [N, K] with transB, got shape " + b);
        }
        return new Shape(b.get(1), b.get(0));
    }

    /**
     * Returns B [N, K], already the kernel's layout, as a quantized copy whose per-row
     * parameters (axis 0) are the per-column ones of B^T.
     */
    private static QuantInt8NDArray rows(
            QuantizedScope s, NDArray b, QuantizedArguments.Quantization q) {
        QuantizationParameters p = q.parameters(s, b.getShape(), 0);
        // A copy, not a view: the caller's array must not change, and the copy may be cached.
        QuantInt8NDArray copy = b instanceof QuantInt8NDArray quantized
                ? (QuantInt8NDArray) quantized.duplicate()
                : s.context().quantManager().from(b);
        copy.setQuantization(p);
        return copy;
    }

    /**
     * Returns B [K, N] as the kernel's quantized [N, K] weight: per-column parameters (axis 1)
     * become per-row (axis 0) with the transpose.
     */
    private static QuantInt8NDArray transposed(
            QuantizedScope s, NDArray b, QuantizedArguments.Quantization q) {
        QuantizationParameters p = q.parameters(s, b.getShape(), 1);
        QuantInt8NDArray codes = QuantizedArguments.withParameters(s, b, p);
        return (QuantInt8NDArray) codes.transpose(1, 0);
    }
}
