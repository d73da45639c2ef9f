package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;

import org.quantint8.ndarray.Int8Ops;
import org.quantint8.ndarray.Int8Output;
import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxNode;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * The quantized convolutions {@code ConvInteger} (INT32 accumulator) and {@code QLinearConv}
 * (requantized 8-bit output), both on {@link Int8Ops#conv2d}.
 *
 * <p>The input is quantized per tensor; the weight per tensor or per output channel, prepared
 * once per model when constant. 1-D convolutions run as 2-D ones of height 1; asymmetric padding
 * (explicit or from {@code auto_pad} SAME_*) is applied to a padded copy of the input, filled with
 * its zero point, which stands for real zero.
 */
final class QuantizedConv {

    private static final DataType[] EIGHT_BIT = {DataType.UINT8, DataType.INT8};

    private QuantizedConv() {}

    /**
     * {@code y = conv(x - x_zero_point, w - w_zero_point)} in INT32; x's zero point a scalar,
     * w's a scalar or one per output channel.
     */
    static NDList convInteger(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        try (QuantizedScope s = new QuantizedScope("ConvInteger", context, inputs, 2, 4)) {
            NDArray x = s.input(0, "x");
            NDArray w = s.input(1, "w");
            DataType xType = QuantizedArguments.requireType(s, "x", x, EIGHT_BIT);
            DataType wType = QuantizedArguments.requireType(s, "w", w, EIGHT_BIT);
            QuantizedConvGeometry g = QuantizedConvGeometry.of(s, node, x.getShape(), w.getShape());
            int[] xZero = QuantizedArguments.zeroPoints(
                    s, "x_zero_point", s.optionalInput(2), xType, 1);
            QuantInt8NDArray weight = s.prepared("w", s.constant(1, 3), () -> weight(s, w,
                    QuantizedArguments.zeroPointOnly(
                            s, "w", s.optionalInput(3), wType, w.getShape().get(0))));
            QuantInt8NDArray input = QuantizedArguments.withZeroPoint(s, x, xZero[0]);
            return s.result(conv(s, input, weight, null, g, Int8Output.int32()));
        }
    }

    /**
     * {@code y = saturate(round(x_scale w_scale / y_scale (conv(x - x_zp, w - w_zp) + B)) +
     * y_zp)}: x and y per tensor, w per tensor or per output channel, the optional INT32 bias B
     * in units of {@code x_scale * w_scale}; y has the type of y_zero_point.
     */
    static NDList qLinearConv(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        try (QuantizedScope s = new QuantizedScope("QLinearConv", context, inputs, 8, 9)) {
            NDArray x = s.input(0, "x");
            NDArray w = s.input(3, "w");
            DataType xType = QuantizedArguments.requireType(s, "x", x, EIGHT_BIT);
            DataType wType = QuantizedArguments.requireType(s, "w", w, EIGHT_BIT);
            NDArray yZero = s.input(7, "y_zero_point");
            DataType yType = QuantizedArguments.requireType(s, "y_zero_point", yZero, EIGHT_BIT);
            s.input(2, "x_zero_point");
            s.input(5, "w_zero_point");
            QuantizedConvGeometry g = QuantizedConvGeometry.of(s, node, x.getShape(), w.getShape());
            QuantizationParameters px = QuantizedArguments.read(s, "x", 1, 2, xType)
                    .parameters(s, x.getShape(), QuantizedArguments.NO_AXIS);
            QuantizationParameters py = QuantizedArguments.read(s, "y", 6, 7, yType)
                    .parameters(s, new Shape(), QuantizedArguments.NO_AXIS);
            QuantInt8NDArray weight = s.prepared("w", s.constant(3, 4, 5),
                    () -> weight(s, w, QuantizedArguments.read(s, "w", 4, 5, wType)));
            NDArray bias = bias(s, s.optionalInput(8), px, weight);
            QuantInt8NDArray input = QuantizedArguments.withParameters(s, x, px);
            return s.result(conv(s, input, weight, bias, g, Int8Output.quantized(py)));
        }
    }

    /**
     * The fused form of {@code DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul(x_scale *
     * w_scale)}, optionally followed by {@code Add(B)}, {@code BatchNormalization}, {@code
     * Add(residual)}, {@code Relu} and {@code MaxPool} ({@link IntegerLinearFusion}, {@link
     * ConvTail}): inputs X (FP32), W (8-bit), w_scale (scalar or per output channel), then
     * optional w_zero_point, B (FP32, one value per channel), the four normalization parameters
     * and the residual (FP32); the convolution's attributes plus {@code epsilon}, {@code relu},
     * the MaxPool's as {@code pool_*} and {@code output_in_engine} (1: the FP32 output stays a
     * QuantInt8 array). Each step rounds to FP32 as the unfused operator does, so both give the
     * same values. With the {@link StaticInput} attributes it is the static chain's fusion: X is
     * quantized with them as {@code QuantizeLinear} does, and w_scale is the constant product
     * {@code x_scale * w_scale[c]} of that chain's Mul.
     */
    static NDList quantizeConv(
            OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        try (QuantizedScope s = new QuantizedScope("QuantizeConv", context, inputs, 3, 10)) {
            NDArray x = s.input(0, "X");
            NDArray w = s.input(1, "W");
            DataType wType = QuantizedArguments.requireType(s, "W", w, EIGHT_BIT);
            // x may be a fused convolution's channels-last output (see ChannelsLastValues).
            Shape xShape = Int8Ops.valueShape(x);
            QuantizedConvGeometry g = QuantizedConvGeometry.of(s, node, xShape, w.getShape());
            long channels = w.getShape().get(0);
            QuantInt8NDArray weight = s.prepared("W", s.constant(1, 2, 3),
                    () -> weight(s, w, weightQuantization(s, wType, channels)));
            NDArray bias = s.optionalInput(4) == null ? null : s.prepared("B", s.constant(4),
                    () -> context.quantManager().create(channelValues(s, "B", s.input(4, "B"),
                            channels)));
            float[][] affine = normalization(s, node, channels);
            boolean relu = node.getInt(IntegerLinearFusion.RELU, 0) == 1;
            NDArray residual = s.optionalInput(ConvTail.RESIDUAL_INPUT);
            // A residual of another shape (a broadcasting Add), or of a 1-D convolution, is added
            // after the convolution.
            boolean fuseResidual = residual != null && residual.getDataType() == DataType.FLOAT32
                    && xShape.dimension() == 4
                    && Int8Ops.valueShape(residual).equals(g.outputShape(xShape, w.getShape()));
            if (residual instanceof QuantInt8NDArray last && last.isChannelsLast()
                    && !fuseResidual) {
                residual = s.temporary(Int8Ops.channelsFirst(last));
            }
            boolean fusedRelu = relu && (residual == null || fuseResidual);
            Int8Output out = affine == null ? Int8Output.float32(null, null, fusedRelu)
                    : Int8Output.float32(affine[0], affine[1], fusedRelu);
            if (fuseResidual) {
                out = out.withResidual(s.own(residual));
            }
            long[] pool = node.getInts(ConvTail.POOL + "kernel_shape", null);
            // Only when the convolution writes the whole output: no Add or MaxPool after it.
            if (node.getInt(ChannelsLastValues.OUTPUT_CHANNELS_LAST, 0) == 1 && pool == null
                    && (residual == null || fuseResidual)) {
                out = out.withChannelsLastAllowed();
            }
            Int8Output output = out;
            NDArray y = context.inputCodes().apply(
                    () -> QuantizedConversions.quantizeFusedInput(s, node, x),
                    xq -> conv(s, xq, weight, bias, g, output));
            if (residual != null && !fuseResidual) {
                try (NDArray conv = y; NDArray sum = conv.add(residual)) {
                    y = relu ? Activation.relu(sum) : sum.duplicate();
                }
            }
            if (pool != null) {
                // In QuantInt8, on the FP32 output: no round trip to the FP32 engine for it.
                long[] pads = node.getInts(ConvTail.POOL + "pads", null);
                try (NDArray full = y) {
                    y = Int8Ops.maxPool2d(full, new Shape(pool),
                            new Shape(node.getInts(ConvTail.POOL + "strides", null)),
                            new Shape(pads[0], pads[1]),
                            node.getInt(ConvTail.POOL + "ceil_mode", 0) != 0);
                }
            }
            // When only the next convolutions' quantizers read it, the output stays where they
            // read it: moving it to the FP32 engine and back copied every activation twice.
            return node.getInt(ConvTail.OUTPUT_IN_ENGINE, 0) == 1 ? new NDList(y) : s.result(y);
        }
    }

    /**
     * The inference-mode normalization {@code x * factor + shift} with {@code factor = scale /
     * sqrt(var + epsilon)} and {@code shift = bias - mean * factor}, each step rounded to FP32 as
     * the unfused BatchNormalization computes it; null without normalization inputs.
     */
    private static float[][] normalization(QuantizedScope s, OnnxNode node, long channels) {
        if (s.optionalInput(5) == null) {
            return null;
        }
        float epsilon = node.getFloat("epsilon", 1e-5f);
        return s.prepared("normalization", s.constant(5, 6, 7, 8), () -> {
            float[] gamma = channelValues(s, "bn_scale", s.input(5, "bn_scale"), channels);
            float[] beta = channelValues(s, "bn_bias", s.input(6, "bn_bias"), channels);
            float[] mean = channelValues(s, "bn_mean", s.input(7, "bn_mean"), channels);
            float[] variance = channelValues(s, "bn_var", s.input(8, "bn_var"), channels);
            float[] factor = new float[gamma.length];
            float[] shift = new float[gamma.length];
            for (int c = 0; c < gamma.length; c++) {
                // sqrt of a float in double precision rounds to the correctly rounded float sqrt.
                float std = (float) Math.sqrt(variance[c] + epsilon);
                factor[c] = gamma[c] / std;
                shift[c] = beta[c] - mean[c] * factor[c];
            }
            return new float[][] {factor, shift};
        });
    }

    /**
     * The weight's scales and zero points: the scale as the unfused graph multiplies by it (a
     * scalar, or one value per output channel in a shape that broadcasts over the output, such
     * as [1, C, 1, 1]); a scalar zero point serves every channel.
     */
    private static QuantizedArguments.Quantization weightQuantization(
            QuantizedScope s, DataType wType, long channels) {
        NDArray scale = s.input(2, "w_scale");
        long count = scale.getShape().size();
        if (count != 1 && count != channels) {
            throw s.error("w_scale must be a scalar or have one value per output channel ("
                    + channels + "), got shape " + scale.getShape());
        }
        float[] scales = QuantizedArguments.scales(s, "w_scale",
                s.temporary(scale.reshape(count)));
        NDArray zeroPoint = s.optionalInput(3);
        long zeroCount = zeroPoint == null ? scales.length : zeroPoint.getShape().size();
        int[] zeros = QuantizedArguments.zeroPoints(s, "w_zero_point", zeroPoint == null
                ? null : s.temporary(zeroPoint.reshape(zeroCount)), wType, (int) zeroCount);
        if (zeros.length != scales.length) {
            int zero = zeros[0];
            if (zeros.length != 1) {
                throw s.error("w_zero_point has " + zeros.length + " values, expected 1 or "
                        + scales.length);
            }
            zeros = new int[scales.length];
            Arrays.fill(zeros, zero);
        }
        return new QuantizedArguments.Quantization("w", scales, zeros, wType);
    }

    /** The FP32 values of a per-channel input (any shape holding one value per channel). */
    private static float[] channelValues(QuantizedScope s, String name, NDArray a, long channels) {
        if (a.getDataType() != DataType.FLOAT32 || a.getShape().size() != channels) {
            throw s.error(name + " must be FLOAT32 with one value per output channel (" + channels
                    + "), got " + a.getDataType() + " " + a.getShape());
        }
        return a.toFloatArray();
    }

    /**
     * Returns the weight with its parameters as a new 4-D array (a 1-D kernel gains height 1);
     * always a new array, since a cached weight must not be the caller's.
     */
    private static QuantInt8NDArray weight(
            QuantizedScope s, NDArray w, QuantizedArguments.Quantization q) {
        QuantInt8NDArray codes = QuantizedArguments.withParameters(
                s, w, q.parameters(s, w.getShape(), 0));
        Shape shape = w.getShape();
        int[] hw = QuantizedConvGeometry.spatial(shape);
        return (QuantInt8NDArray) codes.reshape(new Shape(shape.get(0), shape.get(1), hw[0], hw[1]));
    }

    /** Converts the INT32 bias to the FP32 real values the INT8 operator adds. */
    private static NDArray bias(
            QuantizedScope s, NDArray b, QuantizationParameters px, QuantInt8NDArray weight) {
        if (b == null) {
            return null;
        }
        QuantizationParameters pw = weight.getQuantization();
        long channels = weight.getShape().get(0);
        if (b.getDataType() != DataType.INT32 || b.getShape().dimension() != 1
                || b.getShape().get(0) != channels) {
            throw s.error("B must be INT32 [" + channels + "], got " + b.getDataType() + " "
                    + b.getShape());
        }
        int[] codes = QuantizedArguments.codes(b);
        float[] real = new float[codes.length];
        for (int c = 0; c < codes.length; c++) {
            // The product of the scales as the INT8 operator forms it, so that B adds exactly
            // B accumulator units.
            float scale = px.getScale(0) * pw.getScale(pw.isPerChannel() ? c : 0);
            real[c] = codes[c] * scale;
        }
        return s.temporary(s.context().quantManager().create(real));
    }

    /** Runs the 2-D convolution, padding explicitly when the pads differ between sides. */
    private static NDArray conv(QuantizedScope s, QuantInt8NDArray x, QuantInt8NDArray w,
            NDArray bias, QuantizedConvGeometry g, Int8Output out) {
        if (x.isChannelsLast() && !g.symmetric()) {
            x = s.temporary(Int8Ops.channelsFirst(x)); // padded() writes NCHW planes
        }
        Shape xShape = x.getShape();
        int[] hw = QuantizedConvGeometry.spatial(xShape);
        QuantInt8NDArray input = g.spatialRank() == 2 ? x : s.temporary((QuantInt8NDArray)
                x.reshape(new Shape(xShape.get(0), xShape.get(1), hw[0], hw[1])));
        Shape padding = new Shape(g.padBegin()[0], g.padBegin()[1]);
        if (!g.symmetric()) {
            input = padded(s, input, g);
            padding = new Shape(0, 0);
        }
        NDArray y = Int8Ops.conv2d(input, w, bias, new Shape(g.strides()[0], g.strides()[1]),
                padding, new Shape(g.dilations()[0], g.dilations()[1]), g.group(), out);
        if (g.spatialRank() == 2) {
            return y;
        }
        try (NDArray y4 = y) {
            Shape s4 = y4.getShape();
            return y4.reshape(new Shape(s4.get(0), s4.get(1), s4.get(3)));
        }
    }

    /** Returns a copy of NCHW x with the node's pads around each plane, filled with x's zero point. */
    private static QuantInt8NDArray padded(QuantizedScope s, QuantInt8NDArray x,
            QuantizedConvGeometry g) {
        Shape shape = x.getShape();
        int h = Math.toIntExact(shape.get(2));
        int w = Math.toIntExact(shape.get(3));
        int ph = h + g.padBegin()[0] + g.padEnd()[0];
        int pw = w + g.padBegin()[1] + g.padEnd()[1];
        long planes = shape.get(0) * shape.get(1);
        QuantInt8NDArray out = s.temporary(s.context().quantManager()
                .create(new Shape(shape.get(0), shape.get(1), ph, pw), x.getDataType()));
        out.setQuantization(x.getQuantization());
        MemorySegment dst = out.getDataSegment();
        dst.fill((byte) x.getQuantization().getZeroPoint(0));
        MemorySegment src = x.getDataSegment();
        for (long p = 0; p < planes; p++) {
            for (int r = 0; r < h; r++) {
                long from = (p * h + r) * w;
                long to = (p * ph + r + g.padBegin()[0]) * pw + g.padBegin()[1];
                MemorySegment.copy(src, from, dst, to, w);
            }
        }
        return out;
    }
}
