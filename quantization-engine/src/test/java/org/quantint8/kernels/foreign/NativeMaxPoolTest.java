package org.quantint8.kernels.foreign;

import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.JavaInt8Kernels;
import org.quantint8.kernels.PoolKernels;
import org.quantint8.kernels.PoolWindow;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * The native max pooling gives the Java loop's bits on every instruction-set path: strides 1
 * to 3, padding, windows wider than the stride and narrower, ceiling-mode outputs whose last
 * window hangs over the edge, NaN (which wins), infinities and zeros of both signs.
 */
public class NativeMaxPoolTest {

    /** inH, inW, outH, outW, kernelH, kernelW, strideH, strideW, padH, padW. */
    private static final int[][] WINDOWS = {
        {112, 112, 56, 56, 3, 3, 2, 2, 1, 1},
        {9, 8, 9, 8, 3, 3, 1, 1, 1, 1},
        {11, 13, 4, 5, 2, 4, 3, 3, 1, 2},
        {7, 7, 4, 4, 3, 3, 2, 2, 0, 0},
        {5, 6, 3, 3, 1, 1, 2, 2, 0, 0},
        {3, 3, 1, 1, 5, 5, 1, 1, 2, 2}
    };

    @Test(dataProvider = "isas", dataProviderClass = NativeGemmPropertyTest.class)
    public void matchesJavaBitForBit(Isa isa) {
        Int8Kernels kernels = NativeGemmPropertyTest.kernels(isa);
        Int8Kernels java = JavaInt8Kernels.INSTANCE;
        Random random = new Random(43 + isa.ordinal());
        float[] specials = {Float.NaN, -0f, 0f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY};
        for (int[] w : WINDOWS) {
            PoolWindow window = new PoolWindow(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
                    w[8], w[9]);
            int planes = 3;
            try (Arena arena = Arena.ofConfined()) {
                long inCount = planes * window.inputPlane();
                long outCount = planes * window.outputPlane();
                MemorySegment in = arena.allocate(4 * inCount);
                for (long i = 0; i < inCount; i++) {
                    float v = random.nextInt(9) == 0 ? specials[random.nextInt(specials.length)]
                            : random.nextInt(5) - 2f; // ties between equal values, and zeros
                    in.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
                }
                MemorySegment expected = arena.allocate(4 * outCount);
                MemorySegment actual = arena.allocate(4 * outCount);
                java.maxPool(in, expected, planes, window);
                kernels.maxPool(in, actual, planes, window);
                Assert.assertEquals(MemorySegment.mismatch(expected, 0, 4 * outCount, actual, 0,
                        4 * outCount), -1L, kernels.name() + " " + window);
            }
        }
    }

    @Test
    public void badWindowsAndShortSegmentsAreRefused() {
        Assert.expectThrows(IllegalArgumentException.class,
                () -> new PoolWindow(4, 4, 2, 2, 2, 2, 2, 2, 2, 0)); // padding = kernel
        Assert.expectThrows(IllegalArgumentException.class,
                () -> new PoolWindow(4, 4, 4, 2, 2, 2, 2, 2, 0, 0)); // a window past the input
        PoolWindow window = new PoolWindow(4, 4, 2, 2, 2, 2, 2, 2, 0, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(4 * 16 * 2 - 4);
            MemorySegment out = arena.allocate(4 * 4 * 2);
            IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> PoolKernels.maxPool(in, out, 2, window));
            Assert.assertTrue(e.getMessage().contains("need 128 input"), e.getMessage());
        }
    }
}
