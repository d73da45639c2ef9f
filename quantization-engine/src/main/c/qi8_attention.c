/*
 * Multi-head attention in FP32, the arithmetic of the Java loop (FloatKernels.attention) value
 * for value: scores as sums over the head size of q[d] K^T[d][t] (fused multiply-adds, d in
 * order), the scale, the mask, softmax with the maximum subtracted, Java's exp
 * (FloatKernels.exp) and the sum in double over 16 lanes, then the contexts as sums over t of
 * p[t] V[t][d], the same way. Both products are one operation, rows of weights times a matrix
 * (out[c] = sum over i of a[i] B[i][c]: B = K^T for the scores, V for the contexts). The plain
 * loop runs over whole rows, so that the compiler vectorizes it along c without reordering any
 * sum; the AVX-512 one keeps the sums of four query rows in registers, so that each vector of B
 * it loads serves four rows.
 */
#include "qi8.h"

#include <immintrin.h>

#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define TGT_AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

#define EXP_LOW (-87.33654f)
#define LOG2E 1.44269504f
#define LN2_HI 0.693145752f
#define LN2_LO 1.42860677e-6f
#define ROUNDER 12582912.0f /* 1.5 * 2^23 */
#define ROWS_AT_ONCE 4 /* query rows whose scores and contexts are computed together */

/* FloatKernels.exp: e^x for x <= 0, from x = n ln 2 + r; NaN stays NaN. */
INLINE float exp_j(float x) {
    float a = x != x ? x : (x > EXP_LOW ? x : EXP_LOW);
    float t = a * LOG2E + ROUNDER;
    float n = t - ROUNDER;
    float r = a - n * LN2_HI - n * LN2_LO;
    float p = 1.0f + r * (1.0f + r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120
            + r * (1.0f / 720 + r * (1.0f / 5040)))))));
    uint32_t tb;
    uint32_t rb;
    float rounder = ROUNDER;
    memcpy(&tb, &t, 4);
    memcpy(&rb, &rounder, 4);
    uint32_t bits = (tb - rb + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

/*
 * The maximum of a row as Java's Math.max reduces it: any NaN makes it NaN (the sign of a zero
 * maximum does not change any x - max's exponential, so it is not kept).
 */
INLINE float max_plain(const float *row, int64_t n) {
    float max = -INFINITY;
    int nan = 0;
    for (int64_t t = 0; t < n; t++) {
        nan |= row[t] != row[t];
        max = row[t] > max ? row[t] : max;
    }
    return nan ? NAN : max;
}

typedef float (*max_fn)(const float *, int64_t);

/* Scale, mask and softmax of one score row (FloatKernels.attention and softmax). */
INLINE void probabilities(const qi8_attention_args *at, float *row, int64_t b, int64_t h,
                          int64_t s, max_fn row_max) {
    const int64_t total = at->total;
    for (int64_t t = 0; t < total; t++) {
        row[t] = at->divide ? row[t] / at->scale : row[t] * at->scale;
    }
    if (at->mask_add != NULL || at->mask_allowed != NULL) {
        const int64_t *st = at->mask_strides;
        int64_t base = b * st[0] + h * st[1] + s * st[2];
        for (int64_t t = 0; t < total; t++) {
            int64_t i = base + t * st[3];
            row[t] = at->mask_add != NULL ? row[t] + at->mask_add[i]
                    : at->mask_allowed[i] != 0 ? row[t] : at->fill;
        }
    }
    const float max = row_max(row, total);
    for (int64_t t = 0; t < total; t++) {
        row[t] = exp_j(row[t] - max);
    }
    float inv = (float) (1.0 / qi8_lane_sum(row, total, 0.0f, 0));
    for (int64_t t = 0; t < total; t++) {
        row[t] *= inv;
    }
}

/*
 * out[c] = sum over i of a[i] b[i][c], i in order (vectorized along c where the target has FMA;
 * the portable build calls fmaf for each value: exact, and slow, on a machine without FMA).
 */
INLINE void row_times_plain(const float *a, const float *b, int64_t k, int64_t n, float *out) {
    for (int64_t c = 0; c < n; c++) {
        out[c] = 0.0f;
    }
    for (int64_t i = 0; i < k; i++) {
        const float ai = a[i];
        const float *bi = b + i * n;
        for (int64_t c = 0; c < n; c++) {
            out[c] = fmaf(ai, bi[c], out[c]);
        }
    }
}

/* Rows of weights a[r] times b (k x n) into out[r], one row after the other. */
INLINE void rows_times_plain(const float *const *a, int rows, const float *b, int64_t k,
                             int64_t n, float *const *out) {
    for (int r = 0; r < rows; r++) {
        row_times_plain(a[r], b, k, n, out[r]);
    }
}

/*
 * row_times_plain for R rows at once, in R x W accumulators of 16 columns (R and W are constants
 * where it is inlined). Masked loads past a row read nothing.
 */
INLINE TGT_AVX512 void rows_times_avx512_rw(const float *const *a, const int R, const int W,
                                            const float *b, int64_t k, int64_t n,
                                            float *const *out) {
    for (int64_t c0 = 0; c0 < n; c0 += 16 * W) {
        __m512 acc[ROWS_AT_ONCE][4];
        __mmask16 m[4];
        for (int j = 0; j < W; j++) {
            m[j] = qi8_lanes16(n - (c0 + 16 * j));
            for (int r = 0; r < R; r++) {
                acc[r][j] = _mm512_setzero_ps();
            }
        }
        for (int64_t i = 0; i < k; i++) {
            const float *bi = b + i * n + c0;
            __m512 ai[ROWS_AT_ONCE];
            for (int r = 0; r < R; r++) {
                ai[r] = _mm512_set1_ps(a[r][i]);
            }
            for (int j = 0; j < W; j++) {
                const __m512 x = _mm512_maskz_loadu_ps(m[j], bi + 16 * j);
                for (int r = 0; r < R; r++) {
                    acc[r][j] = _mm512_fmadd_ps(ai[r], x, acc[r][j]);
                }
            }
        }
        for (int r = 0; r < R; r++) {
            for (int j = 0; j < W; j++) {
                _mm512_mask_storeu_ps(out[r] + c0 + 16 * j, m[j], acc[r][j]);
            }
        }
    }
}

/* Four rows share each load (measured on Zen 4: 4 x 64 columns beat 2 x 128 and 3 x 128). */
static TGT_AVX512 void rows_times_avx512(const float *const *a, int rows, const float *b,
                                         int64_t k, int64_t n, float *const *out) {
    if (rows == ROWS_AT_ONCE) {
        rows_times_avx512_rw(a, ROWS_AT_ONCE, 4, b, k, n, out);
        return;
    }
    for (int r = 0; r < rows; r++) {
        rows_times_avx512_rw(a + r, 1, 4, b, k, n, out + r);
    }
}

/* max_plain in 16 lanes; a NaN is found by an unordered compare. */
static inline TGT_AVX512 float max_avx512(const float *row, int64_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    __mmask16 nan = 0;
    for (int64_t t = 0; t < n; t += 16) {
        __mmask16 lanes = qi8_lanes16(n - t);
        __m512 x = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lanes, row + t);
        nan |= _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
        m = _mm512_max_ps(m, x);
    }
    return nan ? NAN : _mm512_reduce_max_ps(m);
}

