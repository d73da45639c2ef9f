/*
 * Multi-head attention in FP32, the arithmetic of the Java operator's per-head loop
 * (AttentionOperator.Head) value for value: scores as sums over the head size of q[d] K^T[d][t]
 * (separate multiplies and adds, d in order), the scale, the mask, softmax with the maximum
 * subtracted, Java's exp (FloatKernels.exp) and the sum in double over 16 lanes, then the context
 * as sums over t of p[t] V[t][d]. The plain loops run over whole rows, so that the compiler
 * vectorizes them along t or d without reordering any sum; the AVX-512 path keeps the sums in
 * registers (the plain loop stores them back on every step and waits for each store).
 */
#include "qi8.h"

#include <immintrin.h>

#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define TGT_AVX2 __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

#define EXP_LOW (-87.33654f)
#define LOG2E 1.44269504f
#define LN2_HI 0.693145752f
#define LN2_LO 1.42860677e-6f
#define ROUNDER 12582912.0f /* 1.5 * 2^23 */

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

/* row[t] = sum over d of q[d] kt[d][t], d in order (the plain loop: any target vectorizes it). */
INLINE void scores_plain(const float *q, const float *kt, int64_t size, int64_t total,
                         float *row) {
    for (int64_t t = 0; t < total; t++) {
        row[t] = 0.0f;
    }
    for (int64_t d = 0; d < size; d++) {
        const float qd = q[d];
        const float *k = kt + d * total;
        for (int64_t t = 0; t < total; t++) {
            row[t] = row[t] + qd * k[t];
        }
    }
}

/* context[d] = sum over t of p[t] v[t][d], t in order. */
INLINE void context_plain(const float *p, const float *v, int64_t size, int64_t total,
                          float *context) {
    for (int64_t d = 0; d < size; d++) {
        context[d] = 0.0f;
    }
    for (int64_t t = 0; t < total; t++) {
        const float pt = p[t];
        const float *vt = v + t * size;
        for (int64_t d = 0; d < size; d++) {
            context[d] = context[d] + pt * vt[d];
        }
    }
}

/* The columns [from, from + 16) of a row of n that exist. */
static inline TGT_AVX512 __mmask16 lanes16(int64_t from, int64_t n) {
    int64_t left = n - from;
    return left >= 16 ? (__mmask16) 0xFFFF : left > 0 ? (__mmask16) ((1u << left) - 1) : 0;
}

/*
 * scores_plain with 128 scores at a time in 8 registers: the plain loop keeps them in memory
 * and waits for each store to come back. Masked loads past the row read nothing.
 */
static inline TGT_AVX512 void scores_avx512(const float *q, const float *kt, int64_t size,
                                            int64_t total, float *row) {
    for (int64_t t0 = 0; t0 < total; t0 += 128) {
        __m512 acc[8];
        __mmask16 m[8];
        for (int j = 0; j < 8; j++) {
            acc[j] = _mm512_setzero_ps();
            m[j] = lanes16(t0 + 16 * j, total);
        }
        for (int64_t d = 0; d < size; d++) {
            const __m512 qd = _mm512_set1_ps(q[d]);
            const float *k = kt + d * total + t0;
            for (int j = 0; j < 8; j++) {
                acc[j] = _mm512_add_ps(acc[j],
                                       _mm512_mul_ps(qd, _mm512_maskz_loadu_ps(m[j], k + 16 * j)));
            }
        }
        for (int j = 0; j < 8; j++) {
            _mm512_mask_storeu_ps(row + t0 + 16 * j, m[j], acc[j]);
        }
    }
}

/* context_plain with 64 outputs at a time in 4 registers. */
static inline TGT_AVX512 void context_avx512(const float *p, const float *v, int64_t size,
                                             int64_t total, float *context) {
    for (int64_t d0 = 0; d0 < size; d0 += 64) {
        __m512 acc[4];
        __mmask16 m[4];
        for (int j = 0; j < 4; j++) {
            acc[j] = _mm512_setzero_ps();
            m[j] = lanes16(d0 + 16 * j, size);
        }
        for (int64_t t = 0; t < total; t++) {
            const __m512 pt = _mm512_set1_ps(p[t]);
            const float *vt = v + t * size + d0;
            for (int j = 0; j < 4; j++) {
                acc[j] = _mm512_add_ps(acc[j],
                                       _mm512_mul_ps(pt, _mm512_maskz_loadu_ps(m[j], vt + 16 * j)));
            }
        }
        for (int j = 0; j < 4; j++) {
            _mm512_mask_storeu_ps(context + d0 + 16 * j, m[j], acc[j]);
        }
    }
}

/* max_plain in 16 lanes; a NaN is found by an unordered compare. */
static inline TGT_AVX512 float max_avx512(const float *row, int64_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    __mmask16 nan = 0;
    for (int64_t t = 0; t < n; t += 16) {
        __mmask16 lanes = lanes16(t, n);
        __m512 x = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lanes, row + t);
        nan |= _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
        m = _mm512_max_ps(m, x);
    }
    return nan ? NAN : _mm512_reduce_max_ps(m);
}

/*
 * context_avx512 for two query rows at once: 8 independent sums instead of 4 hide the adds'
 * latency, and each value row is loaded once for both.
 */
