package org.quantint8.kernels.foreign;

import org.quantint8.kernels.Activation;
import org.quantint8.kernels.ConvWindow;
import org.quantint8.kernels.GemmEpilogue;
import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.JavaInt8Kernels;
import org.quantint8.kernels.PackedInt8Matrix;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;

/**
 * The convolution entry points of the native kernels ({@code packPatches}, {@code gemmF32},
 * {@code patchRows}, {@code transposeOutput}) equal the Java reference bit for bit on every
 * instruction-set path this CPU has: random windows with odd channel counts, random epilogues
 * (post step, residual, Relu, each or not), K off multiples of 4, positions off multiples of 16
 * (edge panels and tiles), padding, strides, dilations and both input types; and bad arguments
 * are refused in Java before any downcall.
 */
public class NativeConvKernelsTest {

    private static final int WINDOWS = 150;

    @Test(dataProvider = "isas", dataProviderClass = NativeGemmPropertyTest.class)
    public void randomWindowsMatchJavaBitForBit(Isa isa) {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(isa);
        Random random = new Random(20261127L + isa.ordinal());
        for (int trial = 0; trial < WINDOWS; trial++) {
            checkOne(kernels, random, randomWindow(random), "trial " + trial);
        }
    }

    @Test(dataProvider = "isas", dataProviderClass = NativeGemmPropertyTest.class)
    public void resNetShapesMatchJava(Isa isa) {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(isa);
        Random random = new Random(50);
        // The stem (7x7 stride 2, pad 3), a pointwise conv that copies no patch, a 3x3 of the
        // last stage (49 positions: one full and one 1-column panel block), a strided 1x1.
        checkOne(kernels, random, new ConvWindow(3, 40, 40, 7, 7, 2, 2, 3, 3, 1, 1, 20, 20),
                "stem");
        checkOne(kernels, random, new ConvWindow(64, 14, 14, 1, 1, 1, 1, 0, 0, 1, 1, 14, 14),
                "pointwise");
        checkOne(kernels, random, new ConvWindow(32, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 7, 7),
                "3x3 of 7x7");
        checkOne(kernels, random, new ConvWindow(16, 14, 14, 1, 1, 2, 2, 0, 0, 1, 1, 7, 7),
                "strided 1x1");
    }

