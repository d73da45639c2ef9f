package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The compute-bound kernels: the INT8 GEMM with its FP32 epilogue, and the FP32 loops between a
 * transformer's projections (layer normalization, attention) that the native library also runs.
 * Implementations differ in speed only: each must give the Java reference's result bit for bit
 * ({@link JavaInt8Kernels}, {@link FloatKernels}), except the float GEMV, which may differ by the
 * rounding of a reordered sum.
 */
public interface Int8Kernels {

    /**
     * Returns the implementation name, for logs and benchmarks.
     *
     * @return the name
     */
    String name();

    /**
     * Multiplies two 8-bit matrices into 32-bit integers: {@code C[m][n] = sum_k (A[m][k] -
     * zA(m)) * (B[n][k] - zB(n))}. B holds one row per output column (DJL's {@code Linear} weight
     * layout, [out, in]), so both operands are read along K. Arithmetic wraps like Java's
     * {@code int}.
     *
     * @param a the left operand, M x K
     * @param b the right operand, N x K
     * @param c the output, M x N INT32 in native byte order, at least {@code 4 * M * N} bytes
     * @throws IllegalArgumentException if the inner dimensions differ or C is too small
     */
    void gemm(Int8Matrix a, Int8Matrix b, MemorySegment c);

    /**
     * Prepares a weight matrix for repeated {@link #gemm(Int8Matrix, PackedInt8Matrix,
     * MemorySegment)} calls (the native kernels reorder it into their register-tile layout and
     * precompute its zero-point compensation).
     *
     * @param b the weights, N x K, signed or unsigned, one zero point or one per row
     * @return the packed matrix, to be closed by the caller
     */
    PackedInt8Matrix pack(Int8Matrix b);

    /**
     * Same as {@link #gemm(Int8Matrix, Int8Matrix, MemorySegment)} with weights packed by {@link
     * #pack} of these kernels.
     *
     * @param a the left operand, M x K
     * @param b the packed right operand, N x K
     * @param c the output, M x N INT32
     * @throws IllegalArgumentException if B was packed by other kernels, or on a size mismatch
     */
    void gemm(Int8Matrix a, PackedInt8Matrix b, MemorySegment c);

    /**
     * Same as {@link #gemm(Int8Matrix, PackedInt8Matrix, MemorySegment)} with FP32 output: each
     * accumulator goes through the epilogue of its row or column. The native kernels apply it to
     * the accumulators in registers; every implementation gives the {@link GemmEpilogue#apply}
     * values bit for bit. The default is the Java reference.
     *
     * @param a the left operand, M x K (the weights of a convolution, one row per channel; the
     *     activation of a linear layer)
     * @param b the packed right operand, N x K
     * @param epilogue the epilogue of each of the M rows, or per column of each of the N columns
     * @param c the output, M x N FP32 in native byte order
     * @throws IllegalArgumentException on a size mismatch, or if the epilogue's channels are not
     *     M (N per column)
     */
    default void gemmF32(Int8Matrix a, PackedInt8Matrix b, GemmEpilogue epilogue,
            MemorySegment c) {
        checkGemmF32(a, b, epilogue, c);
        gemm(a, b, c);
        epilogue.applyInPlace(c, a.rows(), b.rows());
    }

    /**
     * Packs the patches of a convolution (im2col) as the right operand of {@link
     * #gemm(Int8Matrix, PackedInt8Matrix, MemorySegment)}: N = the window's positions, K = its
     * patch length, taps in the padding set to the zero point. With the weights of the group as
     * the left operand, the GEMM's rows are then the NCHW output planes. The native kernels
     * write their panel layout straight from the input (a 1x1, stride-1 window copies no patch
     * at all); the default builds the row-major patches in Java and {@link #pack}s them.
     *
     * @param input the group's planes of one image, {@code window.inputBytes()} 8-bit codes
     * @param signed whether the codes are INT8 (else UINT8)
     * @param zeroPoint the input's zero point, within its type
     * @param window the convolution window
     * @return the packed patches, to be closed by the caller
     * @throws IllegalArgumentException if the input is too small or the zero point out of range
     */
    default PackedInt8Matrix packPatches(MemorySegment input, boolean signed, int zeroPoint,
            ConvWindow window) {
        checkPatches(input, signed, zeroPoint, window);
        byte[] patches = window.im2col(input, (byte) zeroPoint);
        return pack(new Int8Matrix(MemorySegment.ofArray(patches), window.positions(),
                window.patchLength(), signed, new int[] {zeroPoint}));
    }

