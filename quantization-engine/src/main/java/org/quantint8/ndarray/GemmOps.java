package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.Activation;
import org.quantint8.kernels.GemmEpilogue;
import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.PackedInt8Matrix;
import org.quantint8.kernels.QuantMath;
import org.quantint8.kernels.QuantizedStorage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The GEMM-based INT8 operators, linear and matMul ({@link ConvOps} the 2-D convolution, on the
 * helpers here): each reduces to {@link Int8Kernels#gemm} and one epilogue that turns INT32
 * accumulators into the requested output. For FP32 output the epilogue is {@link
 * Int8Kernels#gemmF32}'s (per column for a linear layer, per row or column for a convolution),
 * which the native kernels apply in registers.
 */
final class GemmOps {

    private GemmOps() {}

    static NDArray linear(NDArray input, NDArray weight, NDArray bias, Int8Output out) {
        try (Operands ops = new Operands("linear", input, weight)) {
            QuantInt8NDArray w = weightOperand(ops, weight, 2);
            int n = Math.toIntExact(w.getShape().get(0));
            int k = Math.toIntExact(w.getShape().get(1));
            Shape inShape = input.getShape();
            if (inShape.dimension() < 1 || inShape.get(inShape.dimension() - 1) != k) {
                throw new IllegalArgumentException(
                        "linear: input shape " + inShape + " must end with the weight's input"
                                + " size " + k + " (weight shape " + w.getShape() + ")");
            }
            MemorySegment b = biasOperand(ops, bias, n, out);
            checkPostStep(ops, out, n);
            if (out.getResidual() != null) {
                throw new IllegalArgumentException("linear: a residual output is for conv2d only");
            }
            QuantInt8NDArray a = ops.activation("input", input);
            int m = Math.toIntExact(inShape.size() / k);
            Int8Matrix lhs = matrix(a, 0, m, k, null);
            long[] outDims = inShape.getShape().clone();
            outDims[outDims.length - 1] = n;
            // Every element of the result is written, by the GEMM or by the epilogue.
            QuantInt8NDArray result =
                    ops.overwrittenResult(new Shape(outDims), out.getDataType(),
                            out.getQuantization());
            Epilogue epilogue = new Epilogue(a, w, b, out);
            Int8Kernels kernels = Int8Kernels.best();
            PackedInt8Matrix packed = packed(kernels, w);
            if (out.getDataType() == DataType.FLOAT32) {
                // The native kernels apply it to the accumulators in registers: no INT32 pass.
                kernels.gemmF32(lhs, packed, epilogue.columns(n), result.getDataSegment());
            } else {
                QuantInt8NDArray acc =
                        ops.overwrittenTemporary(new Shape(m, n), DataType.INT32, null);
                kernels.gemm(lhs, packed, acc.getDataSegment());
                epilogue.apply(acc.getDataSegment(), m, n, 0, result.getDataSegment(), 0, n, 1);
            }
            return ops.inEngineOf(input, result);
        }
    }

    /**
     * The linear layer of an input quantized per row ({@link Int8Ops#linearPerRow}): the GEMM
     * with A's zero point 0, then the row's zero-point correction and scales in FP32, written in
     * place over the accumulators (both are 4 bytes a value).
     */
    static NDArray linearPerRow(NDArray codes, float[] rowScales, int[] rowZeroPoints,
            NDArray weight, int[] columnSums, NDArray bias, Activation activation) {
        try (Operands ops = new Operands("linearPerRow", codes, weight)) {
            QuantInt8NDArray w = weightOperand(ops, weight, 2);
            int n = Math.toIntExact(w.getShape().get(0));
            int k = Math.toIntExact(w.getShape().get(1));
            QuantInt8NDArray a = ops.own(codes);
            Shape inShape = a.getShape();
            DataType type = a.getDataType();
            if (type != DataType.UINT8 && type != DataType.INT8 || inShape.dimension() < 1
                    || inShape.get(inShape.dimension() - 1) != k) {
                throw new IllegalArgumentException("linearPerRow: codes must be 8-bit [..., " + k
                        + "] (weight shape " + w.getShape() + "), got " + Operands.describe(a));
            }
            int m = Math.toIntExact(inShape.size() / k);
            if (rowScales.length != m || rowZeroPoints.length != m || columnSums.length != n) {
                throw new IllegalArgumentException("linearPerRow: expected " + m + " row scales"
                        + " and zero points and " + n + " column sums, got " + rowScales.length
                        + ", " + rowZeroPoints.length + " and " + columnSums.length);
            }
            float[] b = ops.optionalVector("bias", bias, n);
            long[] outDims = inShape.getShape().clone();
            outDims[outDims.length - 1] = n;
            QuantInt8NDArray result =
                    ops.overwrittenResult(new Shape(outDims), DataType.FLOAT32, null);
            MemorySegment c = result.getDataSegment();
            Int8Kernels kernels = Int8Kernels.best();
            kernels.gemm(new Int8Matrix(a.getDataSegment(), m, k, type == DataType.INT8,
                    new int[] {0}), packed(kernels, w), c);
            float[] weightScales = w.getQuantization().getScales();
            if (weightScales.length == 1) {
                weightScales = filled(n, weightScales[0]);
            }
            new RowCorrection(rowScales, rowZeroPoints, columnSums, weightScales, b, activation)
                    .applyInPlace(c, m, n);
            return ops.inEngineOf(codes, result);
        }
    }

    /** The weight's packed form for {@code kernels}, packed on first use and kept. */
    private static PackedInt8Matrix packed(Int8Kernels kernels, QuantInt8NDArray w) {
        int n = Math.toIntExact(w.getShape().get(0));
        int k = Math.toIntExact(w.getShape().get(1));
        return w.packed(kernels, 1, g -> kernels.pack(matrix(w, 0, n, k, null)))[0];
    }

    private static float[] filled(int length, float value) {
        float[] values = new float[length];
        Arrays.fill(values, value);
        return values;
    }

    /**
     * The epilogue of {@link #linearPerRow}: {@code ((float) (acc - zp[r] * colsum[c]) *
     * scale[r]) * wScale[c] + bias[c]}, the INT32 part wrapping like Java's {@code int} and each
     * FP32 product and sum rounded on its own, in the order of the ONNX operators it replaces
     * (Mul, Sub, Cast, Mul, Mul, Add), then the activation.
     */
    private record RowCorrection(float[] rowScales, int[] rowZeroPoints, int[] columnSums,
            float[] weightScales, float[] bias, Activation activation) {

        /** Rewrites {@code rows x cols} INT32 accumulators as FP32 outputs, over heap rows. */
        void applyInPlace(MemorySegment c, int rows, int cols) {
            int[] sums = new int[cols];
            float[] out = new float[cols];
            for (int r = 0; r < rows; r++) {
                long at = 4L * r * cols;
                MemorySegment.copy(c, ValueLayout.JAVA_INT_UNALIGNED, at, sums, 0, cols);
                int zeroPoint = rowZeroPoints[r];
                float scale = rowScales[r];
                for (int j = 0; j < cols; j++) {
                    out[j] = (float) (sums[j] - zeroPoint * columnSums[j]) * scale
                            * weightScales[j];
                }
                if (bias != null) {
                    // Only with a bias: adding +0 would turn -0 into +0, which the chain keeps.
                    for (int j = 0; j < cols; j++) {
                        out[j] += bias[j];
                    }
                }
                activation.applyInPlace(out, cols);
                MemorySegment.copy(out, 0, c, ValueLayout.JAVA_FLOAT_UNALIGNED, at, cols);
            }
        }
    }

    static NDArray matMul(NDArray a, NDArray b, Int8Output out) {
        try (Operands ops = new Operands("matMul", a, b)) {
            QuantInt8NDArray rhs = ops.quantized("right operand", b);
            if (rhs.getShape().dimension() != 2) {
                throw new IllegalArgumentException(
                        "matMul: the quantized right operand must be 2-D [K, N], got shape "
                                + rhs.getShape());
            }
            QuantizationParameters q = rhs.getQuantization();
            if (q.isPerChannel() && q.getAxis() != 1) {
                throw new IllegalArgumentException(
                        "matMul: the right operand [K, N] must be quantized per tensor or per"
                                + " column (axis 1), got axis " + q.getAxis());
            }
            // [K, N] -> [N, K], the kernel's layout; the per-column axis becomes axis 0.
            try (NDArray transposed = rhs.transpose(1, 0)) {
                return linear(a, transposed, null, out);
            }
        }
    }

    static QuantInt8NDArray weightOperand(Operands ops, NDArray weight, int rank) {
        QuantInt8NDArray w = ops.quantized("weight", weight);
        QuantizationParameters q = w.getQuantization();
        if (w.getShape().dimension() != rank) {
            throw new IllegalArgumentException(
                    ops.op() + ": weight must be " + rank + "-D, got shape " + w.getShape());
        }
        if (q.getDataType() == DataType.INT32) {
            throw new IllegalArgumentException(ops.op() + ": weight must be 8-bit, got " + q);
        }
        if (q.isPerChannel() && q.getAxis() != 0) {
            throw new IllegalArgumentException(
                    ops.op() + ": weight must be quantized per tensor or per output channel"
                            + " (axis 0), got axis " + q.getAxis());
        }
        return w;
    }

    static MemorySegment biasOperand(Operands ops, NDArray bias, long channels,
            Int8Output out) {
        if (bias != null && out.getDataType() == DataType.INT32) {
            throw new IllegalArgumentException(
                    ops.op() + ": the INT32 output is the raw accumulator and takes no FP32 bias");
        }
        return ops.optionalVectorMemory("bias", bias, channels);
    }

    static void checkPostStep(Operands ops, Int8Output out, long channels) {
        float[] scale = out.getPostScale();
        if (scale != null && scale.length != channels) {
            throw new IllegalArgumentException(ops.op() + ": the output's affine step has "
                    + scale.length + " channels, the operator has " + channels);
        }
    }

    static Int8Matrix matrix(
            QuantInt8NDArray x, long offset, int rows, int cols, int[] zeroPoints) {
        MemorySegment data = x.getDataSegment().asSlice(offset, (long) rows * cols);
        int[] zeros = zeroPoints != null ? zeroPoints : x.getQuantization().getZeroPoints();
        return new Int8Matrix(data, rows, cols, x.getDataType() == DataType.INT8, zeros);
    }

    /**
     * Turns INT32 accumulators into the output: {@code acc * (scaleA * scaleW[c]) + bias[c]},
     * returned as FP32 or requantized, or the accumulator itself for INT32 output. The bias is
     * FP32 memory, one value a channel, or null.
     */
    record Epilogue(float inputScale, QuantizationParameters weights, MemorySegment bias,
            Int8Output out) {

        /** No bias, as read by the kernels: +0 for every channel, read-only, grown as needed. */
        private static volatile MemorySegment zeros = MemorySegment.NULL;

        Epilogue(QuantInt8NDArray a, QuantInt8NDArray w, MemorySegment bias, Int8Output out) {
            this(a.getQuantization().getScale(0), w.getQuantization(), bias, out);
        }

        /**
         * Writes the epilogue of an accumulator of {@code rows x cols} (row-major, one output
         * channel per column) to {@code dst[dstOffset + r * rowStride + c * colStride]}.
         */
        void apply(
                MemorySegment acc,
                int rows,
                int cols,
                int channelOffset,
                MemorySegment dst,
                long dstOffset,
                long rowStride,
                long colStride) {
            float[] scales = scales(channelOffset, cols);
            float[] offsets = offsets(channelOffset, cols);
            PostStep post = PostStep.of(out, channelOffset, cols);
            QuantizationParameters q = out.getQuantization();
            QuantizedStorage storage = q == null ? null : Int8Ops.storage(q);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    long i = (long) r * cols + c;
                    int sum = acc.get(ValueLayout.JAVA_INT_UNALIGNED, i * 4);
                    long o = dstOffset + r * rowStride + c * colStride;
                    if (out.getDataType() == DataType.INT32) {
                        dst.set(ValueLayout.JAVA_INT_UNALIGNED, o * 4, sum);
                        continue;
                    }
                    float real = post.apply(sum * scales[c] + offsets[c], c);
                    if (storage == null) {
                        dst.set(ValueLayout.JAVA_FLOAT_UNALIGNED, o * 4, real);
                    } else {
                        storage.set(dst, o, QuantMath.quantize(real, q.getScale(0),
                                q.getZeroPoint(0), storage.min(), storage.max()));
                    }
                }
            }
        }

        /**
         * The FP32 epilogue of a linear layer's {@code cols} output features, one a column: the
         * weight's scales and the bias as they are kept (native ones reach the native kernels
         * without a copy), the input's scale applied in the kernel.
         */
        GemmEpilogue columns(int cols) {
            PostStep post = PostStep.of(out, 0, cols);
            return GemmEpilogue.perColumn(inputScale, weights.scaleVector(cols),
                    bias == null ? zeros(cols) : bias, post.scale(), post.shift(),
                    post.activation());
        }

        private static MemorySegment zeros(int cols) {
            MemorySegment all = zeros;
            if (all.byteSize() < 4L * cols) {
                all = Arena.ofAuto().allocate(4L * cols, 64);
                zeros = all;
            }
            return all.asSlice(0, 4L * cols);
        }

        /**
         * The FP32 epilogue of {@code count} channels from {@code channelOffset}, one a row, with
         * their slice of the residual (or null).
         */
        GemmEpilogue rows(int channelOffset, int count, MemorySegment residual) {
            PostStep post = PostStep.of(out, channelOffset, count);
            return GemmEpilogue.perRow(scales(channelOffset, count), offsets(channelOffset, count),
                    post.scale(), post.shift(), residual, post.activation());
        }

        /**
         * The FP32 epilogue of {@code count} channels from {@code channelOffset}, one a column
         * (positions on rows, see {@link ConvOps}): with the residual, laid out as the output,
         * and the activation when {@code whole}; else without them, since they follow the
         * transposition to NCHW planes.
         */
        GemmEpilogue byPositions(int channelOffset, int count, boolean whole,
                MemorySegment residual) {
            PostStep post = PostStep.of(out, channelOffset, count);
            return new GemmEpilogue(true, 1f, MemorySegment.ofArray(scales(channelOffset, count)),
                    MemorySegment.ofArray(offsets(channelOffset, count)),
                    post.scale() == null ? null : MemorySegment.ofArray(post.scale()),
                    post.shift() == null ? null : MemorySegment.ofArray(post.shift()),
                    whole ? residual : null, whole ? post.activation() : Activation.NONE);
        }

        /** {@code scaleA * scaleW[c]} for the given channels, rounded to FP32. */
        private float[] scales(int channelOffset, int cols) {
            float[] scales = new float[cols];
            boolean perChannel = weights.isPerChannel();
            for (int c = 0; c < cols; c++) {
                scales[c] = inputScale * weights.getScale(perChannel ? channelOffset + c : 0);
            }
            return scales;
        }

        /**
         * The bias of the given channels, 0 without one: adding +0 keeps the sum of the general
         * formula bit for bit (it turns -0 into +0, as the bias-free loop always did).
         */
        private float[] offsets(int channelOffset, int cols) {
            float[] offsets = new float[cols];
            if (bias != null) {
                MemorySegment.copy(bias, ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * channelOffset,
                        offsets, 0, cols);
            }
            return offsets;
        }
    }

    /**
     * The FP32 output's per-channel affine step and activation ({@link Int8Output#float32(float[],
     * float[], boolean)}) for the channels of one epilogue call: each product and sum rounded to
     * FP32 on its own, as the unfused operators compute them.
     */
    private record PostStep(float[] scale, float[] shift, Activation activation) {

        static PostStep of(Int8Output out, int channelOffset, int cols) {
            float[] scale = out.getPostScale();
            float[] shift = out.getPostShift();
            int end = channelOffset + cols;
            return new PostStep(
                    scale == null ? null : Arrays.copyOfRange(scale, channelOffset, end),
                    shift == null ? null : Arrays.copyOfRange(shift, channelOffset, end),
                    out.getActivation());
        }

        float apply(float x, int c) {
            return activation.apply(scale == null ? x : x * scale[c] + shift[c]);
        }
    }
}
