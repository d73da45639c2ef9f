package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The FP32 epilogue of {@link Int8Kernels#gemmF32}, per channel {@code c} of the output: the row
 * {@code m} (an output channel of a convolution, whose rows are the NCHW planes) or, per column,
 * the column {@code n} (an output feature of a linear layer). {@code y = acc * (inputScale *
 * scale[c]) + offset[c]}, then {@code y = y * postScale[c] + postShift[c]} when there is a post
 * step, then {@code y = y + residual[m][n]} when there is a residual (a ResNet block's shortcut,
 * laid out as the output), then the activation. Each product and sum is rounded to FP32 on its
 * own, as the separate operators it replaces (scale Mul, bias Add, BatchNormalization, Add, Relu
 * or GELU) round them.
 *
 * <p>The per-channel values are FP32 vectors in memory segments (native byte order), so that a
 * layer's constants (its weight scales, its bias) can be kept in native memory once and passed
 * to every call as they are, while only the input's scale changes from call to call.
 *
 * @param perColumn whether the channels are the columns of the output, else its rows
 * @param inputScale a factor of every channel's scale: the input's scale when {@code scale}
 *     holds the weight's alone, else 1 (the product {@code inputScale * scale[c]} rounds to FP32
 *     as precomputing it would)
 * @param scale the factor per channel
 * @param offset the term per channel (the bias, or 0)
 * @param postScale the post-step factor per channel, or null for none
 * @param postShift the post-step term per channel, or null for none (null exactly when
 *     postScale is)
 * @param residual FP32 values added after the post step, row-major with the output's rows and
 *     columns (native byte order), or null for none
 * @param activation the activation applied last
 */
public record GemmEpilogue(boolean perColumn, float inputScale, MemorySegment scale,
        MemorySegment offset, MemorySegment postScale, MemorySegment postShift,
        MemorySegment residual, Activation activation) {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Validates that all the vectors present have one value per channel. */
    public GemmEpilogue {
        if (activation == null) {
            throw new IllegalArgumentException("The epilogue needs an activation (NONE for none)");
        }
        if ((postScale == null) != (postShift == null)) {
            throw new IllegalArgumentException(
                    "The post step needs both a scale and a shift, or neither");
        }
        long channels = scale.byteSize() / 4;
        if (scale.byteSize() % 4 != 0 || offset.byteSize() != scale.byteSize()
                || postScale != null && (postScale.byteSize() != scale.byteSize()
                        || postShift.byteSize() != scale.byteSize())) {
            throw new IllegalArgumentException("Epilogue vectors must have one FP32 value per"
                    + " channel (" + channels + " scales in " + scale.byteSize() + " bytes), got "
                    + offset.byteSize() / 4 + " offsets"
                    + (postScale == null ? "" : ", " + postScale.byteSize() / 4
                    + " post scales and " + postShift.byteSize() / 4 + " post shifts"));
        }
    }

    /**
     * Returns the epilogue of a convolution's output, one channel a row.
     *
     * @param scale the factor per row
     * @param offset the term per row
     * @param postScale the post-step factor per row, or null
     * @param postShift the post-step term per row, or null
     * @param residual the values added after the post step, or null
     * @param activation the activation applied last
     * @return the epilogue
     */
    public static GemmEpilogue perRow(float[] scale, float[] offset, float[] postScale,
            float[] postShift, MemorySegment residual, Activation activation) {
        return new GemmEpilogue(false, 1f, heap(scale), heap(offset), heap(postScale),
                heap(postShift), residual, activation);
    }

    /**
     * Returns the epilogue of a linear layer's output, one channel a column, without residual.
     *
     * @param scale the factor per column
     * @param offset the term per column
     * @param postScale the post-step factor per column, or null
     * @param postShift the post-step term per column, or null
     * @param activation the activation applied last
     * @return the epilogue
     */
    public static GemmEpilogue perColumn(float[] scale, float[] offset, float[] postScale,
            float[] postShift, Activation activation) {
        return perColumn(1f, heap(scale), heap(offset), postScale, postShift, activation);
    }

    /**
     * Returns the epilogue of a linear layer's output, one channel a column, without residual,
     * over scale and offset vectors the caller keeps (native ones reach the native kernels
     * without a copy).
     *
     * @param inputScale the input's scale, a factor of every column's
     * @param scale the weight's factor per column
     * @param offset the term per column
     * @param postScale the post-step factor per column, or null
     * @param postShift the post-step term per column, or null
     * @param activation the activation applied last
     * @return the epilogue
     */
    public static GemmEpilogue perColumn(float inputScale, MemorySegment scale,
            MemorySegment offset, float[] postScale, float[] postShift, Activation activation) {
        return new GemmEpilogue(true, inputScale, scale, offset, heap(postScale),
                heap(postShift), null, activation);
    }

    private static MemorySegment heap(float[] values) {
        return values == null ? null : MemorySegment.ofArray(values);
    }

    /**
     * Returns the number of channels the epilogue covers.
     *
     * @return the length of every vector
     */
    public int channels() {
        return (int) (scale.byteSize() / 4);
    }

    /**
     * Applies the epilogue to accumulator {@code (m, n)} of an output with {@code cols} columns,
     * with the residual if there is one.
     *
     * @param m the row
     * @param n the column
     * @param cols the number of columns of the output (and of the residual)
     * @param acc the INT32 accumulator
     * @return the FP32 output
     */
    public float apply(int m, int n, int cols, int acc) {
        int c = perColumn ? n : m;
        float y = acc * (inputScale * scale.getAtIndex(FLOAT, c)) + offset.getAtIndex(FLOAT, c);
        if (postScale != null) {
            y = y * postScale.getAtIndex(FLOAT, c) + postShift.getAtIndex(FLOAT, c);
        }
        if (residual != null) {
            y = y + residual.getAtIndex(FLOAT, (long) m * cols + n);
        }
        return activation.apply(y);
    }

    /**
     * The Java epilogue of a whole {@code rows x cols} INT32 matrix, written as FP32 in place
     * (the two have the same size), row by row through a heap buffer.
     *
     * @param c the accumulators, then the outputs, row-major
     * @param rows the number of rows
     * @param cols the number of columns
     */
    void applyInPlace(MemorySegment c, int rows, int cols) {
        int[] sums = new int[cols];
        float[] out = new float[cols];
        for (int m = 0; m < rows; m++) {
            long at = 4L * m * cols;
            MemorySegment.copy(c, ValueLayout.JAVA_INT_UNALIGNED, at, sums, 0, cols);
            for (int j = 0; j < cols; j++) {
                out[j] = apply(m, j, cols, sums[j]);
            }
            MemorySegment.copy(out, 0, c, ValueLayout.JAVA_FLOAT_UNALIGNED, at, cols);
        }
    }
}
