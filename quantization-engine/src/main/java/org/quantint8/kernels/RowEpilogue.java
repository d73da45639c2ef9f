package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The FP32 epilogue of {@link Int8Kernels#gemmF32}, per row {@code m} of the output (an output
 * channel of a convolution): {@code y = acc * scale[m] + offset[m]}, then {@code y = y *
 * postScale[m] + postShift[m]} when there is a post step, then {@code y = y + residual[m][n]}
 * when there is a residual (a ResNet block's shortcut, laid out as the output), then {@code y < 0
 * ? 0 : y} when {@code relu} (NaN stays NaN). Each product and sum is rounded to FP32 on its own,
 * as the separate operators it replaces (scale Mul, bias Add, BatchNormalization, Add, Relu)
 * round them.
 *
 * @param scale the factor per row (the product of the input and weight scales)
 * @param offset the term per row (the bias, or 0)
 * @param postScale the post-step factor per row, or null for none
 * @param postShift the post-step term per row, or null for none (null exactly when postScale is)
 * @param residual FP32 values added after the post step, row-major with the output's rows and
 *     columns (native byte order), or null for none
 * @param relu whether negative values become 0
 */
public record RowEpilogue(float[] scale, float[] offset, float[] postScale, float[] postShift,
        MemorySegment residual, boolean relu) {

    /** Validates that all the arrays present have one value per row. */
    public RowEpilogue {
        if ((postScale == null) != (postShift == null)) {
            throw new IllegalArgumentException(
                    "The post step needs both a scale and a shift, or neither");
        }
        int rows = scale.length;
        if (offset.length != rows || postScale != null
                && (postScale.length != rows || postShift.length != rows)) {
            throw new IllegalArgumentException("Epilogue arrays must have one value per row ("
                    + rows + " scales), got " + offset.length + " offsets"
                    + (postScale == null ? "" : ", " + postScale.length + " post scales and "
                    + postShift.length + " post shifts"));
        }
    }

    /**
     * Returns the number of rows the epilogue covers.
     *
     * @return the length of every array
     */
    public int rows() {
        return scale.length;
    }

    /**
     * Applies the epilogue to one accumulator of row {@code m}.
     *
     * @param m the row
     * @param acc the INT32 accumulator
     * @return the FP32 output
     */
    public float apply(int m, int acc) {
        return relu(affine(m, acc));
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
        float y = affine(m, acc);
        if (residual != null) {
            y = y + residual.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) m * cols + n);
        }
        return relu(y);
    }

    private float affine(int m, int acc) {
        float y = acc * scale[m] + offset[m];
        return postScale == null ? y : y * postScale[m] + postShift[m];
    }

    private float relu(float y) {
        // A comparison, not Math.max: NaN stays NaN, as Relu keeps it.
        return relu && y < 0f ? 0f : y;
    }

    /**
     * The Java epilogue of a whole {@code rows x cols} INT32 matrix, written as FP32 in place
     * (the two have the same size), row by row through a heap buffer.
     *
     * @param c the accumulators, then the outputs, row-major
     * @param rows the number of rows, at most {@link #rows()}
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
