package org.quantint8.calibration;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import ai.djl.ndarray.types.Shape;

import org.quantint8.ndarray.QuantizationParameters;
import org.testng.annotations.Test;

import java.util.Random;

/** SmoothQuant preserves the FP32 function and lowers INT8 error on outlier channels. */
public class SmoothQuantTest {

    private static final int ROWS = 64;
    private static final int IN = 32;
    private static final int OUT = 16;

    /** y = x W^T with x [rows, in] and W [out, in]. */
    private static float[] linear(float[] x, float[] w) {
        float[] y = new float[ROWS * OUT];
        for (int r = 0; r < ROWS; r++) {
            for (int o = 0; o < OUT; o++) {
                double sum = 0;
                for (int i = 0; i < IN; i++) {
                    sum += (double) x[r * IN + i] * w[o * IN + i];
                }
                y[r * OUT + o] = (float) sum;
            }
        }
        return y;
    }

    /** Activations whose channels 3 and 17 are 50 times larger, as after a LayerNorm in LLMs. */
    private static float[] activationsWithOutlierChannels(Random random) {
        float[] x = SyntheticData.gaussian(random, ROWS * IN, 1);
        for (int r = 0; r < ROWS; r++) {
            x[r * IN + 3] *= 50;
            x[r * IN + 17] *= 50;
        }
        return x;
    }

    private static float[] absMaxPerChannel(float[] x) {
        PerChannelObserver observer =
                new PerChannelObserver("x", QuantizationScheme.SYMMETRIC_INT8, 1, ObserverFactory.minMax());
        observer.observe(x, new Shape(ROWS, IN));
        return observer.absMax();
    }

    /** Output SQNR with UINT8 per-tensor activations and INT8 per-channel weights (min-max). */
    private static double int8OutputSqnr(float[] x, float[] w, float[] reference) {
        Observer activation = ObserverFactory.minMax().create("x", QuantizationScheme.ASYMMETRIC_UINT8);
        activation.observe(x);
        PerChannelObserver weight =
                new PerChannelObserver("w", QuantizationScheme.SYMMETRIC_INT8, 0, ObserverFactory.minMax());
        weight.observe(w, new Shape(OUT, IN));
        QuantizationParameters weightParams = weight.computeParameters();
        float[] xq = QuantizationError.fakeQuantize(x, activation.computeParameters());
        float[] wq = QuantizationError.fakeQuantize(w, new Shape(OUT, IN), weightParams);
        return QuantizationError.sqnrDb(reference, linear(xq, wq));
    }

    @Test
    public void smoothingPreservesTheFunction() {
        Random random = new Random(13);
        float[] x = activationsWithOutlierChannels(random);
        float[] w = SyntheticData.gaussian(random, OUT * IN, 0.1);
        SmoothedLinear smoothed = new SmoothQuant(0.5).apply("fc", absMaxPerChannel(x), w, OUT, IN);
        float[] expected = linear(x, w);
        float[] actual = linear(smoothed.divideByFactors(x), smoothed.getScaledWeight());
        double norm = 0;
        for (float v : expected) {
            norm = Math.max(norm, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertEquals(actual[i], expected[i], 1e-5 * norm, "output " + i);
        }
    }

    @Test
    public void smoothingLowersInt8ErrorOnOutlierChannels() {
        Random random = new Random(17);
        float[] x = activationsWithOutlierChannels(random);
        float[] w = SyntheticData.gaussian(random, OUT * IN, 0.1);
        float[] reference = linear(x, w);
        SmoothedLinear smoothed = new SmoothQuant(0.5).apply("fc", absMaxPerChannel(x), w, OUT, IN);
        double plain = int8OutputSqnr(x, w, reference);
        double smooth = int8OutputSqnr(smoothed.divideByFactors(x), smoothed.getScaledWeight(), reference);
        System.out.printf("SmoothQuant: INT8 output SQNR %.1f dB plain, %.1f dB smoothed%n", plain, smooth);
        assertTrue(smooth > plain + 6, "smoothed " + smooth + " dB vs plain " + plain + " dB");
    }

    @Test
    public void factorsFollowTheFormulaAndFoldIntoNormalization() {
        float[] activationMax = {4f, 0f, 9f};
        float[] w = {1f, 5f, -0.25f, -2f, 1f, 0.5f}; // [2, 3]; column maxima 2, 5, 0.5
        SmoothedLinear smoothed = new SmoothQuant(0.5).apply("fc", activationMax, w, 2, 3);
        float[] factors = smoothed.getFactors();
        assertEquals(factors[0], (float) (Math.sqrt(4) / Math.sqrt(2)), 1e-6);
        assertEquals(factors[1], 1f, "a zero activation channel is left alone");
        assertEquals(factors[2], (float) (Math.sqrt(9) / Math.sqrt(0.5)), 1e-6);
        float[] gamma = smoothed.divideByFactors(new float[] {1f, 1f, 1f});
        for (int j = 0; j < 3; j++) {
            assertEquals(gamma[j] * factors[j], 1f, 1e-6);
        }
        float[] alphaZero = new SmoothQuant(0).apply("fc", activationMax, w, 2, 3).getFactors();
        assertEquals(alphaZero[0], 0.5f, 1e-6, "alpha 0 moves everything into the activations");
    }
}
