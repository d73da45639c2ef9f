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

    /**
     * {@inheritDoc}
     *
     * <p>The Java kernels need no other layout: the packed form only keeps the matrix, which must
     * stay alive while it is used.
     */
    @Override
    public PackedInt8Matrix pack(Int8Matrix b) {
        return new Kept(b);
    }

    /** {@inheritDoc} */
    @Override
    public void gemm(Int8Matrix a, PackedInt8Matrix b, MemorySegment c) {
        if (!(b instanceof Kept kept)) {
            throw new IllegalArgumentException(
                    "gemm: weights packed by the " + b.kernels().name() + " kernels, not by java");
        }
        gemm(a, kept.matrix(), c);
    }

    /** {@inheritDoc} */
    @Override
    public void gemvF32(MemorySegment x, Int8Matrix w, float[] scales, MemorySegment y) {
        Int8Kernels.checkGemv(x, w, scales, y);
        int k = w.cols();
        float[] xs = x.asSlice(0, 4L * k).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
        for (int n = 0; n < w.rows(); n++) {
            int[] row = widenRow(w, n); // zero point already removed, exact in int
            float sum = 0f;
            for (int i = 0; i < k; i++) {
                sum += xs[i] * row[i];
            }
            float scale = scales[scales.length == 1 ? 0 : n];
            y.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * n, sum * scale);
        }
    }

    /** The Java kernels' packed form: the matrix itself. */
    private record Kept(Int8Matrix matrix) implements PackedInt8Matrix {

        @Override
        public Int8Kernels kernels() {
            return INSTANCE;
        }

        @Override
        public int rows() {
            return matrix.rows();
        }

        @Override
        public int cols() {
            return matrix.cols();
        }

        @Override
        public void close() {}
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
