package org.quantint8.kernels.foreign;

import org.quantint8.kernels.FloatRange;
import org.quantint8.kernels.JavaInt8Kernels;
import org.quantint8.kernels.QuantizedStorage;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * The native range scan and per-tensor quantization of dynamic quantization give, bit for bit,
 * what the Java reference gives: the same bounds (-0 below +0), the same first non-finite value,
 * the same codes (ties, saturation, infinities, NaN) and NaN count.
 */
public class NativeQuantizeTest {

    private static final JavaInt8Kernels JAVA = JavaInt8Kernels.INSTANCE;

    @Test(dataProvider = "isas", dataProviderClass = NativeGemmPropertyTest.class)
    public void rangeMatchesJava(Isa isa) {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(isa);
        Random random = new Random(41 + isa.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int trial = 0; trial < 300; trial++) {
                int n = trial == 0 ? 0 : 1 + random.nextInt(trial < 200 ? 70 : 9000);
                float[] x = values(random, n, trial % 3 == 0 ? 0.002 : 0);
                if (trial % 5 == 1) {
                    java.util.Arrays.fill(x, trial % 2 == 0 ? -0f : 0f); // all zeros of a sign
                    x[random.nextInt(n)] = trial % 2 == 0 ? 0f : -0f;
                }
                // Offset by one float so that both aligned and unaligned-to-64 memory is read.
                MemorySegment src = arena.allocate(4L * n + 4, 4).asSlice(4 * (trial % 2));
                MemorySegment.copy(x, 0, src, ValueLayout.JAVA_FLOAT, 0, n);
                FloatRange expected = JAVA.range(src, n);
                FloatRange actual = kernels.range(src, n);
                String what = isa + " trial " + trial + " n " + n;
                Assert.assertEquals(actual.nonFiniteIndex(), expected.nonFiniteIndex(), what);
                Assert.assertEquals(bits(actual.nonFiniteValue()), bits(expected.nonFiniteValue()),
                        what);
                Assert.assertEquals(bits(actual.min()), bits(expected.min()), what);
                Assert.assertEquals(bits(actual.max()), bits(expected.max()), what);
            }
        }
    }

    @Test(dataProvider = "isas", dataProviderClass = NativeGemmPropertyTest.class)
    public void quantizationMatchesJava(Isa isa) {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(isa);
        Random random = new Random(43 + isa.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int trial = 0; trial < 300; trial++) {
                int n = 1 + random.nextInt(trial < 200 ? 70 : 9000);
                float scale = (float) Math.exp(random.nextGaussian() * 3);
                float[] x = values(random, n, 0.05);
                for (int i = 0; i < n; i += 7) {
                    x[i] = (random.nextInt(600) - 300 + 0.5f) * scale; // ties: half to even
                }
                QuantizedStorage type = trial % 2 == 0 ? QuantizedStorage.UINT8
                        : QuantizedStorage.INT8;
                int zero = type.min() + random.nextInt(type.max() - type.min() + 1);
                MemorySegment src = arena.allocate(4L * n, 4);
                MemorySegment.copy(x, 0, src, ValueLayout.JAVA_FLOAT, 0, n);
                MemorySegment expected = arena.allocate(n);
                MemorySegment actual = arena.allocate(n);
                long expectedNans = JAVA.quantizePerTensor8(src, expected, type, n, scale, zero);
                long nans = kernels.quantizePerTensor8(src, actual, type, n, scale, zero);
                String what = isa + " trial " + trial + " scale " + scale + " zero " + zero;
                Assert.assertEquals(nans, expectedNans, what);
                Assert.assertEquals(actual.mismatch(expected), -1L, what);
            }
        }
    }

    @Test(expectedExceptions = IllegalArgumentException.class,
            expectedExceptionsMessageRegExp = "quantize: 5 values need 20 input and 5 output.*")
    public void quantizationChecksSizesInJava() {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(Isa.PORTABLE);
        try (Arena arena = Arena.ofConfined()) {
            kernels.quantizePerTensor8(arena.allocate(20), arena.allocate(4),
                    QuantizedStorage.UINT8, 5, 1f, 0);
        }
    }

    /** Gaussian values of random magnitude, with a share of NaN, infinities, zeros and huge ones. */
    private static float[] values(Random random, int n, double specials) {
        float[] x = new float[n];
        double magnitude = Math.exp(random.nextGaussian() * 4);
        for (int i = 0; i < n; i++) {
            x[i] = random.nextDouble() >= specials ? (float) (random.nextGaussian() * magnitude)
                    : switch (random.nextInt(6)) {
                        case 0 -> Float.NaN;
                        case 1 -> Float.POSITIVE_INFINITY;
                        case 2 -> Float.NEGATIVE_INFINITY;
                        case 3 -> -0f;
                        case 4 -> 0f;
                        default -> random.nextBoolean() ? 3e38f : -3e38f;
                    };
        }
        return x;
    }

    private static int bits(float f) {
        return Float.floatToRawIntBits(f);
    }
}
