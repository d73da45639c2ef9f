package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * FP32 max pooling over NCHW planes: the checks, and the Java loop that every implementation of
 * {@link Int8Kernels#maxPool} matches bit for bit. The maximum is {@link Math#max} (NaN wins, as
 * in PyTorch; +0 over -0), so the order in which a window's taps are visited changes nothing;
 * padding taps are skipped, as if they were minus infinity.
 */
public final class PoolKernels {

    private PoolKernels() {}

    /**
     * Max pooling of {@code planes} FP32 planes on the selected kernels.
     *
     * @param in the input planes, {@code planes * inH * inW} values in native byte order
     * @param out the output planes, {@code planes * outH * outW} values; it must not overlap
     *     the input
     * @param planes the number of planes (batch times channels)
     * @param window the window
     * @throws IllegalArgumentException if a segment is too small for the planes
     */
    public static void maxPool(MemorySegment in, MemorySegment out, long planes,
            PoolWindow window) {
        checkMaxPool(in, out, planes, window);
        Int8Kernels.best().maxPool(in, out, planes, window);
    }

    /**
     * Checks the arguments of {@link #maxPool}: every kernel checks them before it runs.
     *
     * @param in the input planes
     * @param out the output planes
     * @param planes the number of planes
     * @param window the window
     * @throws IllegalArgumentException if a segment is too small for the planes
     */
    public static void checkMaxPool(MemorySegment in, MemorySegment out, long planes,
            PoolWindow window) {
        if (planes < 0) {
            throw new IllegalArgumentException("maxPool: " + planes + " planes");
        }
        long inBytes = Math.multiplyExact(4 * planes, window.inputPlane());
        long outBytes = Math.multiplyExact(4 * planes, window.outputPlane());
        if (in.byteSize() < inBytes || out.byteSize() < outBytes) {
            throw new IllegalArgumentException("maxPool: " + planes + " planes of " + window
                    + " need " + inBytes + " input and " + outBytes + " output bytes, got "
                    + in.byteSize() + " and " + out.byteSize());
        }
    }

    /**
     * The Java reference of {@link #maxPool}, a plane at a time on the heap and in two
     * separable passes: per output row, the maximum over its window's rows at every input column
     * (contiguous runs, which C2 vectorizes), then over each window's columns, a stride apart.
     * With a comparison per tap, random data mispredicted half the branches.
     *
     * @param in the input planes
     * @param out the output planes
     * @param planes the number of planes
     * @param window the window
     */
    static void maxPoolInJava(MemorySegment in, MemorySegment out, long planes,
            PoolWindow window) {
        int h = window.inH();
        int w = window.inW();
        int outH = window.outH();
        int outW = window.outW();
        int sw = window.strideW();
        float[] plane = new float[h * w];
        float[] column = new float[w];
        float[] result = new float[outH * outW];
        for (long p = 0; p < planes; p++) {
            MemorySegment.copy(in, ValueLayout.JAVA_FLOAT_UNALIGNED, p * plane.length * 4L, plane,
                    0, plane.length);
            for (int oh = 0; oh < outH; oh++) {
                int y0 = Math.max(oh * window.strideH() - window.padH(), 0);
                int y1 = Math.min(oh * window.strideH() - window.padH() + window.kernelH(), h);
                Arrays.fill(column, Float.NEGATIVE_INFINITY);
                for (int y = y0; y < y1; y++) {
                    for (int x = 0; x < w; x++) {
                        column[x] = Math.max(column[x], plane[y * w + x]);
                    }
                }
                int row = oh * outW;
                Arrays.fill(result, row, row + outW, Float.NEGATIVE_INFINITY);
                for (int kx = 0; kx < window.kernelW(); kx++) {
                    int offset = kx - window.padW();
                    // The output columns whose tap kx falls inside the row.
                    int begin = Math.max(0, Math.ceilDiv(-offset, sw));
                    int end = Math.min(outW, Math.ceilDiv(w - offset, sw));
                    for (int ow = begin; ow < end; ow++) {
                        result[row + ow] = Math.max(result[row + ow], column[offset + ow * sw]);
                    }
                }
            }
            MemorySegment.copy(result, 0, out, ValueLayout.JAVA_FLOAT_UNALIGNED,
                    p * result.length * 4L, result.length);
        }
    }
}
