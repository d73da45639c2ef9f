package org.quantint8.kernels;

import org.testng.Assert;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/** The per-tensor fast path of quantize gives exactly the codes of the scalar arithmetic. */
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
}
