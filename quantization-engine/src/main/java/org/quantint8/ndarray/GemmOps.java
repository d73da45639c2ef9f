package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.PackedInt8Matrix;
import org.quantint8.kernels.QuantMath;
import org.quantint8.kernels.QuantizedStorage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The GEMM-based INT8 operators, linear and 2-D convolution: both reduce to {@link
 * Int8Kernels#gemm} followed by one epilogue that turns INT32 accumulators into the requested
 * output.
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
            float[] b = biasOperand(ops, bias, n, out);
            checkPostStep(ops, out, n);
            QuantInt8NDArray a = ops.activation("input", input);
            int m = Math.toIntExact(inShape.size() / k);
            QuantInt8NDArray acc = ops.temporary(new Shape(m, n), DataType.INT32, null);
            Int8Kernels kernels = Int8Kernels.best();
            PackedInt8Matrix packed =
                    w.packed(kernels, 1, g -> kernels.pack(matrix(w, 0, n, k, null)))[0];
            kernels.gemm(matrix(a, 0, m, k, null), packed, acc.getDataSegment());
            long[] outDims = inShape.getShape().clone();
            outDims[outDims.length - 1] = n;
            QuantInt8NDArray result =
                    ops.result(new Shape(outDims), out.getDataType(), out.getQuantization());
            Epilogue epilogue = new Epilogue(a, w, b, out);
            epilogue.apply(acc.getDataSegment(), m, n, 0, result.getDataSegment(), 0, n, 1);
            return ops.inEngineOf(input, result);
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

    static NDArray conv2d(
            NDArray input,
            NDArray weight,
            NDArray bias,
            ConvGeometry geometry,
            Int8Output out) {
        try (Operands ops = new Operands("conv2d", input, weight)) {
            QuantInt8NDArray w = weightOperand(ops, weight, 4);
            ConvGeometry.Sizes s = geometry.resolve(input.getShape(), w.getShape());
            float[] b = biasOperand(ops, bias, s.outChannels(), out);
            checkPostStep(ops, out, s.outChannels());
            QuantInt8NDArray a = ops.activation("input", input);
            int patchLength = s.groupInChannels() * s.kernelH() * s.kernelW();
            int positions = s.outH() * s.outW();
            int groupOut = s.outChannels() / s.groups();
            QuantInt8NDArray patches =
                    ops.temporary(new Shape(positions, patchLength), a.getDataType(), null);
            QuantInt8NDArray acc =
                    ops.temporary(new Shape(positions, groupOut), DataType.INT32, null);
            QuantInt8NDArray result =
                    ops.result(s.outputShape(), out.getDataType(), out.getQuantization());
            Epilogue epilogue = new Epilogue(a, w, b, out);
            Int8Kernels kernels = Int8Kernels.best();
            // The weights are the packed operand (B, one row per output channel), packed once
            // per group and kept with the weight array; the patches are A.
            PackedInt8Matrix[] packed = w.packed(kernels, s.groups(), g -> kernels.pack(matrix(w,
                    (long) g * groupOut * patchLength, groupOut, patchLength,
                    groupZeroPoints(w, g, groupOut))));
            for (int batch = 0; batch < s.batch(); batch++) {
                for (int g = 0; g < s.groups(); g++) {
                    s.im2col(a, batch, g, patches.getDataSegment());
                    Int8Matrix pm = matrix(patches, 0, positions, patchLength,
                            a.getQuantization().getZeroPoints());
                    kernels.gemm(pm, packed[g], acc.getDataSegment());
                    // The accumulator is [position, channel]; NCHW wants [channel, position].
                    long offset = ((long) batch * s.outChannels() + (long) g * groupOut) * positions;
                    epilogue.apply(acc.getDataSegment(), positions, groupOut, g * groupOut,
                            result.getDataSegment(), offset, 1, positions);
                }
            }
            return ops.inEngineOf(input, result);
        }
    }

    private static QuantInt8NDArray weightOperand(Operands ops, NDArray weight, int rank) {
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

    private static float[] biasOperand(Operands ops, NDArray bias, long channels, Int8Output out) {
        if (bias != null && out.getDataType() == DataType.INT32) {
            throw new IllegalArgumentException(
                    ops.op() + ": the INT32 output is the raw accumulator and takes no FP32 bias");
        }
        return ops.optionalVector("bias", bias, channels);
    }

    private static void checkPostStep(Operands ops, Int8Output out, long channels) {
        float[] scale = out.getPostScale();
        if (scale != null && scale.length != channels) {
            throw new IllegalArgumentException(ops.op() + ": the output's affine step has "
                    + scale.length + " channels, the operator has " + channels);
        }
    }

    private static int[] groupZeroPoints(QuantInt8NDArray w, int group, int groupOut) {
        int[] zeros = w.getQuantization().getZeroPoints();
        if (zeros.length == 1) {
            return zeros;
        }
        return Arrays.copyOfRange(zeros, group * groupOut, (group + 1) * groupOut);
    }

    private static Int8Matrix matrix(
            QuantInt8NDArray x, long offset, int rows, int cols, int[] zeroPoints) {
        MemorySegment data = x.getDataSegment().asSlice(offset, (long) rows * cols);
        int[] zeros = zeroPoints != null ? zeroPoints : x.getQuantization().getZeroPoints();
        return new Int8Matrix(data, rows, cols, x.getDataType() == DataType.INT8, zeros);
    }

    /**
     * Turns INT32 accumulators into the output: {@code acc * scaleA * scaleW[c] + bias[c]},
     * returned as FP32 or requantized, or the accumulator itself for INT32 output.
     */
    private record Epilogue(float inputScale, float[] weightScales, float[] bias, Int8Output out) {

        /** Accumulators per tile of the convolution epilogue (256 KB). */
        private static final int TILE = 1 << 16;
        /** Channels transposed together: 16 accumulators, one 64-byte cache line. */
        private static final int CHANNEL_RUN = 16;
        /** Positions per tile at least, so that each channel's run is not too short. */
        private static final int MIN_TILE_ROWS = 64;

        Epilogue(QuantInt8NDArray a, QuantInt8NDArray w, float[] bias, Int8Output out) {
            this(a.getQuantization().getScale(0), w.getQuantization().getScales(), bias, out);
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
            if (out.getDataType() == DataType.FLOAT32 && colStride == 1) {
                applyRowsFloat32(acc, rows, cols, channelOffset, dst, dstOffset, rowStride);
                return;
            }
            if (out.getQuantization() == null && rowStride == 1) {
                applyColumns(acc, rows, cols, channelOffset, dst, dstOffset, colStride);
                return;
            }
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
         * The FP32 epilogue of contiguous output rows, the one of every linear layer: the same
         * arithmetic as the general loop, over heap rows so that C2 vectorizes it (8.5% of a
         * MiniLM forward pass when it ran value by value through memory-segment accessors).
         */
        private void applyRowsFloat32(MemorySegment acc, int rows, int cols, int channelOffset,
                MemorySegment dst, long dstOffset, long rowStride) {
            float[] scales = scales(channelOffset, cols);
            float[] offsets = offsets(channelOffset, cols);
            PostStep post = PostStep.of(out, channelOffset, cols);
            int[] sums = new int[cols];
            float[] real = new float[cols];
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(acc, ValueLayout.JAVA_INT_UNALIGNED, (long) r * cols * 4,
                        sums, 0, cols);
                for (int c = 0; c < cols; c++) {
                    real[c] = sums[c] * scales[c] + offsets[c];
                }
                post.applyRow(real);
                MemorySegment.copy(real, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED,
                        (dstOffset + r * rowStride) * 4, cols);
            }
        }

        /**
         * The FP32 or INT32 epilogue of a convolution: accumulator rows are positions, and each
         * output channel is a contiguous plane ({@code rowStride = 1}). The same arithmetic as the
         * general loop, transposed on the heap one tile of positions at a time (at most {@value
         * #TILE} accumulators, at least {@value #MIN_TILE_ROWS} positions) so that the segments
         * are read and written in runs and no large array is allocated per call; value by value
         * through memory-segment accessors it was 8% of a ResNet-50 forward pass, and a whole
         * transposed output allocated per call cost as much again.
         */
        private void applyColumns(MemorySegment acc, int rows, int cols, int channelOffset,
                MemorySegment dst, long dstOffset, long colStride) {
            boolean int32 = out.getDataType() == DataType.INT32;
            float[] scales = int32 ? null : scales(channelOffset, cols);
            float[] offsets = int32 ? null : offsets(channelOffset, cols);
            PostStep post = PostStep.of(out, channelOffset, cols);
            int tile = Math.min(rows, Math.max(MIN_TILE_ROWS, TILE / cols));
            int[] sums = new int[tile * cols];
            int[] codes = int32 ? new int[tile * cols] : null;
            float[] real = int32 ? null : new float[tile * cols];
            for (int r0 = 0; r0 < rows; r0 += tile) {
                int n = Math.min(tile, rows - r0);
                MemorySegment.copy(acc, ValueLayout.JAVA_INT_UNALIGNED, (long) r0 * cols * 4,
                        sums, 0, n * cols);
                // A few channels at a time: each position's run of them is one cache line, where
                // one channel at a time read the tile with a power-of-two stride that thrashes
                // the L1 sets.
                for (int c0 = 0; c0 < cols; c0 += CHANNEL_RUN) {
                    int c1 = Math.min(cols, c0 + CHANNEL_RUN);
                    if (int32) {
                        transposeCodes(sums, cols, n, c0, c1, codes);
                    } else {
                        post.transposeReal(sums, cols, n, c0, c1, scales, offsets, real);
                    }
                }
                for (int c = 0; c < cols; c++) {
                    long o = (dstOffset + c * colStride + r0) * 4;
                    if (int32) {
                        MemorySegment.copy(codes, c * n, dst, ValueLayout.JAVA_INT_UNALIGNED, o, n);
                    } else {
                        MemorySegment.copy(
                                real, c * n, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, o, n);
                    }
                }
            }
        }

        /** Transposes channels [c0, c1) of a tile of {@code n} rows into planes of n codes. */
        private static void transposeCodes(int[] sums, int cols, int n, int c0, int c1,
                int[] codes) {
            for (int r = 0; r < n; r++) {
                int from = r * cols;
                for (int c = c0; c < c1; c++) {
                    codes[c * n + r] = sums[from + c];
                }
            }
        }

        /** {@code scaleA * scaleW[c]} for the given channels, rounded to FP32 as before. */
        private float[] scales(int channelOffset, int cols) {
            float[] scales = new float[cols];
            for (int c = 0; c < cols; c++) {
                int channel = channelOffset + c;
                scales[c] = inputScale * weightScales[weightScales.length == 1 ? 0 : channel];
            }
            return scales;
        }

        /**
         * The bias of the given channels, 0 without one: adding +0 keeps the sum of the general
         * formula bit for bit (it turns -0 into +0, as the bias-free loop always did).
         */
        private float[] offsets(int channelOffset, int cols) {
            return bias == null
                    ? new float[cols]
                    : Arrays.copyOfRange(bias, channelOffset, channelOffset + cols);
        }
    }

    /**
     * The FP32 output's per-channel affine step and Relu ({@link Int8Output#float32(float[],
     * float[], boolean)}) for the channels of one epilogue call: each product and sum rounded to
     * FP32 on its own, as the unfused operators compute them.
     */
    private record PostStep(float[] scale, float[] shift, boolean relu) {

        static PostStep of(Int8Output out, int channelOffset, int cols) {
            float[] scale = out.getPostScale();
            float[] shift = out.getPostShift();
            int end = channelOffset + cols;
            return new PostStep(
                    scale == null ? null : Arrays.copyOfRange(scale, channelOffset, end),
                    shift == null ? null : Arrays.copyOfRange(shift, channelOffset, end),
                    out.isRelu());
        }

        float apply(float x, int c) {
            float y = scale == null ? x : x * scale[c] + shift[c];
            // A comparison, not Math.max: NaN stays NaN, as Relu keeps it.
            return relu && y < 0f ? 0f : y;
        }

        /** Applies the step to one row of all channels. */
        void applyRow(float[] row) {
            if (scale == null && !relu) {
                return;
            }
            for (int c = 0; c < row.length; c++) {
                row[c] = apply(row[c], c);
            }
        }

        /**
         * Writes channels [c0, c1) of a tile of {@code n} accumulator rows as planes of n real
         * values, {@code sum * scales[c] + offsets[c]} and then the step, in one pass.
         */
        void transposeReal(int[] sums, int cols, int n, int c0, int c1, float[] scales,
                float[] offsets, float[] real) {
            // One loop per case, so that each inner loop stays branch-free.
            if (scale == null && !relu) {
                for (int r = 0; r < n; r++) {
                    int from = r * cols;
                    for (int c = c0; c < c1; c++) {
                        real[c * n + r] = sums[from + c] * scales[c] + offsets[c];
                    }
                }
            } else if (scale == null) {
                for (int r = 0; r < n; r++) {
                    int from = r * cols;
                    for (int c = c0; c < c1; c++) {
                        float y = sums[from + c] * scales[c] + offsets[c];
                        real[c * n + r] = y < 0f ? 0f : y;
                    }
                }
            } else {
                for (int r = 0; r < n; r++) {
                    int from = r * cols;
                    for (int c = c0; c < c1; c++) {
                        float y = (sums[from + c] * scales[c] + offsets[c]) * scale[c] + shift[c];
                        real[c * n + r] = relu && y < 0f ? 0f : y;
                    }
                }
            }
        }
    }
}
