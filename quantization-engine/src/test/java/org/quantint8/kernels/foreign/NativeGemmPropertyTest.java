package org.quantint8.kernels.foreign;

import org.quantint8.kernels.Activation;
import org.quantint8.kernels.GemmEpilogue;
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

    /**
     * Decoding shapes: a tile of fewer than 8 rows reads B one panel at a time, 8 rows and more
     * several panels side by side; signed A is flipped in the kernel, unsigned A broadcast from
     * memory. Both ways, every column tail and a K that is not a multiple of 4.
     */
    @Test(dataProvider = "isas")
    public void fewRowsAndBothSignsOfAMatchJava(Isa isa) {
        NativeInt8Kernels kernels = kernels(isa);
        Random random = new Random(20261128L + isa.ordinal());
        for (boolean signedA : new boolean[] {false, true}) {
            for (int m : new int[] {1, 2, 5, 7, 8, 13}) {
                checkOne(kernels, random, m, 1000, 768, signedA, "decoding");
                checkOne(kernels, random, m, 16 * 5 + 7, 61, signedA, "tails");
            }
        }
    }

    /**
     * The linear layer's epilogue, one channel a column (scale, bias, post step, Relu), gives the
     * Java reference's FP32 bits on every path, on random shapes and on both thread splits.
     */
    @Test(dataProvider = "isas")
    public void perColumnEpilogueMatchesJavaBitForBit(Isa isa) {
        NativeInt8Kernels kernels = kernels(isa);
        Random random = new Random(20261127L + isa.ordinal());
        for (int trial = 0; trial < SHAPES / 5; trial++) {
            checkPerColumn(kernels, random, size(random, 40), size(random, 100),
                    size(random, 300), "trial " + trial);
        }
        checkPerColumn(kernels, random, 37, 1000, 61, "column split");
        checkPerColumn(kernels, random, 300, 40, 301, "row split");
    }

    /**
     * The epilogues of a convolution (a batch normalization, with and without Relu and a
     * residual; per column as by positions, per row as by channels) on whole 6 x 64 register
     * tiles, for which the AVX-512 kernel is compiled apart; mostly with one zero point for A and
     * B's zero points 0, when the correction is one term per column. The Java reference's bits,
     * with the input's scale apart or not.
     */
    @Test(dataProvider = "isas")
    public void convolutionEpiloguesOnWholeTilesMatchJava(Isa isa) {
        NativeInt8Kernels kernels = kernels(isa);
        Random random = new Random(20261128L + isa.ordinal());
        for (int trial = 0; trial < SHAPES / 10; trial++) {
            int m = 6 * (1 + random.nextInt(8)) + (random.nextInt(3) == 0 ? random.nextInt(6) : 0);
            int n = 64 * (1 + random.nextInt(3))
                    + (random.nextInt(3) == 0 ? random.nextInt(16) : 0);
            int k = 1 + random.nextInt(random.nextBoolean() ? 70 : 600);
            checkConvolution(kernels, random, m, n, k, "trial " + trial);
        }
    }

    @Test
    public void perColumnEpilogueMustCoverTheColumns() {
        NativeInt8Kernels kernels = kernels(Isa.PORTABLE);
        Random random = new Random(3);
        try (Arena arena = Arena.ofConfined()) {
            Int8Matrix a = RandomInt8.matrix(arena, random, 4, 8, false);
            Int8Matrix b = RandomInt8.matrix(arena, random, 5, 8, true);
            try (PackedInt8Matrix packed = kernels.pack(b)) {
                // Four channels would be right per row (M = 4), not per column (N = 5).
                GemmEpilogue rowsCount = GemmEpilogue.perColumn(new float[4], new float[4], null,
                        null, Activation.NONE);
                IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                        () -> kernels.gemmF32(a, packed, rowsCount, arena.allocate(4 * 20)));
                Assert.assertTrue(e.getMessage().contains("5 columns"), e.getMessage());
            }
        }
    }

    @Test
    public void epilogueVectorsMustBeWholeFloatsOfOneLength() {
        try (Arena arena = Arena.ofConfined()) {
            IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> GemmEpilogue.perColumn(0.5f, arena.allocate(10), arena.allocate(10),
                            null, null, Activation.NONE));
            Assert.assertTrue(e.getMessage().contains("10 bytes"), e.getMessage());
            e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> GemmEpilogue.perColumn(0.5f, arena.allocate(16), arena.allocate(12),
                            null, null, Activation.NONE));
            Assert.assertTrue(e.getMessage().contains("3 offsets"), e.getMessage());
        }
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
        checkOne(kernels, random, m, n, k, random.nextBoolean(), what);
    }

    private static void checkOne(NativeInt8Kernels kernels, Random random, int m, int n, int k,
            boolean signedA, String what) {
        try (Arena arena = Arena.ofConfined()) {
            Int8Matrix a = RandomInt8.matrix(arena, random, m, k, signedA);
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

    private static void checkPerColumn(NativeInt8Kernels kernels, Random random, int m, int n,
            int k, String what) {
        float[] scale = new float[n];
        float[] bias = new float[n];
        float[] postScale = new float[n];
        float[] postShift = new float[n];
        // Now and then a factor that makes the activation's edge cases: NaN, infinities, -0.
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 1f};
        for (int j = 0; j < n; j++) {
            scale[j] = random.nextInt(40) == 0 ? special[random.nextInt(special.length)]
                    : (float) (random.nextGaussian() * 1e-3);
            bias[j] = random.nextInt(3) == 0 ? 0f : (float) random.nextGaussian();
            postScale[j] = (float) random.nextGaussian();
            postShift[j] = (float) random.nextGaussian();
        }
        boolean post = random.nextBoolean();
        Activation activation = Activation.values()[random.nextInt(Activation.values().length)];
        GemmEpilogue premultiplied = GemmEpilogue.perColumn(scale, bias,
                post ? postScale : null, post ? postShift : null, activation);
        // Half the time the input's scale apart, over native vectors as a linear layer keeps them.
        boolean split = random.nextBoolean();
        float inputScale = split ? (float) (1e-4 + random.nextDouble() * 0.1) : 1f;
        try (Arena arena = Arena.ofConfined()) {
            GemmEpilogue epilogue = !split ? premultiplied
                    : GemmEpilogue.perColumn(inputScale, nativeCopy(arena, scale),
                            nativeCopy(arena, bias), post ? postScale : null,
                            post ? postShift : null, activation);
            Int8Matrix a = RandomInt8.matrix(arena, random, m, k, random.nextBoolean());
            Int8Matrix b = RandomInt8.matrix(arena, random, n, k, random.nextBoolean());
            long bytes = 4L * m * n;
            MemorySegment expected = arena.allocate(bytes + 4);
            try (PackedInt8Matrix packed = JavaInt8Kernels.INSTANCE.pack(b)) {
                JavaInt8Kernels.INSTANCE.gemmF32(a, packed, epilogue, expected);
                if (split) {
                    // The same bits as multiplying the scales beforehand.
                    float[] products = new float[n];
                    for (int j = 0; j < n; j++) {
                        products[j] = inputScale * scale[j];
                    }
                    MemorySegment before = arena.allocate(bytes + 4);
                    JavaInt8Kernels.INSTANCE.gemmF32(a, packed, GemmEpilogue.perColumn(products,
                            bias, post ? postScale : null, post ? postShift : null, activation),
                            before);
                    Assert.assertEquals(MemorySegment.mismatch(expected, 0, bytes, before, 0,
                            bytes), -1L, what + ": the input's scale apart changes the result");
                }
            }
            MemorySegment actual = random.nextBoolean() ? arena.allocate(bytes + 4, 64)
                    : MemorySegment.ofArray(new float[m * n]);
            try (PackedInt8Matrix packed = kernels.pack(b)) {
                kernels.gemmF32(a, packed, epilogue, actual);
            }
            assertSameFloats(expected, actual, m, n, kernels.name() + " per column, " + what
                    + ": " + m + "x" + k + "x" + n + " (post " + post + ", " + activation
                    + ", input scale " + inputScale + ")");
        }
    }

    private static void checkConvolution(NativeInt8Kernels kernels, Random random, int m, int n,
            int k, String what) {
        boolean columnTerm = random.nextInt(4) != 0;
        boolean perColumn = random.nextInt(3) != 0;
        boolean residual = random.nextBoolean();
        Activation activation = random.nextBoolean() ? Activation.RELU : Activation.NONE;
        float inputScale = random.nextBoolean() ? 1f : (float) (1e-4 + random.nextDouble() * 0.1);
        float[][] channel = new float[4][perColumn ? n : m]; // scale, bias, post scale and shift
        for (float[] values : channel) {
            for (int j = 0; j < values.length; j++) {
                values[j] = random.nextInt(50) == 0 ? -0f : (float) random.nextGaussian();
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            Int8Matrix a = RandomInt8.matrix(arena, random, m, k, random.nextBoolean());
            Int8Matrix b = RandomInt8.matrix(arena, random, n, k, true);
            if (columnTerm) {
                a = new Int8Matrix(a.data(), m, k, a.signed(), new int[] {a.zeroPoint(0)});
                b = new Int8Matrix(b.data(), n, k, true, new int[] {0});
            }
            MemorySegment shortcut = null;
            if (residual) {
                shortcut = arena.allocate(4L * m * n, 4);
                for (long i = 0; i < (long) m * n; i++) {
                    shortcut.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
                }
            }
            GemmEpilogue epilogue = new GemmEpilogue(perColumn, inputScale,
                    MemorySegment.ofArray(channel[0]), MemorySegment.ofArray(channel[1]),
                    MemorySegment.ofArray(channel[2]), MemorySegment.ofArray(channel[3]),
                    shortcut, activation);
            long bytes = 4L * m * n;
            MemorySegment expected = arena.allocate(bytes, 64);
            try (PackedInt8Matrix packed = JavaInt8Kernels.INSTANCE.pack(b)) {
                JavaInt8Kernels.INSTANCE.gemmF32(a, packed, epilogue, expected);
            }
            MemorySegment actual = arena.allocate(bytes, 64);
            try (PackedInt8Matrix packed = kernels.pack(b)) {
                kernels.gemmF32(a, packed, epilogue, actual);
            }
            assertSameFloats(expected, actual, m, n, kernels.name() + " convolution epilogue, "
                    + what + ": " + m + "x" + k + "x" + n + " (per column " + perColumn
                    + ", column term " + columnTerm + ", residual " + residual + ", "
                    + activation + ", input scale " + inputScale + ")");
        }
    }

    /** Fails, naming the first differing element of C (m x n FP32), unless both hold its bits. */
    private static void assertSameFloats(MemorySegment expected, MemorySegment actual, int m,
            int n, String label) {
        long bytes = 4L * m * n;
        long mismatch = MemorySegment.mismatch(expected, 0, bytes, actual, 0, bytes);
        if (mismatch >= 0) {
            long e = mismatch / 4;
            Assert.fail(label + " differs at C[" + e / n + "][" + e % n + "]: "
                    + expected.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * e) + " vs "
                    + actual.get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * e));
        }
    }

    private static MemorySegment nativeCopy(Arena arena, float[] values) {
        return arena.allocate(4L * values.length, 4).copyFrom(MemorySegment.ofArray(values));
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
