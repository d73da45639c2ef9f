package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;

/**
 * A row-major matrix of 8-bit integers in off-heap memory, with the zero point of the whole
 * matrix or of each row. The constructor checks every size against the memory, so a kernel given
 * an {@code Int8Matrix} can never read outside it.
 *
 * @param data the memory, at least {@code rows * cols} bytes
 * @param rows the number of rows, non-negative
 * @param cols the number of columns, non-negative
 * @param signed whether the bytes are INT8 (true) or UINT8 (false)
 * @param zeroPoints one zero point for the matrix, or one per row
 */
public record Int8Matrix(
        MemorySegment data, int rows, int cols, boolean signed, int[] zeroPoints) {

    /** Validates the sizes and zero points. */
    public Int8Matrix {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException(
                    "Matrix dimensions must be non-negative, got " + rows + "x" + cols);
        }
        long bytes = (long) rows * cols;
        if (data.byteSize() < bytes) {
            throw new IllegalArgumentException(
                    "A " + rows + "x" + cols + " matrix needs " + bytes + " bytes, memory has "
                            + data.byteSize());
        }
        if (zeroPoints.length != 1 && zeroPoints.length != rows) {
            throw new IllegalArgumentException(
                    "Expected 1 or " + rows + " zero points, got " + zeroPoints.length);
        }
        int lo = signed ? Byte.MIN_VALUE : 0;
        int hi = signed ? Byte.MAX_VALUE : 255;
        for (int z : zeroPoints) {
            if (z < lo || z > hi) {
                throw new IllegalArgumentException(
                        "Zero point " + z + " is outside [" + lo + ", " + hi + "]");
            }
        }
    }

    /**
     * Returns the zero point of a row.
     *
     * @param row the row index
     * @return the zero point
     */
    public int zeroPoint(int row) {
        return zeroPoints.length == 1 ? zeroPoints[0] : zeroPoints[row];
    }
}