typedef void (*rows_times_fn)(const float *const *, int, const float *, int64_t, int64_t,
                              float *const *);

/*
 * The heads [first, last): K^T once per head, then block_rows query rows at a time (the
 * plain loop is faster one row at a time: measured 2.9 against 3.5 ms a BERT-base layer).
 */
INLINE void attention_body(const qi8_attention_args *at, float *kt, float *rows,
                           float *contexts, rows_times_fn times, max_fn row_max, const int block_rows) {
    const int64_t seq = at->seq, heads = at->heads, size = at->size, total = at->total;
    for (int64_t bh = at->first; bh < at->last; bh++) {
        const int64_t b = bh / heads, h = bh % heads;
        const int64_t block = bh * total * size;
        const float *keys = at->keys + block;
        const float *values = at->values + block;
        for (int64_t t = 0; t < total; t++) { /* K^T: a score row is a sum of its rows */
            for (int64_t d = 0; d < size; d++) {
                kt[d * total + t] = keys[t * size + d];
            }
        }
        for (int64_t s = 0; s < seq; s += block_rows) {
            const int n = seq - s < block_rows ? (int) (seq - s) : block_rows;
            const float *q[ROWS_AT_ONCE];
            float *p[ROWS_AT_ONCE];
            float *c[ROWS_AT_ONCE];
            for (int i = 0; i < n; i++) {
                q[i] = at->q + (b * seq + s + i) * at->q_stride + h * size;
                p[i] = rows + i * total;
                c[i] = contexts + i * size;
            }
            times(q, n, kt, size, total, p);
            for (int i = 0; i < n; i++) {
                probabilities(at, p[i], b, h, s + i, row_max);
            }
            times((const float *const *) p, n, values, total, size, c);
            for (int i = 0; i < n; i++) {
                memcpy(at->out + ((b * seq + s + i) * heads + h) * size, c[i],
                       (size_t) size * sizeof(float));
            }
        }
    }
}

static TGT_AVX512 void attention_avx512(const qi8_attention_args *at, float *kt, float *rows,
                                        float *contexts) {
    attention_body(at, kt, rows, contexts, rows_times_avx512, max_avx512, ROWS_AT_ONCE);
}

static TGT_AVX2 void rows_times_avx2(const float *const *a, int rows, const float *b, int64_t k,
                                     int64_t n, float *const *out) {
    rows_times_plain(a, rows, b, k, n, out);
}

static TGT_AVX2 float max_avx2(const float *row, int64_t n) { return max_plain(row, n); }

static TGT_AVX2 void attention_avx2(const qi8_attention_args *at, float *kt, float *rows,
                                    float *contexts) {
    attention_body(at, kt, rows, contexts, rows_times_avx2, max_avx2, 1);
}

static void rows_times_portable(const float *const *a, int rows, const float *b, int64_t k,
                                int64_t n, float *const *out) {
    rows_times_plain(a, rows, b, k, n, out);
}

static float max_portable(const float *row, int64_t n) { return max_plain(row, n); }

static void attention_portable(const qi8_attention_args *at, float *kt, float *rows,
                               float *contexts) {
    attention_body(at, kt, rows, contexts, rows_times_portable, max_portable, 1);
}

int32_t qi8_attention(int32_t isa, const qi8_attention_args *at) {
    size_t floats = (size_t) (at->size * at->total + ROWS_AT_ONCE * (at->total + at->size));
    float *scratch = malloc(floats * sizeof(float) + 1);
    if (scratch == NULL) {
        return -1;
    }
    float *kt = scratch;
    float *row = kt + at->size * at->total;
    float *context = row + ROWS_AT_ONCE * at->total;
    if (isa == QI8_AVX512_VNNI) {
        attention_avx512(at, kt, row, context);
    } else if (isa == QI8_AVX2) {
        attention_avx2(at, kt, row, context);
    } else {
        attention_portable(at, kt, row, context);
    }
    free(scratch);
    return 0;
}
