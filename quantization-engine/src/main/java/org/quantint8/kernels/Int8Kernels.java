package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The compute-bound INT8 kernels. Implementations differ in speed only: each must give the
 * {@link JavaInt8Kernels} result bit for bit.
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
     * layout, [out, in]), so both operands are read along K.
     *
     * @param a the left operand, M x K
     * @param b the right operand, N x K
     * @param c the output, M x N INT32 in native byte order, at least {@code 4 * M * N} bytes
     * @throws IllegalArgumentException if the inner dimensions differ or C is too small
     */
    void gemm(Int8Matrix a, Int8Matrix b, MemorySegment c);

    /**
     * Returns the best implementation available on this machine.
     *
     * @return the kernels
     */
    static Int8Kernels best() {
        return JavaInt8Kernels.INSTANCE;
    }

    /**
     * Checks the shapes of a {@link #gemm} call; every implementation calls it first.
     *
     * @param a the left operand
     * @param b the right operand
     * @param c the output
     */
    static void checkGemm(Int8Matrix a, Int8Matrix b, MemorySegment c) {
        if (a.cols() != b.cols()) {
            throw new IllegalArgumentException(
                    "gemm: inner dimensions differ, A is "
                            + a.rows()
                            + "x"
                            + a.cols()
                            + " and B is "
                            + b.rows()
                            + "x"
                            + b.cols()
                            + " (B holds one row per output column)");
        }
        long need = 4L * a.rows() * b.rows();
        if (c.byteSize() < need) {
            throw new IllegalArgumentException(
                    "gemm: output needs " + need + " bytes, has " + c.byteSize());
        }
    }
}