    /**
     * The positions-on-rows form: the patch rows and the transposition with residual and
     * activation equal the Java reference bit for bit (positions and channels off multiples of
     * 4 and 16, K off multiples of 16, padding, strides).
     */
    @Test(dataProvider = "isas", dataProviderClass = NativeGemmPropertyTest.class)
    public void patchRowsAndTransposedOutputMatchJava(Isa isa) {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(isa);
        Int8Kernels reference = JavaInt8Kernels.INSTANCE;
        Random random = new Random(20261128L + isa.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int trial = 0; trial < 60; trial++) {
                ConvWindow window = trial == 0
                        ? new ConvWindow(40, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 7, 7)
                        : randomWindow(random);
                boolean signed = random.nextBoolean();
                Int8Matrix input = RandomInt8.matrix(arena, random, 1,
                        (int) window.inputBytes(), signed);
                long bytes = (long) window.positions() * window.patchLength();
                MemorySegment expected = arena.allocate(bytes);
                MemorySegment actual = arena.allocate(bytes);
                reference.patchRows(input.data(), signed, input.zeroPoint(0), window, false,
                        expected);
                kernels.patchRows(input.data(), signed, input.zeroPoint(0), window, false,
                        actual);
                Assert.assertEquals(actual.mismatch(expected), -1L, "patch rows of " + window);
                // The same patches from the input laid out channels-last, by both kernels.
                MemorySegment last = channelsLast(arena, input.data(), window);
                for (Int8Kernels k : List.of(kernels, reference)) {
                    actual.fill((byte) 0);
                    k.patchRows(last, signed, input.zeroPoint(0), window, true, actual);
                    Assert.assertEquals(actual.mismatch(expected), -1L, k.name()
                            + ": patch rows of channels-last " + window);
                }
                int pixels = window.inH() * window.inW();
                MemorySegment planes = arena.allocate(window.inputBytes());
                kernels.transposeBytes(last, pixels, window.channels(), planes);
                Assert.assertEquals(planes.mismatch(input.data().asSlice(0,
                        window.inputBytes())), -1L, "channels-last back to planes " + window);
                int rows = 1 + random.nextInt(70);
                int cols = 1 + random.nextInt(70);
                MemorySegment src = randomFloats(arena, random, rows * cols);
                MemorySegment residual = random.nextBoolean() ? null
                        : randomFloats(arena, random, rows * cols);
                Activation activation =
                        Activation.values()[random.nextInt(Activation.values().length)];
                MemorySegment want = arena.allocate(4L * rows * cols);
                MemorySegment got = arena.allocate(4L * rows * cols);
                reference.transposeOutput(src, rows, cols, residual, activation, want);
                kernels.transposeOutput(src, rows, cols, residual, activation, got);
                Assert.assertEquals(got.mismatch(want), -1L, rows + " x " + cols + " "
                        + activation + (residual == null ? "" : " with residual"));
            }
            // The choice GemmOpsTest relies on (16 output channels a group): few positions, or
            // 3x3 runs of 16 channels; never for fewer output channels than a panel.
            Assert.assertTrue(kernels.positionsOnRows(square(15, 2), 16, false));
            Assert.assertFalse(kernels.positionsOnRows(square(17, 2), 16, false));
            Assert.assertTrue(kernels.positionsOnRows(square(17, 16), 16, false));
            Assert.assertFalse(kernels.positionsOnRows(square(7, 16), 15, false));
            Assert.assertFalse(reference.positionsOnRows(square(7, 16), 16, false));
            // A 1x1 over many positions: on channels, unless channels-last in and out.
            ConvWindow pointwise = new ConvWindow(64, 56, 56, 1, 1, 1, 1, 0, 0, 1, 1, 56, 56);
            Assert.assertFalse(kernels.positionsOnRows(pointwise, 64, false));
            Assert.assertTrue(kernels.positionsOnRows(pointwise, 64, true));
            Assert.assertFalse(kernels.positionsOnRows(pointwise, 8, true));
            // Direct (the patches are the pixels): 1x1, stride 1, unpadded only.
            Assert.assertTrue(pointwise.isDirect());
            Assert.assertFalse(square(7, 16).isDirect());
            Assert.assertFalse(new ConvWindow(64, 56, 56, 1, 1, 2, 2, 0, 0, 1, 1, 28, 28)
                    .isDirect());
            Assert.assertFalse(new ConvWindow(64, 56, 56, 1, 1, 1, 1, 1, 1, 1, 1, 58, 58)
                    .isDirect());
            MemorySegment small = arena.allocate(8);
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.transposeOutput(small, 2, 2, null, Activation.NONE, small));
            MemorySegment four = arena.allocate(32);
            Assert.expectThrows(IllegalArgumentException.class, () -> kernels.transposeOutput(
                    four, 2, 2, null, Activation.NONE, four.asSlice(8)));
            ConvWindow window = new ConvWindow(2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5);
            MemorySegment input = arena.allocate(window.inputBytes());
            Assert.expectThrows(IllegalArgumentException.class, () -> kernels.patchRows(
                    input, false, 0, window, true, arena.allocate(25 * 18 - 1)));
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.transposeBytes(four, 4, 8, four.asSlice(1)));
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.transposeBytes(small, 3, 3, four));
        }
    }

    /** The window's NCHW input as H x W x C bytes, written plainly (independent of the kernels). */
    private static MemorySegment channelsLast(Arena arena, MemorySegment planes, ConvWindow w) {
        int pixels = w.inH() * w.inW();
        MemorySegment last = arena.allocate(w.inputBytes());
        for (int c = 0; c < w.channels(); c++) {
            for (int p = 0; p < pixels; p++) {
                last.set(ValueLayout.JAVA_BYTE, (long) p * w.channels() + c,
                        planes.get(ValueLayout.JAVA_BYTE, (long) c * pixels + p));
            }
        }
        return last;
    }

    /** A 3x3, stride-1, padded window over size x size. */
    private static ConvWindow square(int size, int channels) {
        return new ConvWindow(channels, size, size, 3, 3, 1, 1, 1, 1, 1, 1, size, size);
    }

    private static MemorySegment randomFloats(Arena arena, Random random, int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
    }

    @Test
    public void badArgumentsAreRefusedInJava() {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(Isa.PORTABLE);
        Assert.expectThrows(IllegalArgumentException.class, // output size not from the window
                () -> new ConvWindow(2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 6, 5));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> new ConvWindow(2, 5, 5, 3, 3, 1, 1, -1, 1, 1, 1, 3, 5));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> new ConvWindow(0, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> GemmEpilogue.perRow(new float[2], new float[3], null, null, null, Activation.NONE));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> GemmEpilogue.perRow(new float[2], new float[2], new float[2], null, null, Activation.NONE));
        ConvWindow window = new ConvWindow(2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, 5);
        try (Arena arena = Arena.ofConfined()) {
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.packPatches(arena.allocate(49), false, 0, window));
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.packPatches(arena.allocate(50), false, 256, window));
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.packPatches(arena.allocate(50), true, 128, window));
            Int8Matrix weights = new Int8Matrix(arena.allocate(3 * 18), 3, 18, true,
                    new int[] {0});
            try (PackedInt8Matrix patches = kernels.packPatches(arena.allocate(50), false, 0,
                    window)) {
                GemmEpilogue two = GemmEpilogue.perRow(new float[2], new float[2], null, null, null,
                        Activation.NONE);
                GemmEpilogue three = GemmEpilogue.perRow(new float[3], new float[3], null, null, null,
                        Activation.RELU);
                Assert.expectThrows(IllegalArgumentException.class,
                        () -> kernels.gemmF32(weights, patches, two, arena.allocate(4 * 75)));
                Assert.expectThrows(IllegalArgumentException.class,
                        () -> kernels.gemmF32(weights, patches, three, arena.allocate(4 * 74)));
                Int8Matrix wrongK = new Int8Matrix(arena.allocate(3 * 17), 3, 17, true,
                        new int[] {0});
                Assert.expectThrows(IllegalArgumentException.class,
                        () -> kernels.gemmF32(wrongK, patches, three, arena.allocate(4 * 75)));
                GemmEpilogue shortResidual = GemmEpilogue.perRow(new float[3], new float[3], null,
                        null, arena.allocate(4 * 74), Activation.RELU);
                Assert.expectThrows(IllegalArgumentException.class, () -> kernels.gemmF32(
                        weights, patches, shortResidual, arena.allocate(4 * 75)));
                kernels.gemmF32(weights, patches, three, arena.allocate(4 * 75));
            }
        }
    }

    @Test
    public void closedPatchesAreRefusedAndTheScratchIsReused() {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(Isa.PORTABLE);
        ConvWindow window = new ConvWindow(3, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6, 6);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment input = arena.allocate(window.inputBytes());
            Int8Matrix weights = new Int8Matrix(arena.allocate(27), 1, 27, true, new int[] {0});
            PackedInt8Matrix first = kernels.packPatches(input, false, 0, window);
            // While the first is open, a second packing must not share its memory.
            try (PackedInt8Matrix second = kernels.packPatches(input, false, 0, window)) {
                Assert.assertNotEquals(((NativePackedInt8Matrix) second).segment().address(),
                        ((NativePackedInt8Matrix) first).segment().address());
            }
            long address = ((NativePackedInt8Matrix) first).segment().address();
            first.close();
            Assert.expectThrows(IllegalStateException.class,
                    () -> kernels.gemm(weights, first, arena.allocate(4 * 36)));
            try (PackedInt8Matrix third = kernels.packPatches(input, false, 0, window)) {
                Assert.assertEquals(((NativePackedInt8Matrix) third).segment().address(), address);
            }
        }
    }

    private static ConvWindow randomWindow(Random random) {
        int kernelH = 1 + random.nextInt(4);
        int kernelW = random.nextInt(3) == 0 ? kernelH : 1 + random.nextInt(4);
        int strideH = 1 + random.nextInt(3);
        int strideW = random.nextBoolean() ? strideH : 1 + random.nextInt(3);
        int padH = random.nextInt(kernelH + 1);
        int padW = random.nextInt(kernelW + 1);
        int dilationH = random.nextInt(4) == 0 ? 2 : 1;
        int dilationW = random.nextInt(4) == 0 ? 2 : 1;
        int inH = (kernelH - 1) * dilationH + 1 + random.nextInt(12);
        int inW = (kernelW - 1) * dilationW + 1 + random.nextInt(25);
        int outH = (inH + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH + 1;
        int outW = (inW + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW + 1;
        int channels = 1 + random.nextInt(random.nextBoolean() ? 5 : 40);
        return new ConvWindow(channels, inH, inW, kernelH, kernelW, strideH, strideW, padH, padW,
                dilationH, dilationW, outH, outW);
    }

    /** One convolution: INT32 of gemm and FP32 of gemmF32, native against Java. */
    private static void checkOne(NativeInt8Kernels kernels, Random random, ConvWindow window,
            String what) {
        boolean signed = random.nextBoolean();
        int channels = 1 + random.nextInt(random.nextBoolean() ? 7 : 40);
        int k = window.patchLength();
        int n = window.positions();
        try (Arena arena = Arena.ofConfined()) {
            Int8Matrix input = RandomInt8.matrix(arena, random, 1, (int) window.inputBytes(),
                    signed);
            int zero = input.zeroPoint(0);
            Int8Matrix weights = RandomInt8.matrix(arena, random, channels, k, true);
            GemmEpilogue epilogue = randomEpilogue(random, channels, n, arena);
            String label = what + " " + window + (signed ? " INT8" : " UINT8") + " zero " + zero
                    + ", " + channels + " channels";
            int[] expected = new int[channels * n];
            float[] expectedReal = new float[channels * n];
            run(JavaInt8Kernels.INSTANCE, input, signed, zero, window, weights, epilogue, arena,
                    expected, expectedReal);
            int[] actual = new int[channels * n];
            float[] actualReal = new float[channels * n];
            run(kernels, input, signed, zero, window, weights, epilogue, arena, actual,
                    actualReal);
            Assert.assertEquals(actual, expected, label);
            for (int i = 0; i < actualReal.length; i++) {
                if (Float.floatToRawIntBits(actualReal[i])
                        != Float.floatToRawIntBits(expectedReal[i])) {
                    Assert.fail(label + ": FP32 output " + i + " is " + actualReal[i]
                            + ", Java gives " + expectedReal[i]);
                }
            }
        }
    }

    private static void run(Int8Kernels kernels, Int8Matrix input, boolean signed, int zero,
            ConvWindow window, Int8Matrix weights, GemmEpilogue epilogue, Arena arena,
            int[] ints, float[] floats) {
        long bytes = 4L * ints.length;
        MemorySegment c = arena.allocate(Math.max(4, bytes));
        MemorySegment real = arena.allocate(Math.max(4, bytes));
        try (PackedInt8Matrix patches = kernels.packPatches(input.data(), signed, zero, window)) {
            kernels.gemm(weights, patches, c);
            kernels.gemmF32(weights, patches, epilogue, real);
        }
        MemorySegment.copy(c, ValueLayout.JAVA_INT, 0, ints, 0, ints.length);
        MemorySegment.copy(real, ValueLayout.JAVA_FLOAT, 0, floats, 0, floats.length);
    }

    /**
     * Scales and shifts of both signs, so that Relu has work; sometimes no post step, sometimes
     * a residual (in heap memory now and then, which the native kernels must stage).
     */
    private static GemmEpilogue randomEpilogue(Random random, int rows, int cols, Arena arena) {
        float[] scale = new float[rows];
        float[] offset = new float[rows];
        float[] postScale = new float[rows];
        float[] postShift = new float[rows];
        for (int m = 0; m < rows; m++) {
            scale[m] = (float) (random.nextGaussian() * 1e-3);
            offset[m] = random.nextInt(3) == 0 ? 0f : (float) random.nextGaussian();
            postScale[m] = (float) random.nextGaussian();
            postShift[m] = (float) random.nextGaussian();
        }
        boolean post = random.nextBoolean();
        MemorySegment residual = null;
        if (random.nextBoolean()) {
            float[] values = new float[rows * cols];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) random.nextGaussian();
            }
            residual = random.nextInt(4) == 0 ? MemorySegment.ofArray(values)
                    : arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
        }
        return GemmEpilogue.perRow(scale, offset, post ? postScale : null, post ? postShift : null,
                residual, Activation.values()[random.nextInt(Activation.values().length)]);
    }
}
