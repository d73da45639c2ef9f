package org.quantint8.kernels;

/**
 * The FP32 loops of a transformer layer that run between its INT8 projections: layer
 * normalization and the two GELU forms. They are bound by memory, not arithmetic, so plain Java
 * over heap arrays serves them: running them here instead of as a chain of PyTorch operators saves
 * a round trip (and an intermediate tensor) per step, which dominates GPT-2 decoding at one token.
 *
 * <p>The loops are written without branches or calls C2 cannot inline, so that it vectorizes
 * them (no JVM flag: the Vector API is an incubator module the engine must not require).
 */
public final class FloatKernels {

    /** Beyond |x| = 4, erf(x) is 1 to within 1.6e-8, below FP32's resolution at 1 (6e-8). */
    private static final float ERF_CLAMP = 4f;
    /**
     * erf(x) ~ x P(x^2) / Q(x^2) on [0, 4]: a rational least-squares fit computed for this
     * project (iterated linearized least squares on 20001 points, then rounded to FP32). Evaluated
     * in FP32 its largest absolute error against erf is 4.3e-7 (at x = 3.86, 7 units in the last
     * place of 1), so {@code 0.5 x (1 + erf)} stays within 2.2e-7 |x| of the exact GELU.
     */
    private static final float P0 = 1.1283787488937378f;
    private static final float P1 = 0.20852576196193695f;
    private static final float P2 = 0.051708072423934937f;
    private static final float P3 = 0.00406600022688508f;
    private static final float P4 = 0.0001504268730059266f;
    private static final float P5 = -1.9803846953436732e-06f;
    private static final float P6 = 1.9513210602895015e-08f;
    private static final float Q1 = 0.5181298851966858f;
    private static final float Q2 = 0.11855267733335495f;
    private static final float Q3 = 0.015086665749549866f;
    private static final float Q4 = 0.0010441236663609743f;

    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    private static final double TANH_CUBIC = 0.044715;

    private FloatKernels() {}

    /**
     * Normalizes rows: {@code y = (x - mean) / sqrt(var + epsilon) * gamma + beta} over each row
     * of {@code gamma.length} values. Mean and variance are accumulated in double (more exact
     * than the FP32 chain {@code ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div}; the results
     * differ from it by a few units in the last place).
     *
     * @param x the input rows, {@code rows * gamma.length} values from {@code offset}
     * @param y where the output goes, at the same positions; may be {@code x}
     * @param offset the first value of the first row
     * @param rows how many rows
     * @param gamma the scale, one per column
     * @param beta the shift, one per column, or null for none
     * @param epsilon added to the variance
     */
    public static void layerNorm(float[] x, float[] y, int offset, int rows, float[] gamma,
            float[] beta, float epsilon) {
        int n = gamma.length;
        for (int r = 0, start = offset; r < rows; r++, start += n) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += x[start + i];
            }
            float mean = (float) (sum / n);
            double squares = 0;
            for (int i = 0; i < n; i++) {
                float d = x[start + i] - mean;
                squares += d * d;
            }
            float inv = (float) (1 / Math.sqrt(squares / n + epsilon));
            for (int i = 0; i < n; i++) {
                float v = (x[start + i] - mean) * inv * gamma[i];
                y[start + i] = beta == null ? v : v + beta[i];
            }
        }
    }

    /**
     * The exact GELU, {@code 0.5 x (1 + erf(x / sqrt 2))}, in place (BERT's form).
     *
     * @param x the values
     * @param count how many, from index 0
     */
    public static void geluErf(float[] x, int count) {
        for (int i = 0; i < count; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1f + erf(v * INV_SQRT2));
        }
    }

    /**
     * GELU's tanh approximation, {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}, in
     * place (GPT-2's {@code gelu_new}), evaluated in double and rounded once.
     *
     * @param x the values
     * @param count how many, from index 0
     */
    public static void geluTanh(float[] x, int count) {
        for (int i = 0; i < count; i++) {
            double v = x[i];
            double inner = SQRT_2_OVER_PI * (v + TANH_CUBIC * v * v * v);
            x[i] = (float) (0.5 * v * (1 + Math.tanh(inner)));
        }
    }

    /**
     * The error function in FP32, from the rational fit above: branch-free (a clamp and a sign
     * copy) so that loops over it vectorize.
     *
     * @param x the argument
     * @return erf(x), within 4.3e-7
     */
    public static float erf(float x) {
        float a = Math.min(Math.abs(x), ERF_CLAMP);
        float t = a * a;
        float p = ((((((P6 * t + P5) * t + P4) * t + P3) * t + P2) * t + P1) * t + P0);
        float q = ((((Q4 * t + Q3) * t + Q2) * t + Q1) * t + 1f);
        return Math.copySign(Math.min(a * p / q, 1f), x);
    }
}
