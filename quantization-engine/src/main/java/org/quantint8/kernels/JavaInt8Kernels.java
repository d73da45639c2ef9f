package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The pure-Java INT8 kernels: the reference every faster implementation is tested against, and
 * the engine's path where no native library is available.
 */
public final class JavaInt8Kernels implements Int8Kernels {

    /** The single instance. */
    public static final JavaInt8Kernels INSTANCE = new JavaInt8Kernels();

    private JavaInt8Kernels() {}

    /** {@inheritDoc} */
    @Override
    public String name() {
        return "java";
    }

    /** {@inheritDoc} */
    @Override
    public void gemm(Int8Matrix a, Int8Matrix b, MemorySegment c) {
        Int8Kernels.checkGemm(a, b, c);
        int m = a.rows();
        int n = b.rows();
        int k = a.cols();
        // Widen A once, zero point removed; then each B row once. The inner loop is a plain
        // int dot product, which C2 vectorizes.
        int[][] aRows = new int[m][];
        for (int i = 0; i < m; i++) {
            aRows[i] = widenRow(a, i);
        }
        for (int j = 0; j < n; j++) {
            int[] bRow = widenRow(b, j);
            for (int i = 0; i < m; i++) {
                c.set(ValueLayout.JAVA_INT_UNALIGNED, 4L * ((long) i * n + j), dot(aRows[i], bRow));
            }
        }
    }

    private static int[] widenRow(Int8Matrix matrix, int row) {
        int k = matrix.cols();
        int zero = matrix.zeroPoint(row);
        int[] out = new int[k];
        long base = (long) row * k;
        MemorySegment data = matrix.data();
        if (matrix.signed()) {
            for (int i = 0; i < k; i++) {
                out[i] = data.get(ValueLayout.JAVA_BYTE, base + i) - zero;
            }
        } else {
            for (int i = 0; i < k; i++) {
                out[i] = (data.get(ValueLayout.JAVA_BYTE, base + i) & 0xFF) - zero;
            }
        }
        return out;
    }

    private static int dot(int[] x, int[] y) {
        int sum = 0;
        for (int i = 0; i < x.length; i++) {
            sum += x[i] * y[i];
        }
        return sum;
    }
}