static inline TGT_AVX512 void context2_avx512(const float *p0, const float *p1, const float *v,
                                              int64_t size, int64_t total, float *c0,
                                              float *c1) {
    for (int64_t d0 = 0; d0 < size; d0 += 64) {
        __m512 a0[4];
        __m512 a1[4];
        __mmask16 m[4];
        for (int j = 0; j < 4; j++) {
            a0[j] = _mm512_setzero_ps();
            a1[j] = _mm512_setzero_ps();
            m[j] = lanes16(d0 + 16 * j, size);
        }
        for (int64_t t = 0; t < total; t++) {
            const __m512 q0 = _mm512_set1_ps(p0[t]);
            const __m512 q1 = _mm512_set1_ps(p1[t]);
            const float *vt = v + t * size + d0;
            for (int j = 0; j < 4; j++) {
                __m512 x = _mm512_maskz_loadu_ps(m[j], vt + 16 * j);
                a0[j] = _mm512_add_ps(a0[j], _mm512_mul_ps(q0, x));
                a1[j] = _mm512_add_ps(a1[j], _mm512_mul_ps(q1, x));
            }
        }
        for (int j = 0; j < 4; j++) {
            _mm512_mask_storeu_ps(c0 + d0 + 16 * j, m[j], a0[j]);
            _mm512_mask_storeu_ps(c1 + d0 + 16 * j, m[j], a1[j]);
        }
    }
}

typedef void (*scores_fn)(const float *, const float *, int64_t, int64_t, float *);
typedef void (*context_fn)(const float *, const float *, int64_t, int64_t, float *);
typedef void (*context2_fn)(const float *, const float *, const float *, int64_t, int64_t,
                            float *, float *);

/* The kernels of one target. */
typedef struct {
    scores_fn scores;
    max_fn max;
    context_fn context;
    context2_fn context2; /* NULL: context twice */
} row_kernels;

INLINE void attention_body(const qi8_attention_args *at, float *kt, float *rows,
                           float *contexts, const row_kernels k) {
    const int64_t seq = at->seq, heads = at->heads, size = at->size, total = at->total;
    for (int64_t bh = at->first; bh < at->last; bh++) {
        {
            const int64_t b = bh / heads, h = bh % heads;
            const int64_t block = bh * total * size;
            const float *keys = at->keys + block;
            const float *values = at->values + block;
            for (int64_t t = 0; t < total; t++) { /* K^T: a score row is a sum of rows */
                for (int64_t d = 0; d < size; d++) {
                    kt[d * total + t] = keys[t * size + d];
                }
            }
            /* Two query rows at a time (the second of the last pair may not exist). */
            for (int64_t s = 0; s < seq; s += 2) {
                const int pair = s + 1 < seq;
                for (int i = 0; i <= pair; i++) {
                    k.scores(at->q + (b * seq + s + i) * at->q_stride + h * size, kt, size,
                             total, rows + i * total);
                    probabilities(at, rows + i * total, b, h, s + i, k.max);
                }
                if (pair && k.context2 != NULL) {
                    k.context2(rows, rows + total, values, size, total, contexts,
                               contexts + size);
                } else {
                    for (int i = 0; i <= pair; i++) {
                        k.context(rows + i * total, values, size, total, contexts + i * size);
                    }
                }
                for (int i = 0; i <= pair; i++) {
                    memcpy(at->out + ((b * seq + s + i) * heads + h) * size, contexts + i * size,
                           (size_t) size * sizeof(float));
                }
            }
        }
    }
}

static TGT_AVX512 void attention_avx512(const qi8_attention_args *at, float *kt, float *row,
                                        float *context) {
    const row_kernels k = {scores_avx512, max_avx512, context_avx512, context2_avx512};
    attention_body(at, kt, row, context, k);
}

static TGT_AVX2 void scores_avx2(const float *q, const float *kt, int64_t size, int64_t total,
                                 float *row) {
    scores_plain(q, kt, size, total, row);
}

static TGT_AVX2 float max_avx2(const float *row, int64_t n) { return max_plain(row, n); }

static TGT_AVX2 void context_avx2(const float *p, const float *v, int64_t size, int64_t total,
                                  float *context) {
    context_plain(p, v, size, total, context);
}

static TGT_AVX2 void attention_avx2(const qi8_attention_args *at, float *kt, float *row,
                                    float *context) {
    const row_kernels k = {scores_avx2, max_avx2, context_avx2, NULL};
    attention_body(at, kt, row, context, k);
}

static void scores_portable(const float *q, const float *kt, int64_t size, int64_t total,
                            float *row) {
    scores_plain(q, kt, size, total, row);
}

static float max_portable(const float *row, int64_t n) { return max_plain(row, n); }

static void context_portable(const float *p, const float *v, int64_t size, int64_t total,
                             float *context) {
    context_plain(p, v, size, total, context);
}

static void attention_portable(const qi8_attention_args *at, float *kt, float *row,
                               float *context) {
    const row_kernels k = {scores_portable, max_portable, context_portable, NULL};
    attention_body(at, kt, row, context, k);
}

int32_t qi8_attention(int32_t isa, const qi8_attention_args *at) {
    size_t floats = (size_t) (at->size * at->total + 2 * at->total + 2 * at->size);
    float *scratch = malloc(floats * sizeof(float) + 1);
    if (scratch == NULL) {
        return -1;
    }
    float *kt = scratch;
    float *row = kt + at->size * at->total;
    float *context = row + 2 * at->total;
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
