package org.quantint8.kernels;

import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.Random;

/** The FP32 transformer loops against references computed in double. */
public class FloatKernelsTest {

    /** erf by its Maclaurin series, exact in double to ~1e-13 for |x| <= 3. */
    private static double erfSeries(double x) {
        double term = x;
        double sum = x;
        for (int n = 1; n < 200; n++) {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }

    @Test
    public void erfIsWithinItsStatedError() {
        for (double x = -3; x <= 3; x += 1e-3) {
            Assert.assertEquals(FloatKernels.erf((float) x), erfSeries((float) x), 4.5e-7, "x=" + x);
        }
        for (double x = 3; x <= 50; x += 0.01) {
            // 1 - erfc(x), with erfc(x) < exp(-x^2) / (x sqrt(pi)), below 2.3e-5 here
            double below = 1 - Math.exp(-x * x) / (x * Math.sqrt(Math.PI));
            float erf = FloatKernels.erf((float) x);
            Assert.assertTrue(erf >= below - 4.5e-7 && erf <= 1f, "x=" + x + ": " + erf);
            Assert.assertEquals(FloatKernels.erf((float) -x), -erf);
        }
        Assert.assertTrue(Float.isNaN(FloatKernels.erf(Float.NaN)));
        Assert.assertEquals(FloatKernels.erf(Float.POSITIVE_INFINITY), 1f);
    }

    @Test
    public void tanhIsWithinItsStatedError() {
        for (double x = -20; x <= 20; x += 1e-3) {
            Assert.assertEquals(FloatKernels.tanh((float) x), Math.tanh((float) x), 4.7e-7,
                    "x=" + x);
        }
        Assert.assertEquals(FloatKernels.tanh(Float.NEGATIVE_INFINITY), -1f);
    }

    @Test
    public void geluFormsFollowTheirFormulas() {
        Random random = new Random(7);
        float[] x = new float[10_000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * 4);
        }
        float[] erf = x.clone();
        float[] tanh = x.clone();
        FloatKernels.geluErf(erf, x.length);
        FloatKernels.geluTanh(tanh, x.length);
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            // The series is exact where |x / sqrt 2| <= 3; erfIsWithinItsStatedError covers beyond.
            boolean inSeries = Math.abs(v) <= 3 * Math.sqrt(2);
            double exactErf = inSeries ? 0.5 * v * (1 + erfSeries(v / Math.sqrt(2))) : 0;
            double exactTanh = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI)
                    * (v + 0.044715 * v * v * v)));
            // The function's error, halved and scaled by |x|, plus a few roundings of the result.
            double bound = 2.5e-7 * Math.abs(v) + 2e-7 * Math.abs(exactErf) + 1e-9;
            if (inSeries) {
                Assert.assertEquals(erf[i], exactErf, bound, "x=" + v);
            }
            Assert.assertEquals(tanh[i], exactTanh, bound + 2e-7 * Math.abs(exactTanh), "x=" + v);
        }
    }

    @Test
    public void layerNormMatchesTheDefinition() {
        Random random = new Random(8);
        int rows = 3;
        int n = 768;
        float[] x = new float[rows * n + 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * 2 + 10);
        }
        float[] gamma = new float[n];
        float[] beta = new float[n];
        for (int i = 0; i < n; i++) {
            gamma[i] = (float) random.nextGaussian();
            beta[i] = (float) random.nextGaussian();
        }
        float[] y = new float[x.length];
        FloatKernels.layerNorm(x, y, 5, rows, gamma, beta, 1e-5f);
        for (int r = 0; r < rows; r++) {
            double mean = 0;
            for (int i = 0; i < n; i++) {
                mean += x[5 + r * n + i];
            }
            mean /= n;
            double variance = 0;
            for (int i = 0; i < n; i++) {
                double d = x[5 + r * n + i] - mean;
                variance += d * d;
            }
            double inv = 1 / Math.sqrt(variance / n + 1e-5);
            for (int i = 0; i < n; i++) {
                double exact = (x[5 + r * n + i] - mean) * inv * gamma[i] + beta[i];
                // Inputs near 10 carry FP32 rounding of 1e-6 into the centered value, / sd ~2.
                Assert.assertEquals(y[5 + r * n + i], exact, 2e-6 * (1 + Math.abs(exact)));
            }
        }
        Assert.assertEquals(y[0], 0f, "values before the offset are untouched");
    }

    @Test
    public void expIsWithinItsStatedError() {
        for (double x = 0; x > -87.3; x -= 1e-3) {
            double exact = Math.exp((float) x);
            double ulp = Math.ulp((float) exact);
            Assert.assertTrue(Math.abs(FloatKernels.exp((float) x) - exact) <= 1.5 * ulp,
                    "exp(" + x + ")");
        }
        Assert.assertTrue(FloatKernels.exp(-1000f) >= 0f && FloatKernels.exp(-1000f) < 2e-38f);
    }

    @Test
    public void softmaxMatchesTheDefinitionAndSurvivesFullyMaskedRows() {
        Random random = new Random(9);
        float[] x = new float[3 + 37];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian() * 5;
        }
        float[] row = x.clone();
        FloatKernels.softmax(row, 3, 37);
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 3; i < x.length; i++) {
            max = Math.max(max, x[i]);
        }
        double sum = 0;
        for (int i = 3; i < x.length; i++) {
            sum += Math.exp(x[i] - max);
        }
        for (int i = 0; i < x.length; i++) {
            double expected = i < 3 ? x[i] : Math.exp(x[i] - max) / sum;
            Assert.assertEquals(row[i], expected, 1e-6 * expected + 1e-12, "at " + i);
        }
        float[] masked = new float[8];
        java.util.Arrays.fill(masked, -Float.MAX_VALUE);
        FloatKernels.softmax(masked, 0, 8);
        for (float p : masked) {
            Assert.assertEquals(p, 0.125f, 1e-7f); // as ONNX Runtime: equal weights, not NaN
        }
    }
}
