package org.quantint8.kernels;

import org.testng.Assert;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

/**
 * The per-tensor fast path of quantize gives exactly the codes of the scalar arithmetic; the range
 * scan gives the bounds of a per-value scan and finds the first non-finite value.
 */
public class ElementwiseKernelsTest {

    @Test
    public void perTensorQuantizationMatchesQuantMathAcrossChunks() {
        Random random = new Random(17);
        int n = 10_007; // several chunks and a ragged end
        float scale = 0.037f;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (i % 11) {
                case 0 -> (random.nextInt(400) - 200 + 0.5f) * scale; // ties: half to even
                case 1 -> Float.POSITIVE_INFINITY;
                case 2 -> Float.NEGATIVE_INFINITY;
                case 3 -> Float.NaN;
                case 4 -> 1e30f;
                case 5 -> -0f;
                default -> (float) random.nextGaussian() * 3f;
            };
        }
        for (QuantizedStorage type : new QuantizedStorage[] {QuantizedStorage.UINT8,
            QuantizedStorage.INT8}) {
            int zero = type == QuantizedStorage.UINT8 ? 131 : -3;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment src = arena.allocate(4L * n);
                MemorySegment.copy(x, 0, src, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, n);
                MemorySegment dst = arena.allocate(n);
                long nans = ElementwiseKernels.quantize(src, dst, type,
                        ChannelLayout.perTensor(n), new float[] {scale}, new int[] {zero});
                long expectedNans = 0;
                for (int i = 0; i < n; i++) {
                    int expected = QuantMath.quantize(x[i], scale, zero, type.min(), type.max());
                    Assert.assertEquals(type.get(dst, i), expected, "value " + i + ": " + x[i]);
                    expectedNans += Float.isNaN(x[i]) ? 1 : 0;
                }
                Assert.assertEquals(nans, expectedNans);
            }
        }
    }

    @Test
    public void rangeMatchesAScalarScanAcrossChunks() {
        Random random = new Random(23);
        for (int n : new int[] {1, 7, 4096, 4097, 10_007}) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) random.nextGaussian() * 5f;
            }
            x[random.nextInt(n)] = -0f;
            float min = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            for (float v : x) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            FloatRange range = range(x);
            Assert.assertTrue(range.isFinite(), "n " + n);
            Assert.assertEquals(range.min(), min, "n " + n);
            Assert.assertEquals(range.max(), max, "n " + n);
        }
    }

    @Test
    public void rangeOfNoValuesIsZero() {
        Assert.assertEquals(range(new float[0]), new FloatRange(0f, 0f, -1, 0f));
    }

    @Test
    public void rangeOfEqualValuesIsThatValue() {
        float[] x = new float[5000];
        Arrays.fill(x, -2.5f);
        Assert.assertEquals(range(x), new FloatRange(-2.5f, -2.5f, -1, 0f));
    }

    @DataProvider
    public Object[][] nonFinite() {
        // The first non-finite value, in the first, a middle and the last chunk, and after others.
        return new Object[][] {
            {Float.NaN, 0}, {Float.POSITIVE_INFINITY, 4095}, {Float.NEGATIVE_INFINITY, 4096},
            {Float.NaN, 10_006}, {Float.POSITIVE_INFINITY, 5000},
        };
    }

    @Test(dataProvider = "nonFinite")
    public void rangeNamesTheFirstNonFiniteValue(float bad, int index) {
        float[] x = new float[10_007];
        Arrays.fill(x, 1f);
        x[index] = bad;
        if (index + 1 < x.length) {
            x[x.length - 1] = Float.NaN; // a later one must not be the one reported
        }
        FloatRange range = range(x);
        Assert.assertFalse(range.isFinite());
        Assert.assertEquals(range.nonFiniteIndex(), index);
        Assert.assertEquals(Float.floatToRawIntBits(range.nonFiniteValue()),
                Float.floatToRawIntBits(bad));
    }

    private static FloatRange range(float[] x) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(4L * x.length + 4);
            MemorySegment.copy(x, 0, src, ValueLayout.JAVA_FLOAT_UNALIGNED, 0, x.length);
            // A value past the count must not be read.
            src.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * x.length, Float.NaN);
            return ElementwiseKernels.range(src, x.length);
        }
    }
}
