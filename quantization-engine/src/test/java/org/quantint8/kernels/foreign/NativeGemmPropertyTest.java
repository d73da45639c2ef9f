package org.quantint8.kernels.foreign;

import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.JavaInt8Kernels;
import org.quantint8.kernels.PackedInt8Matrix;
import org.testng.Assert;
import org.testng.SkipException;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * Native GEMM equals the Java reference bit for bit, on every instruction-set path this CPU has,
 * over thousands of random shapes biased toward the edges (M, N or K of 1, K off multiples of 4,
 * 16 and 64, zero points at the ends of their range, saturated values).
 */
public class NativeGemmPropertyTest {

    /** Shapes per path; with three paths, 7,500 GEMMs in about a second. */
    static final int SHAPES = 2500;

    @DataProvider(name = "isas")
    public static Object[][] isas() {
        Object[][] rows = new Object[Isa.values().length][];
        for (Isa isa : Isa.values()) {
            rows[isa.ordinal()] = new Object[] {isa};
        }
        return rows;
    }

    static NativeInt8Kernels kernels(Isa isa) {
        return NativeInt8Kernels.forIsa(isa).orElseThrow(() -> new SkipException(
                isa + " not available: " + (NativeInt8Kernels.unavailableReason() != null
                        ? NativeInt8Kernels.unavailableReason() : "the CPU lacks it")));
    }

    @Test(dataProvider = "isas")
    public void randomShapesMatchJavaBitForBit(Isa isa) {
        NativeInt8Kernels kernels = kernels(isa);
        Random random = new Random(20261126L + isa.ordinal());
        for (int trial = 0; trial < SHAPES; trial++) {
            int m = size(random, 40);
            int n = size(random, 100);
            int k = size(random, 300);
            checkOne(kernels, random, m, n, k, "trial " + trial);
        }
    }

    @Test(dataProvider = "isas")
    public void largeShapesSplitOverThreadsMatchJava(Isa isa) {
        NativeInt8Kernels kernels = kernels(isa);
        Random random = new Random(7);
        // Column split (many column blocks), row split (one column block), and BERT's K.
        checkOne(kernels, random, 37, 1000, 61, "column split");
        checkOne(kernels, random, 300, 40, 301, "row split");
        checkOne(kernels, random, 16, 200, 768, "K = 768");
    }

    @Test
    public void extremeValuesOverflowLikeJava() {
        NativeInt8Kernels kernels = kernels(Isa.PORTABLE);
        try (Arena arena = Arena.ofConfined()) {
            // 255 * 255 * 40000 overflows int32: both sides must wrap identically.
            int k = 40000;
            Int8Matrix a = new Int8Matrix(arena.allocate(k).fill((byte) 255), 1, k, false,
                    new int[] {0});
            Int8Matrix b = new Int8Matrix(arena.allocate(k).fill((byte) 255), 1, k, false,
                    new int[] {0});
            for (Isa isa : Isa.values()) {
                NativeInt8Kernels.forIsa(isa).ifPresent(native_ -> {
                    MemorySegment c = arena.allocate(4);
                    native_.gemm(a, b, c);
                    Assert.assertEquals(c.get(ValueLayout.JAVA_INT, 0), 255 * 255 * k, isa.name());
                });
            }
            Assert.assertNotNull(kernels);
        }
    }

    private static void checkOne(NativeInt8Kernels kernels, Random random, int m, int n, int k,
            String what) {
        try (Arena arena = Arena.ofConfined()) {
            Int8Matrix a = RandomInt8.matrix(arena, random, m, k, random.nextBoolean());
            Int8Matrix b = RandomInt8.matrix(arena, random, n, k, random.nextBoolean());
            MemorySegment expected = arena.allocate(4L * m * n + 4);
            JavaInt8Kernels.INSTANCE.gemm(a, b, expected);
            // Output: aligned native, misaligned native, or heap: the last two are staged.
            MemorySegment actual = switch (random.nextInt(3)) {
                case 0 -> arena.allocate(4L * m * n, 64);
                case 1 -> arena.allocate(4L * m * n + 1).asSlice(1);
                default -> MemorySegment.ofArray(new int[m * n]);
            };
            try (PackedInt8Matrix packed = kernels.pack(b)) {
                kernels.gemm(a, packed, actual);
            }
            long bytes = 4L * m * n;
            long mismatch = MemorySegment.mismatch(expected, 0, bytes, actual, 0, bytes);
            if (mismatch >= 0) {
                long e = mismatch / 4;
                Assert.fail(kernels.name() + " " + what + ": " + m + "x" + k + "x" + n
                        + " (A " + a.signed() + " zp " + a.zeroPoints().length + ", B "
                        + b.signed() + " zp " + b.zeroPoints().length + ") differs at C["
                        + e / n + "][" + e % n + "]: "
                        + expected.get(ValueLayout.JAVA_INT_UNALIGNED, 4 * e) + " vs "
                        + actual.get(ValueLayout.JAVA_INT_UNALIGNED, 4 * e));
            }
        }
    }

    /** A size biased toward the edges: 1, around the vector widths, or uniform. */
    static int size(Random random, int max) {
        return switch (random.nextInt(6)) {
            case 0 -> 1;
            case 1 -> 1 + random.nextInt(8);
            case 2 -> Math.min(max, 16 * (1 + random.nextInt(4)) + random.nextInt(3) - 1);
            case 3 -> Math.min(max, 64 * (1 + random.nextInt(4)) + random.nextInt(5) - 2);
            default -> 1 + random.nextInt(max);
        };
    }
}