    /**
     * Whether an FP32 convolution over this window should put its output positions on the GEMM's
     * rows ({@link #patchRows}, the packed weights, {@link #transposeOutput}) rather than its
     * channels ({@link #packPatches}): a choice of speed only, both give the same bits. The
     * default keeps channels on rows.
     *
     * @param window the convolution window of one group
     * @param channels the output channels of one group
     * @param channelsLast whether the output may be written channels-last, as positions on rows
     *     produce it (then nothing is transposed after the GEMM)
     * @return whether to put the positions on rows
     */
    default boolean positionsOnRows(ConvWindow window, int channels, boolean channelsLast) {
        return false;
    }

    /**
     * Writes the patches of a convolution (im2col) as a row-major {@code positions x
     * patchLength} matrix, each row in tap-major order ({@link ConvWindow#toTapMajor}), taps in
     * the padding set to the zero point: the left operand of the GEMM that puts the output
     * positions on rows and takes the weights, reordered alike and packed, as its right operand
     * (see {@link #transposeOutput}). Each tap of a position is then the run of its pixel's
     * channels in a channels-last input; the native kernels transpose an NCHW input to that
     * first and copy each tap as one run; the default reorders {@link ConvWindow#im2col}.
     *
     * @param input the group's input of one image, {@code window.inputBytes()} 8-bit codes: its
     *     planes (NCHW), or its pixels' channels one after the other (channels-last)
     * @param signed whether the codes are INT8 (else UINT8)
     * @param zeroPoint the input's zero point, within its type
     * @param window the convolution window
     * @param channelsLast whether the input is channels-last ({@code H x W x C}), else NCHW
     * @param rows the patches, at least {@code positions * patchLength} bytes
     * @throws IllegalArgumentException if the input or rows are too small or the zero point out
     *     of range
     */
    default void patchRows(MemorySegment input, boolean signed, int zeroPoint, ConvWindow window,
            boolean channelsLast, MemorySegment rows) {
        checkPatchRows(input, signed, zeroPoint, window, rows);
        MemorySegment planes = input;
        if (channelsLast) {
            long pixels = (long) window.inH() * window.inW();
            planes = MemorySegment.ofArray(new byte[Math.toIntExact(window.inputBytes())]);
            transposeBytes(input, Math.toIntExact(pixels), window.channels(), planes);
        }
        byte[] patches = window.toTapMajor(MemorySegment.ofArray(
                window.im2col(planes, (byte) zeroPoint)), window.positions());
        MemorySegment.copy(MemorySegment.ofArray(patches), 0, rows, 0, patches.length);
    }

