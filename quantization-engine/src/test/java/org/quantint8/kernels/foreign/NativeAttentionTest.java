package org.quantint8.kernels.foreign;

import org.quantint8.kernels.AttentionInputs;
import org.quantint8.kernels.FloatKernels;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * The native attention gives the Java loop's bits on every instruction-set path: decoding rows
 * and full sequences (some not a multiple of the four rows the vector loop takes at once, some
 * rows wider than its 64 columns), queries inside a wider packed row, no mask, an additive mask
 * broadcast over heads and rows, a causal choosing mask, scores divided or multiplied, a NaN that
 * must spread through its row only, and enough work to share the heads among the kernel threads.
 */
public class NativeAttentionTest {

    @Test(dataProvider = "isas", dataProviderClass = NativeGemmPropertyTest.class)
    public void matchesJavaBitForBit(Isa isa) {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(isa);
        Random random = new Random(41 + isa.ordinal());
        int[][] shapes = {{1, 1, 1, 1, 1}, {2, 1, 3, 8, 5}, {1, 7, 2, 16, 7}, {2, 9, 3, 64, 9},
            {1, 1, 12, 64, 48}, {1, 33, 2, 24, 40}, {2, 64, 4, 64, 64}, {1, 6, 2, 80, 130}};
        for (int[] shape : shapes) {
            for (int mask = 0; mask < 3; mask++) {
                check(kernels, random, shape, mask, random.nextBoolean(), false);
            }
        }
        check(kernels, random, new int[] {1, 4, 2, 16, 6}, 1, false, true);
    }

    @Test
    public void operandsThatDoNotFitAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(4 * 63);
            MemorySegment cache = arena.allocate(4 * 64);
            IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> new AttentionInputs(small, 64, 1, 1, 1, 64, 1, cache, cache, null, null,
                            null, 0f, 1f, false, cache));
            Assert.assertTrue(e.getMessage().contains("queries"), e.getMessage());
            MemorySegment twoKeys = arena.allocate(4 * 128);
            // Two keys, a mask of one value that is not broadcast along them.
            e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> new AttentionInputs(cache, 64, 1, 1, 1, 64, 2, twoKeys, twoKeys,
                            new float[1], null, new long[] {0, 0, 0, 1}, 0f, 1f, false, cache));
            Assert.assertTrue(e.getMessage().contains("mask"), e.getMessage());
        }
    }

    /**
     * One call on both sides. Shape: batch, seq, heads, size, total; mask 0 none, 1 additive
     * over [batch, 1, 1, total], 2 causal choice over [seq, total].
     */
    private static void check(NativeInt8Kernels kernels, Random random, int[] shape, int mask,
            boolean divide, boolean nan) {
        int batch = shape[0];
        int seq = shape[1];
        int heads = shape[2];
        int size = shape[3];
        int total = shape[4];
        long stride = 3L * heads * size; // the queries are the first third of a packed row
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = normal(arena, random, batch * seq * stride);
            if (nan) {
                q.setAtIndex(ValueLayout.JAVA_FLOAT, stride + 3, Float.NaN); // row (0, 1), head 0
            }
            MemorySegment k = normal(arena, random, (long) batch * heads * total * size);
            MemorySegment v = normal(arena, random, (long) batch * heads * total * size);
            float[] add = null;
            byte[] allowed = null;
            long[] strides = null;
            if (mask == 1) {
                add = new float[batch * total];
                for (int i = 0; i < add.length; i++) {
                    add[i] = random.nextInt(4) == 0 ? -3.4028235e38f : 0f;
                }
                strides = new long[] {total, 0, 0, 1};
            } else if (mask == 2) {
                allowed = new byte[seq * total];
                for (int s = 0; s < seq; s++) {
                    for (int t = 0; t < total; t++) {
                        allowed[s * total + t] = (byte) (t <= total - seq + s ? 1 : 0);
                    }
                }
                strides = new long[] {0, 0, total, 1};
            }
            long outFloats = (long) batch * seq * heads * size;
            MemorySegment expected = arena.allocate(4 * outFloats + 4);
            MemorySegment actual = arena.allocate(4 * outFloats + 4);
            float scale = divide ? 8f : 0.125f;
            FloatKernels.attention(new AttentionInputs(q, stride, batch, seq, heads, size, total,
                    k, v, add, allowed, strides, -1e4f, scale, divide, expected));
            kernels.attention(new AttentionInputs(q, stride, batch, seq, heads, size, total, k,
                    v, add, allowed, strides, -1e4f, scale, divide, actual));
            String what = kernels.name() + " " + java.util.Arrays.toString(shape) + " mask "
                    + mask + (divide ? " divide" : " multiply") + (nan ? " with a NaN" : "");
            Assert.assertEquals(MemorySegment.mismatch(expected, 0, 4 * outFloats, actual, 0,
                    4 * outFloats), -1L, what);
            if (nan) {
                Assert.assertTrue(Float.isNaN(actual.getAtIndex(ValueLayout.JAVA_FLOAT,
                        (long) heads * size)), what + ": the NaN row");
                Assert.assertFalse(Float.isNaN(actual.getAtIndex(ValueLayout.JAVA_FLOAT, 0)),
                        what + ": another row");
            }
        }
    }

    private static MemorySegment normal(Arena arena, Random random, long count) {
        MemorySegment s = arena.allocate(4 * count);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
        }
        return s;
    }
}
