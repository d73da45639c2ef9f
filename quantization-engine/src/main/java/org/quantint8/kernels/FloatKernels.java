package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The FP32 loops of a transformer layer that run between its INT8 projections: layer
 * normalization, the two GELU forms, and the attention's softmax and products. They are bound by
 * memory, not arithmetic, so plain Java over heap arrays serves them: running them here instead of
 * as a chain of PyTorch operators saves a round trip (and an intermediate tensor) per step, which
 * dominates GPT-2 decoding at one token.
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
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);
    private static final float TANH_CUBIC = 0.044715f;

    /** Beyond |x| = 9, tanh(x) is 1 to within 3e-8. */
    private static final float TANH_CLAMP = 9f;
    /**
     * tanh(x) ~ x R(x^2) / S(x^2) on [0, 9], fitted the same way as erf; largest absolute error
     * in FP32 4.6e-7 (at x = 8.5, near 1).
     */
    private static final float R0 = 0.9999999403953552f;
    private static final float R1 = 0.12969104945659637f;
    private static final float R2 = 0.002974386792629957f;
    private static final float R3 = 9.754347956913989e-06f;
    private static final float R4 = -1.4218017874156885e-08f;
    private static final float R5 = 2.1840577957288332e-11f;
    private static final float S1 = 0.4630241096019745f;
    private static final float S2 = 0.023982742801308632f;
    private static final float S3 = 0.0002355017204536125f;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Values per heap chunk of the Java layer normalization (whole rows, at least one). */
    private static final int CHUNK = 4096;

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
            float mean = (float) (sum(x, start, n, 0f, false) / n);
            float inv = (float) (1 / Math.sqrt(sum(x, start, n, mean, true) / n + epsilon));
            for (int i = 0; i < n; i++) {
                float v = (x[start + i] - mean) * inv * gamma[i];
                y[start + i] = beta == null ? v : v + beta[i];
            }
        }
    }

    /**
     * Returns the sum of a row in double, or of its squared deviations from {@code mean}, in 16
     * lanes (value i of the row into lane {@code i % 16}) reduced in a fixed order: the order of
     * the native loop ({@code qi8_norm.c}), which two 8-lane vectors run without reordering, so
     * that both give the same bits. (Four lanes ran faster here, 0.36 against 0.55 ns per value;
     * this loop is the reference and the path without native kernels.)
     */
    private static double sum(float[] x, int start, int n, float mean, boolean squares) {
        double[] lanes = new double[16];
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            for (int l = 0; l < 16; l++) {
                lanes[l] += term(x[start + i + l], mean, squares);
            }
        }
        for (; i < n; i++) {
            lanes[i % 16] += term(x[start + i], mean, squares);
        }
        double[] v = new double[8];
        for (int l = 0; l < 8; l++) {
            v[l] = lanes[l] + lanes[l + 8];
        }
        return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
    }

    private static double term(float x, float mean, boolean squares) {
        if (!squares) {
            return x;
        }
        float d = x - mean;
        return d * d;
    }

    /**
     * Layer normalization of whole rows in memory, after a residual addition: {@code y =
     * layerNorm(a + b)} over rows of {@code gamma.length} values, as {@link #layerNorm(float[],
     * float[], int, int, float[], float[], float)} computes it, the sum {@code a + b} (FP32) also
     * written to {@code sum} when asked. Runs on the selected kernels ({@link
     * Int8Kernels#layerNorm}), whose native loop gives the same bits as this class's.
     *
     * @param a the input rows, {@code rows * gamma.length} FP32 values in native byte order
     * @param b the values added to {@code a} first, as many, or null for none
     * @param sum where {@code a + b} goes, as many, or null (null when {@code b} is)
     * @param y the output, as many; it must not overlap the others
     * @param rows the number of rows
     * @param gamma the scale, one per column (at least one column)
     * @param beta the shift, one per column, or null
     * @param epsilon added to the variance
     * @throws IllegalArgumentException if a segment is too small or the arguments disagree
     */
    public static void addLayerNorm(MemorySegment a, MemorySegment b, MemorySegment sum,
            MemorySegment y, long rows, float[] gamma, float[] beta, float epsilon) {
        checkLayerNorm(a, b, sum, y, rows, gamma, beta);
        Int8Kernels.best().layerNorm(a, b, sum, y, rows, gamma, beta, epsilon);
    }

    /**
     * Checks the arguments of {@link #addLayerNorm}: every kernel checks them before it runs.
     *
     * @param a the input rows
     * @param b the values added first, or null
     * @param sum where the sum goes, or null
     * @param y the output
     * @param rows the number of rows
     * @param gamma the scale
     * @param beta the shift, or null
     * @throws IllegalArgumentException if a segment is too small or the arguments disagree
     */
    public static void checkLayerNorm(MemorySegment a, MemorySegment b, MemorySegment sum,
            MemorySegment y, long rows, float[] gamma, float[] beta) {
        long bytes = 4 * rows * gamma.length;
        if (gamma.length == 0 || beta != null && beta.length != gamma.length
                || sum != null && b == null) {
            throw new IllegalArgumentException("layerNorm: " + gamma.length + " scales, "
                    + (beta == null ? "no" : beta.length) + " shifts"
                    + (sum != null && b == null ? ", and a sum output without a second input"
                    : ""));
        }
        for (MemorySegment s : new MemorySegment[] {a, b, sum, y}) {
            if (s != null && s.byteSize() < bytes) {
                throw new IllegalArgumentException("layerNorm: " + rows + " rows of "
                        + gamma.length + " values need " + bytes + " bytes, a segment has "
                        + s.byteSize());
            }
        }
        if (rows < 0 || y == null) {
            throw new IllegalArgumentException("layerNorm: " + rows + " rows, output " + y);
        }
    }

    /**
     * The Java reference of {@link #addLayerNorm} (and the path without native kernels), over
     * heap chunks of whole rows.
     *
     * @param a the input rows
     * @param b the values added first, or null
     * @param sum where the sum goes, or null
     * @param y the output
     * @param rows the number of rows
     * @param gamma the scale
     * @param beta the shift, or null
     * @param epsilon added to the variance
     */
    static void addLayerNormInJava(MemorySegment a, MemorySegment b, MemorySegment sum,
            MemorySegment y, long rows, float[] gamma, float[] beta, float epsilon) {
        int n = gamma.length;
        float[] chunk = new float[Math.max(1, CHUNK / n) * n];
        float[] other = b == null ? null : new float[chunk.length];
        long count = rows * n;
        for (long offset = 0; offset < count; offset += chunk.length) {
            int len = (int) Math.min(chunk.length, count - offset);
            MemorySegment.copy(a, F32, offset * 4, chunk, 0, len);
            if (b != null) {
                MemorySegment.copy(b, F32, offset * 4, other, 0, len);
                for (int i = 0; i < len; i++) {
                    chunk[i] += other[i];
                }
                if (sum != null) {
                    MemorySegment.copy(chunk, 0, sum, F32, offset * 4, len);
                }
            }
            layerNorm(chunk, chunk, 0, len / n, gamma, beta, epsilon);
            MemorySegment.copy(chunk, 0, y, F32, offset * 4, len);
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
            x[i] = geluErf(x[i]);
        }
    }

    /**
     * The exact GELU of one value, {@code 0.5 x (1 + erf(x / sqrt 2))} with {@link #erf}; the
     * native epilogue's GELU gives the same bits.
     *
     * @param x the value
     * @return its GELU
     */
    public static float geluErf(float x) {
        return 0.5f * x * (1f + erf(x * INV_SQRT2));
    }

    /**
     * GELU's tanh approximation, {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}, in
     * place (GPT-2's {@code gelu_new}), with {@link #tanh}: within 2.3e-7 |x| of the formula.
     * ({@code Math.tanh} is exact but scalar: 6% of a GPT-2 decoding step.)
     *
     * @param x the values
     * @param count how many, from index 0
     */
    public static void geluTanh(float[] x, int count) {
        for (int i = 0; i < count; i++) {
            x[i] = geluTanh(x[i]);
        }
    }

    /**
     * GELU's tanh approximation of one value with {@link #tanh}; the native epilogue's gives the
     * same bits.
     *
     * @param x the value
     * @return its GELU
     */
    public static float geluTanh(float x) {
        return 0.5f * x * (1f + tanh(SQRT_2_OVER_PI * (x + TANH_CUBIC * x * x * x)));
    }

    /**
     * The error function in FP32, from the rational fit above (an odd function of the clamped
     * argument, so exactly odd). Only min, max and arithmetic: C2 vectorizes loops over it (with
     * abs and copySign it did not: 5.8 instead of 0.9 ns per GELU value).
     *
     * @param x the argument
     * @return erf(x), within 4.3e-7
     */
    public static float erf(float x) {
        float a = Math.min(Math.max(x, -ERF_CLAMP), ERF_CLAMP);
        float t = a * a;
        float p = ((((((P6 * t + P5) * t + P4) * t + P3) * t + P2) * t + P1) * t + P0);
        float q = ((((Q4 * t + Q3) * t + Q2) * t + Q1) * t + 1f);
        return Math.min(Math.max(a * p / q, -1f), 1f);
    }

    /**
     * The hyperbolic tangent in FP32, from the rational fit above, vectorizable like {@link #erf}.
     *
     * @param x the argument
     * @return tanh(x), within 4.6e-7
     */
    public static float tanh(float x) {
        float a = Math.min(Math.max(x, -TANH_CLAMP), TANH_CLAMP);
        float t = a * a;
        float p = (((((R5 * t + R4) * t + R3) * t + R2) * t + R1) * t + R0);
        float q = (((S3 * t + S2) * t + S1) * t + 1f);
        return Math.min(Math.max(a * p / q, -1f), 1f);
    }

    /** Below ln(FLT_MIN) exp underflows; clamping keeps the exponent trick in range. */
    private static final float EXP_LOW = -87.33654f;
    private static final float LOG2E = 1.44269504f;
    /** ln 2 in two parts (Cody and Waite): the high part times any n up to 2^8 is exact. */
    private static final float LN2_HI = 0.693145752f;
    private static final float LN2_LO = 1.42860677e-6f;
    /** 1.5 * 2^23: adding it rounds to an integer, which then sits in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;

    /**
     * Softmax of a row in place, with the maximum subtracted first (so exp never overflows and a
     * row of equal scores, even all masked to -FLT_MAX, gives equal probabilities), as ONNX
     * Runtime does; the exponentials ({@link #exp}) are summed in double.
     *
     * @param x the rows' values
     * @param offset the first value of the row
     * @param n the row's length
     */
    public static void softmax(float[] x, int offset, int n) {
        float max = max(x, offset, n);
        for (int i = 0; i < n; i++) {
            x[offset + i] = exp(x[offset + i] - max);
        }
        float inv = (float) (1 / sum(x, offset, n, 0f, false));
        for (int i = 0; i < n; i++) {
            x[offset + i] *= inv;
        }
    }

    /**
     * The maximum of n values in four interleaved partial maxima: C2 does not vectorize this
     * reduction, and a single chain waits for each comparison.
     */
    private static float max(float[] x, int offset, int n) {
        float m0 = Float.NEGATIVE_INFINITY;
        float m1 = m0;
        float m2 = m0;
        float m3 = m0;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            m0 = Math.max(m0, x[offset + i]);
            m1 = Math.max(m1, x[offset + i + 1]);
            m2 = Math.max(m2, x[offset + i + 2]);
            m3 = Math.max(m3, x[offset + i + 3]);
        }
        for (; i < n; i++) {
            m0 = Math.max(m0, x[offset + i]);
        }
        return Math.max(Math.max(m0, m1), Math.max(m2, m3));
    }

    /**
     * e^x in FP32 for x at most 0 (softmax's arguments; scalar: C2 does not vectorize the
     * reinterpretation of the exponent bits, so long rows go to the alternative engine): x = n ln 2
     * + r with |r| at most ln 2 / 2, e^r by its Taylor series to degree 7 (truncation below 5e-9
     * relative), 2^n built in the exponent bits: within 1.2 units in the last place of e^x on a
     * sweep of [-87.3, 0] in steps of 1e-4. Arguments below ln(FLT_MIN) give about 1e-38 instead
     * of a subnormal or 0 (the softmax weight of a masked score, against sums of at least 1).
     *
     * @param x the argument, at most 0
     * @return e^x
     */
    public static float exp(float x) {
        float a = Math.max(x, EXP_LOW);
        float t = a * LOG2E + ROUNDER;
        float n = t - ROUNDER;
        float r = a - n * LN2_HI - n * LN2_LO;
        float p = 1f + r * (1f + r * (1f / 2 + r * (1f / 6 + r * (1f / 24 + r * (1f / 120
                + r * (1f / 720 + r * (1f / 5040)))))));
        // t's low mantissa bits hold n (two's complement); n + 127 shifted is 2^n.
        int bits = (Float.floatToRawIntBits(t) - Float.floatToRawIntBits(ROUNDER) + 127) << 23;
        return p * Float.intBitsToFloat(bits);
    }

    /**
     * Multi-head attention in Java, the reference of {@link Int8Kernels#attention} (whose native
     * loop gives these bits): per head and query row, the scores as sums over d of {@code q[d]
     * k^T[d][t]} ({@link #axpy}, fused multiply-adds, d in order), scaled, masked, {@link
     * #softmax}, then the context as a sum over t of {@code p[t] v[t]}, the same way.
     *
     * @param in the operands, already checked
     */
    public static void attention(AttentionInputs in) {
        int total = Math.toIntExact(in.total());
        int size = Math.toIntExact(in.size());
        float[] query = new float[size];
        float[] keysT = new float[Math.multiplyExact(size, total)];
        float[] values = new float[keysT.length];
        float[] scores = new float[total];
        float[] context = new float[size];
        for (long b = 0; b < in.batch(); b++) {
            for (long h = 0; h < in.heads(); h++) {
                long block = (b * in.heads() + h) * total * size;
                MemorySegment.copy(in.values(), F32, block * 4, values, 0, values.length);
                for (int t = 0; t < total; t++) { // K^T, so that a score row is a sum of rows
                    for (int d = 0; d < size; d++) {
                        keysT[d * total + t] = in.keys().getAtIndex(F32, block + t * size + d);
                    }
                }
                for (long s = 0; s < in.seq(); s++) {
                    MemorySegment.copy(in.q(), F32, ((b * in.seq() + s) * in.qStride() + h * size)
                            * 4, query, 0, size);
                    java.util.Arrays.fill(scores, 0f);
                    for (int d = 0; d < size; d++) {
                        axpy(query[d], keysT, d * total, scores, 0, total);
                    }
                    probabilities(in, scores, b, h, s);
                    java.util.Arrays.fill(context, 0f);
                    for (int t = 0; t < total; t++) {
                        axpy(scores[t], values, t * size, context, 0, size);
                    }
                    MemorySegment.copy(context, 0, in.out(), F32,
                            ((b * in.seq() + s) * in.heads() + h) * size * 4, size);
                }
            }
        }
    }

    /** Scales, masks and normalizes the score row (b, h, s) of {@link #attention}. */
    private static void probabilities(AttentionInputs in, float[] row, long b, long h, long s) {
        int n = row.length;
        float scale = in.scale();
        for (int t = 0; t < n; t++) {
            row[t] = in.divide() ? row[t] / scale : row[t] * scale;
        }
        long[] st = in.maskStrides();
        if (st != null) {
            long base = b * st[0] + h * st[1] + s * st[2];
            float[] add = in.maskAdd();
            byte[] allowed = in.maskAllowed();
            for (int t = 0; t < n; t++) {
                int at = Math.toIntExact(base + t * st[3]);
                row[t] = add != null ? row[t] + add[at] : allowed[at] != 0 ? row[t] : in.fill();
            }
        }
        softmax(row, 0, n);
    }

    /**
     * {@code y[0, n) += a * x[xOffset, xOffset + n)} as fused multiply-adds (one rounding each):
     * the inner loop of the attention products (a score row from a transposed key block, a
     * context row from a value block).
     *
     * @param a the factor
     * @param x the added values
     * @param xOffset the first added value
     * @param y the accumulated values
     * @param yOffset the first accumulated value
     * @param n how many
     */
    public static void axpy(float a, float[] x, int xOffset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) {
            y[yOffset + i] = Math.fma(a, x[xOffset + i], y[yOffset + i]);
        }
    }
}
