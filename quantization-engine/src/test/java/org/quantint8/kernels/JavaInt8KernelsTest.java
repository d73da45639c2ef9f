package org.quantint8.kernels;

import org.testng.Assert;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

public class JavaInt8KernelsTest {

    @Test
    public void gemmMatchesNaiveReferenceOnRandomShapes() {
        Random random = new Random(41);
        int[] sizes = {1, 2, 3, 4, 5, 7, 13, 16, 17, 31, 64, 65, 97};
        try (Arena arena = Arena.ofConfined()) {
            for (int trial = 0; trial < 200; trial++) {
                int m = sizes[random.nextInt(sizes.length)];
                int n = sizes[random.nextInt(sizes.length)];
                int k = sizes[random.nextInt(sizes.length)];
                boolean aSigned = random.nextBoolean();
                boolean bSigned = random.nextBoolean();
                Int8Matrix a = randomMatrix(arena, random, m, k, aSigned, false);
                Int8Matrix b = randomMatrix(arena, random, n, k, bSigned, true);
                MemorySegment c = arena.allocate(4L * m * n);
                JavaInt8Kernels.INSTANCE.gemm(a, b, c);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        long expected = 0;
                        for (int t = 0; t < k; t++) {
                            expected += (long) (value(a, i, t) - a.zeroPoint(i))
                                    * (value(b, j, t) - b.zeroPoint(j));
                        }
                        Assert.assertEquals(c.get(ValueLayout.JAVA_INT_UNALIGNED, 4L * (i * n + j)),
                                expected, "C[" + i + "][" + j + "] of " + m + "x" + k + "x" + n);
                    }
                }
            }
        }
    }

    @Test
    public void extremeValuesDoNotOverflowAtBertSizes() {
        try (Arena arena = Arena.ofConfined()) {
            int k = 3072;
            MemorySegment a = arena.allocate(k).fill((byte) 255);
            MemorySegment b = arena.allocate(k).fill((byte) -128);
            MemorySegment c = arena.allocate(4);
            JavaInt8Kernels.INSTANCE.gemm(new Int8Matrix(a, 1, k, false, new int[] {0}),
                    new Int8Matrix(b, 1, k, true, new int[] {127}), c);
            Assert.assertEquals(c.get(ValueLayout.JAVA_INT_UNALIGNED, 0), 255 * -255 * k);
        }
    }

    @Test
    public void matrixChecksItsMemoryAndZeroPoints() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(11);
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> new Int8Matrix(small, 3, 4, true, new int[] {0}));
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> new Int8Matrix(small, -1, 4, true, new int[] {0}));
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> new Int8Matrix(small, 2, 4, true, new int[] {0, 0, 0}));
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> new Int8Matrix(small, 2, 4, false, new int[] {256}));
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> new Int8Matrix(small, 2, 4, true, new int[] {128}));
            Int8Matrix a = new Int8Matrix(small, 2, 4, true, new int[] {0});
            Int8Matrix b = new Int8Matrix(small, 2, 5, true, new int[] {0});
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> JavaInt8Kernels.INSTANCE.gemm(a, b, arena.allocate(16)));
            Int8Matrix b4 = new Int8Matrix(small, 2, 4, true, new int[] {0});
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> JavaInt8Kernels.INSTANCE.gemm(a, b4, arena.allocate(15)));
        }
    }

    @Test
    public void quantMathRoundsHalfToEvenAndSaturates() {
        Assert.assertEquals(QuantMath.quantize(2.5f, 1f, 0, -128, 127), 2);
        Assert.assertEquals(QuantMath.quantize(3.5f, 1f, 0, -128, 127), 4);
        Assert.assertEquals(QuantMath.quantize(-2.5f, 1f, 0, -128, 127), -2);
        Assert.assertEquals(QuantMath.quantize(1e30f, 1f, 0, -128, 127), 127);
        Assert.assertEquals(QuantMath.quantize(Float.NEGATIVE_INFINITY, 1f, 3, 0, 255), 0);
        Assert.assertEquals(QuantMath.quantize(Float.NaN, 1f, 3, 0, 255), 3);
        Assert.assertEquals(QuantMath.fakeQuantize(0.26f, 0.1f, 0, -128, 127), 0.3f, 1e-7);
    }

    private static Int8Matrix randomMatrix(Arena arena, Random random, int rows, int cols,
            boolean signed, boolean perRow) {
        MemorySegment data = arena.allocate((long) rows * cols);
        for (long i = 0; i < data.byteSize(); i++) {
            // Favour the extremes, where overflow and sign bugs live.
            int v = random.nextInt(4) == 0 ? (random.nextBoolean() ? 0 : 255) : random.nextInt(256);
            data.set(ValueLayout.JAVA_BYTE, i, (byte) v);
        }
        int[] zeros = new int[perRow ? rows : 1];
        for (int i = 0; i < zeros.length; i++) {
            int z = random.nextInt(3) == 0 ? 0 : random.nextInt(256);
            zeros[i] = signed ? z - 128 : z;
        }
        return new Int8Matrix(data, rows, cols, signed, zeros);
    }

    private static int value(Int8Matrix m, int row, int col) {
        byte b = m.data().get(ValueLayout.JAVA_BYTE, (long) row * m.cols() + col);
        return m.signed() ? b : b & 0xFF;
    }
}