    /**
     * Transposes a {@code rows x cols} byte matrix: {@code dst[j][i] = src[i][j]}; so a
     * channels-last image of 8-bit codes ({@code H * W} rows of {@code C}) becomes its NCHW
     * planes. The default is the Java reference.
     *
     * @param src the matrix, row-major
     * @param rows its rows
     * @param cols its columns
     * @param dst the transposed matrix, {@code cols x rows}; must not overlap src
     * @throws IllegalArgumentException if a size is negative, a segment too small, or dst
     *     overlaps src
     */
    default void transposeBytes(MemorySegment src, int rows, int cols, MemorySegment dst) {
        checkTransposeBytes(src, rows, cols, dst);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                dst.set(ValueLayout.JAVA_BYTE, (long) j * rows + i,
                        src.get(ValueLayout.JAVA_BYTE, (long) i * cols + j));
            }
        }
    }

    /**
     * The last steps of a convolution's epilogue when its GEMM put the output positions on rows
     * ({@link #patchRows}): {@code dst[c][r] = activation(src[r][c] + residual[c][r])}, so that
     * dst and the residual are laid out as the NCHW output planes. The sum and the activation
     * round as {@link GemmEpilogue#apply} does, so the result is the same bits as a GEMM with
     * channels on rows and the whole epilogue fused. The default is the Java reference.
     *
     * @param src the GEMM's FP32 output, {@code rows x cols}, native byte order
     * @param rows the positions
     * @param cols the channels
     * @param residual {@code cols x rows} FP32 values to add, or null for none
     * @param activation the activation applied last
     * @param dst the output, {@code cols x rows} FP32; must not overlap src
     * @throws IllegalArgumentException if a segment is too small or dst overlaps src
     */
    default void transposeOutput(MemorySegment src, int rows, int cols, MemorySegment residual,
            Activation activation, MemorySegment dst) {
        checkTransposeOutput(src, rows, cols, residual, dst);
        ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED;
        for (int c = 0; c < cols; c++) {
            for (int r = 0; r < rows; r++) {
                long at = (long) c * rows + r;
                float y = src.getAtIndex(f, (long) r * cols + c);
                if (residual != null) {
                    y = y + residual.getAtIndex(f, at);
                }
                dst.setAtIndex(f, at, activation.apply(y));
            }
        }
    }

    /**
     * Weight-only INT8 matrix-vector product for batch-1 decoding: {@code y[n] = scales[n] *
     * sum_k x[k] * (W[n][k] - zW(n))} in FP32. The order of the float additions is the
     * implementation's, so results may differ from {@link JavaInt8Kernels} by the rounding of a
     * reordered sum.
     *
     * @param x the input, K floats in native byte order
     * @param w the weights, N x K
     * @param scales one scale per row of W (N), or one for all
     * @param y the output, N floats in native byte order
     * @throws IllegalArgumentException on a size mismatch
     */
    void gemvF32(MemorySegment x, Int8Matrix w, float[] scales, MemorySegment y);

    /**
     * Returns the range of FP32 values, or where the first NaN or infinite value is: the scan of
     * dynamic quantization. Every implementation gives the bounds of {@link Math#min} and {@link
     * Math#max} (so -0 is below +0); the default is the Java reference.
     *
     * @param src the FP32 values, at least {@code 4 * count} bytes
     * @param count how many values
     * @return their range, {@code [0, 0]} for no values
     */
    default FloatRange range(MemorySegment src, long count) {
        return ElementwiseKernels.rangeInJava(src, count);
    }

    /**
     * Quantizes FP32 values to 8-bit codes with one scale and zero point: {@code rint(x / scale)
     * + zeroPoint} in FP32, saturated to the type; NaN is written as the zero point and counted.
     * Every implementation gives the codes of {@link QuantMath#quantize}; the default is the
     * Java reference.
     *
     * @param src the FP32 values, at least {@code 4 * count} bytes
     * @param dst the codes, at least {@code count} bytes
     * @param type {@link QuantizedStorage#UINT8} or {@link QuantizedStorage#INT8}
     * @param count how many values
     * @param scale the scale, positive
     * @param zeroPoint the zero point, within the type
     * @return the number of NaN inputs
     */
    default long quantizePerTensor8(MemorySegment src, MemorySegment dst, QuantizedStorage type,
            long count, float scale, int zeroPoint) {
        return ElementwiseKernels.quantizePerTensor8InJava(src, dst, type, count, scale,
                zeroPoint);
    }

    /**
     * Layer normalization of rows after a residual addition, {@link FloatKernels#addLayerNorm}
     * (which checks the arguments). Every implementation gives the bits of {@link
     * FloatKernels#layerNorm(float[], float[], int, int, float[], float[], float)}; the default
     * is that Java loop.
     *
     * @param a the input rows
     * @param b the values added first, or null
     * @param sum where the sum goes, or null
     * @param y the output
     * @param rows the number of rows
     * @param gamma the scale, one per column
     * @param beta the shift, or null
     * @param epsilon added to the variance
     */
    default void layerNorm(MemorySegment a, MemorySegment b, MemorySegment sum, MemorySegment y,
            long rows, float[] gamma, float[] beta, float epsilon) {
        FloatKernels.addLayerNormInJava(a, b, sum, y, rows, gamma, beta, epsilon);
    }

    /**
     * Max pooling of FP32 planes, {@link PoolKernels#maxPool} (which checks the arguments).
     * Every implementation gives the bits of the Java loop; the default is that loop.
     *
     * @param in the input planes
     * @param out the output planes
     * @param planes the number of planes
     * @param window the window
     */
    default void maxPool(MemorySegment in, MemorySegment out, long planes, PoolWindow window) {
        PoolKernels.maxPoolInJava(in, out, planes, window);
    }

    /**
     * Multi-head attention over FP32 operands ({@link AttentionInputs}, which checked them).
     * Every implementation gives the bits of {@link FloatKernels#attention}; the default is
     * that Java loop.
     *
     * @param inputs the operands
     */
    default void attention(AttentionInputs inputs) {
        FloatKernels.attention(inputs);
    }

    /**
     * Returns whether {@link #attention} runs a vectorized loop, fast on long sequences too; the
     * Java loop is fast only for a decoding step's few scores per head.
     *
     * @return true for the native kernels
     */
    default boolean vectorizedAttention() {
        return false;
    }

    /**
     * Returns the implementation selected for this JVM: the system property {@code
     * quantint8.kernels} ({@code java} or {@code native}) if set, else the native kernels when
     * their library loads, else {@link JavaInt8Kernels}.
     *
     * @return the kernels
     */
    static Int8Kernels best() {
        return KernelSelection.best();
    }

    /**
     * Checks the shapes of a {@link #gemm} call; every implementation calls it first.
     *
     * @param a the left operand
     * @param b the right operand
     * @param c the output
     */
    static void checkGemm(Int8Matrix a, Int8Matrix b, MemorySegment c) {
        checkGemm(a, b.rows(), b.cols(), c);
    }

    /**
     * Checks the shapes of a GEMM of A with an N x K right operand.
     *
     * @param a the left operand
     * @param n the rows of the right operand
     * @param k the columns of the right operand
     * @param c the output
     */
    static void checkGemm(Int8Matrix a, int n, int k, MemorySegment c) {
        if (a.cols() != k) {
            throw new IllegalArgumentException(
                    "gemm: inner dimensions differ, A is " + a.rows() + "x" + a.cols()
                            + " and B is " + n + "x" + k + " (B holds one row per output column)");
        }
        long need = 4L * a.rows() * n;
        if (c.byteSize() < need) {
            throw new IllegalArgumentException(
                    "gemm: output needs " + need + " bytes, has " + c.byteSize());
        }
    }

    /**
     * Checks the shapes of a {@link #gemmF32} call.
     *
     * @param a the left operand
     * @param b the packed right operand
     * @param epilogue the epilogue
     * @param c the output
     */
    static void checkGemmF32(Int8Matrix a, PackedInt8Matrix b, GemmEpilogue epilogue,
            MemorySegment c) {
        checkGemm(a, b.rows(), b.cols(), c);
        int channels = epilogue.perColumn() ? b.rows() : a.rows();
        if (epilogue.channels() != channels) {
            throw new IllegalArgumentException("gemmF32: the epilogue has " + epilogue.channels()
                    + " channels, the output has " + channels
                    + (epilogue.perColumn() ? " columns" : " rows"));
        }
        long outputBytes = 4L * a.rows() * b.rows();
        if (epilogue.residual() != null && epilogue.residual().byteSize() < outputBytes) {
            throw new IllegalArgumentException("gemmF32: the residual needs " + outputBytes
                    + " bytes (" + a.rows() + "x" + b.rows() + " FP32), has "
                    + epilogue.residual().byteSize());
        }
    }

    /**
     * Checks the arguments of a {@link #packPatches} call.
     *
     * @param input the input planes
     * @param signed whether they are INT8
     * @param zeroPoint the zero point
     * @param window the window
     */
    static void checkPatches(MemorySegment input, boolean signed, int zeroPoint,
            ConvWindow window) {
        checkPatches("packPatches", input, signed, zeroPoint, window);
    }

    private static void checkPatches(String op, MemorySegment input, boolean signed,
            int zeroPoint, ConvWindow window) {
        if (input.byteSize() < window.inputBytes()) {
            throw new IllegalArgumentException(op + ": the window " + window + " reads "
                    + window.inputBytes() + " input bytes, the input has " + input.byteSize());
        }
        int lo = signed ? Byte.MIN_VALUE : 0;
        int hi = signed ? Byte.MAX_VALUE : 255;
        if (zeroPoint < lo || zeroPoint > hi) {
            throw new IllegalArgumentException(op + ": zero point " + zeroPoint
                    + " is outside [" + lo + ", " + hi + "]");
        }
    }

    /**
     * Checks the arguments of a {@link #patchRows} call.
     *
     * @param input the input planes
     * @param signed whether the codes are INT8
     * @param zeroPoint the zero point
     * @param window the window
     * @param rows the output
     * @throws IllegalArgumentException if the input or rows are too small or the zero point out
     *     of range
     */
    static void checkPatchRows(MemorySegment input, boolean signed, int zeroPoint,
            ConvWindow window, MemorySegment rows) {
        checkPatches("patchRows", input, signed, zeroPoint, window);
        long bytes = (long) window.positions() * window.patchLength();
        if (rows.byteSize() < bytes) {
            throw new IllegalArgumentException("patchRows: the window " + window + " has "
                    + window.positions() + " x " + window.patchLength() + " patch bytes, the"
                    + " output has " + rows.byteSize());
        }
    }

    /**
     * Checks the arguments of a {@link #transposeBytes} call.
     *
     * @param src the matrix
     * @param rows its rows
     * @param cols its columns
     * @param dst the output
     * @throws IllegalArgumentException if a size is negative, a segment too small, or dst
     *     overlaps src
     */
    static void checkTransposeBytes(MemorySegment src, int rows, int cols, MemorySegment dst) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException(
                    "transposeBytes: negative size " + rows + " x " + cols);
        }
        long bytes = (long) rows * cols;
        if (src.byteSize() < bytes || dst.byteSize() < bytes) {
            throw new IllegalArgumentException("transposeBytes: " + rows + " x " + cols
                    + " bytes, got src " + src.byteSize() + ", dst " + dst.byteSize());
        }
        if (src.asSlice(0, bytes).asOverlappingSlice(dst.asSlice(0, bytes)).isPresent()) {
            throw new IllegalArgumentException("transposeBytes: dst overlaps src");
        }
    }

    /**
     * Checks the arguments of a {@link #transposeOutput} call.
     *
     * @param src the GEMM's output
     * @param rows its rows
     * @param cols its columns
     * @param residual the residual, or null
     * @param dst the output
     * @throws IllegalArgumentException if a size is negative, a segment too small, or dst
     *     overlaps src
     */
    static void checkTransposeOutput(MemorySegment src, int rows, int cols,
            MemorySegment residual, MemorySegment dst) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException(
                    "transposeOutput: negative size " + rows + " x " + cols);
        }
        long bytes = 4L * rows * cols;
        if (src.byteSize() < bytes || dst.byteSize() < bytes
                || residual != null && residual.byteSize() < bytes) {
            throw new IllegalArgumentException("transposeOutput: " + rows + " x " + cols
                    + " FP32 values need " + bytes + " bytes, got src " + src.byteSize()
                    + ", dst " + dst.byteSize()
                    + (residual == null ? "" : ", residual " + residual.byteSize()));
        }
        if (src.asSlice(0, bytes).asOverlappingSlice(dst.asSlice(0, bytes)).isPresent()) {
            throw new IllegalArgumentException("transposeOutput: dst overlaps src");
        }
    }

    /**
     * Checks the shapes of a {@link #gemvF32} call.
     *
     * @param x the input
     * @param w the weights
     * @param scales the scales
     * @param y the output
     */
    static void checkGemv(MemorySegment x, Int8Matrix w, float[] scales, MemorySegment y) {
        if (x.byteSize() < 4L * w.cols()) {
            throw new IllegalArgumentException(
                    "gemv: input needs " + 4L * w.cols() + " bytes, has " + x.byteSize());
        }
        if (y.byteSize() < 4L * w.rows()) {
            throw new IllegalArgumentException(
                    "gemv: output needs " + 4L * w.rows() + " bytes, has " + y.byteSize());
        }
        if (scales.length != 1 && scales.length != w.rows()) {
            throw new IllegalArgumentException(
                    "gemv: expected 1 or " + w.rows() + " scales, got " + scales.length);
        }
    }
}
