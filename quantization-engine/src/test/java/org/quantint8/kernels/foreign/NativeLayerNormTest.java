package org.quantint8.kernels.foreign;

import org.quantint8.kernels.JavaInt8Kernels;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * The native layer normalization (with and without the residual addition and its sum output)
 * gives the Java reference's bits on every instruction-set path, over row widths around the
 * 16-lane blocks and values with large offsets (where the variance's cancellation shows).
 */
public class NativeLayerNormTest {

    @Test(dataProvider = "isas", dataProviderClass = NativeGemmPropertyTest.class)
    public void matchesJavaBitForBit(Isa isa) {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(isa);
        Random random = new Random(27 + isa.ordinal());
        for (int n : new int[] {1, 7, 15, 16, 17, 33, 64, 768}) {
            for (int trial = 0; trial < 6; trial++) {
                check(kernels, random, 1 + random.nextInt(5), n, trial % 2 == 0,
                        trial % 3 == 0, isa + " n " + n + " trial " + trial);
            }
        }
    }

    @Test
    public void shortSegmentsAreRefused() {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(Isa.PORTABLE);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment full = arena.allocate(4 * 2 * 8);
            MemorySegment shortOne = arena.allocate(4 * 2 * 8 - 4);
            float[] gamma = new float[8];
            IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.layerNorm(full, shortOne, null, full.asSlice(0), 2, gamma,
                            null, 1e-5f));
            Assert.assertTrue(e.getMessage().contains("need 64 bytes"), e.getMessage());
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.layerNorm(full, null, full, arena.allocate(64), 2, gamma,
                            null, 1e-5f));
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.layerNorm(full, null, null, arena.allocate(64), 2, gamma,
                            new float[7], 1e-5f));
        }
    }

    private static void check(NativeInt8Kernels kernels, Random random, int rows, int n,
            boolean residual, boolean withBeta, String what) {
        try (Arena arena = Arena.ofConfined()) {
            long count = (long) rows * n;
            MemorySegment a = values(arena, random, count, 100f * random.nextFloat());
            MemorySegment b = residual ? values(arena, random, count, 0f) : null;
            float[] gamma = new float[n];
            float[] beta = withBeta ? new float[n] : null;
            for (int i = 0; i < n; i++) {
                gamma[i] = (float) random.nextGaussian();
                if (beta != null) {
                    beta[i] = (float) random.nextGaussian();
                }
            }
            MemorySegment expectedSum = residual ? arena.allocate(4 * count) : null;
            MemorySegment expected = arena.allocate(4 * count);
            JavaInt8Kernels.INSTANCE.layerNorm(a, b, expectedSum, expected, rows, gamma, beta,
                    1e-5f);
            MemorySegment actualSum = residual ? arena.allocate(4 * count) : null;
            // Heap output now and then: the native kernels stage it.
            MemorySegment actual = random.nextBoolean() ? arena.allocate(4 * count)
                    : MemorySegment.ofArray(new float[(int) count]);
            kernels.layerNorm(a, b, actualSum, actual, rows, gamma, beta, 1e-5f);
            Assert.assertEquals(MemorySegment.mismatch(expected, 0, 4 * count, actual, 0,
                    4 * count), -1L, what);
            if (residual) {
                Assert.assertEquals(expectedSum.mismatch(actualSum), -1L, what + " sum");
            }
        }
    }

    private static MemorySegment values(Arena arena, Random random, long count, float offset) {
        MemorySegment s = arena.allocate(4 * count);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, offset + (float) random.nextGaussian());
        }
        return s;
    }
}
