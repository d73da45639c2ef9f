package org.quantint8.kernels;

/**
 * A weight matrix ({@code B}, N x K, one row per output column) prepared once for repeated
 * {@link Int8Kernels#gemm(Int8Matrix, PackedInt8Matrix, java.lang.foreign.MemorySegment)} calls.
 * Only the kernels that made it can use it. Closing it frees what the packing allocated; the
 * source matrix is not needed afterwards (native packing copies it; the Java kernels keep a
 * reference and need it to stay alive).
 */
public interface PackedInt8Matrix extends AutoCloseable {

    /**
     * Returns the kernels that packed this matrix, the only ones that accept it.
     *
     * @return the kernels
     */
    Int8Kernels kernels();

    /**
     * Returns N, the number of rows of the source matrix (output columns of the GEMM).
     *
     * @return the row count
     */
    int rows();

    /**
     * Returns K, the number of columns of the source matrix (the reduction length).
     *
     * @return the column count
     */
    int cols();

    /** Frees the packed memory; using the matrix afterwards throws {@link IllegalStateException}. */
    @Override
    void close();
}
