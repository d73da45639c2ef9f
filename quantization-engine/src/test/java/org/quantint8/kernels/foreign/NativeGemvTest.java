package org.quantint8.kernels.foreign;

import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.JavaInt8Kernels;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * The weight-only GEMV against an exact (double) reference, for the native paths and the Java
 * kernels alike.
 *
 * <p>Tolerance: a float sum of K products, in any order and with or without fused multiply-adds,
 * is within {@code gamma_K * sum |terms|} of the exact sum, {@code gamma_K = K u / (1 - K u)},
 * {@code u = 2^-24} (Higham, Accuracy and Stability of Numerical Algorithms, 3.1); the terms
 * {@code x * (w - z)} are exact in float (a 9-bit integer times a float) and the final scale
 * multiply adds one more {@code u}. So each implementation must be within {@code (K + 1) u / (1 -
 * (K + 1) u) * scale * sum |x (w - z)|} of the exact value, and native and Java within twice that
 * of each other. The test asserts the first bound for both, the strongest statement.
 */
public class NativeGemvTest {

    @Test(dataProvider = "isas", dataProviderClass = NativeGemmPropertyTest.class)
    public void randomShapesWithinTheRoundingBound(Isa isa) {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(isa);
        Random random = new Random(99 + isa.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int trial = 0; trial < 600; trial++) {
                int n = NativeGemmPropertyTest.size(random, 70);
                int k = NativeGemmPropertyTest.size(random, 400);
                if (trial == 0) {
                    n = 3000; // large enough to be split over threads
                    k = 333;
                }
                Int8Matrix w = RandomInt8.matrix(arena, random, n, k, random.nextBoolean());
                float[] x = new float[k];
                for (int i = 0; i < k; i++) {
                    x[i] = (float) random.nextGaussian() * (random.nextInt(10) == 0 ? 1e3f : 1f);
                }
                float[] scales = new float[random.nextBoolean() ? 1 : n];
                for (int j = 0; j < scales.length; j++) {
                    scales[j] = 1e-3f + random.nextFloat() * 0.05f;
                }
                MemorySegment xs = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
                MemorySegment yNative = arena.allocate(4L * n, 4);
                MemorySegment yJava = arena.allocate(4L * n, 4);
                kernels.gemvF32(xs, w, scales, yNative);
                JavaInt8Kernels.INSTANCE.gemvF32(xs, w, scales, yJava);
                check(w, x, scales, yNative, kernels.name() + " trial " + trial);
                check(w, x, scales, yJava, "java trial " + trial);
            }
        }
    }

    private static void check(Int8Matrix w, float[] x, float[] scales, MemorySegment y,
            String what) {
        int k = w.cols();
        double u = Math.scalb(1.0, -24);
        double gamma = (k + 1) * u / (1 - (k + 1) * u);
        for (int n = 0; n < w.rows(); n++) {
            double exact = 0;
            double magnitude = 0;
            for (int i = 0; i < k; i++) {
                int raw = w.data().get(ValueLayout.JAVA_BYTE, (long) n * k + i);
                int v = (w.signed() ? raw : raw & 0xFF) - w.zeroPoint(n);
                exact += (double) x[i] * v;
                magnitude += Math.abs((double) x[i] * v);
            }
            double scale = scales[scales.length == 1 ? 0 : n];
            double actual = y.get(ValueLayout.JAVA_FLOAT, 4L * n);
            double bound = gamma * scale * magnitude + Double.MIN_NORMAL;
            Assert.assertTrue(Math.abs(actual - exact * scale) <= bound, what + " y[" + n
                    + "] = " + actual + ", exact " + exact * scale + ", bound " + bound);
        }
    }
}
