/*
 * Max pooling of FP32 planes (NCHW), Java's PoolKernels.maxPoolInJava value for value: per output
 * row, the maximum over the window's rows at every input column, then over each window's
 * columns a stride apart. The maximum is Java's Math.max (NaN wins, +0 over -0), so any order of
 * the taps gives the same bits; padding taps are skipped.
 */
#include "qi8.h"

#include <math.h>

#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define TGT_AVX2 __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

/* Math.max(a, b), written with selects so that the compiler vectorizes it. */
INLINE float java_max(float a, float b) {
    float m = a >= b ? a : b; /* b when b is NaN */
    m = (a == 0.0f && b == 0.0f) ? (signbit(a) ? b : a) : m;
    return a != a ? a : m;
}

INLINE void pool_body(const float *in, float *out, int64_t planes, const int32_t *g,
                      float *column) {
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
            for (int32_t c = 0; c < w; c++) {
                column[c] = -INFINITY;
            }
            for (int32_t r = y0; r < y1; r++) {
                const float *row = x + (int64_t) r * w;
                for (int32_t c = 0; c < w; c++) {
                    column[c] = java_max(column[c], row[c]);
                }
            }
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
                for (int32_t c = begin; c < end; c++) {
                    o[c] = java_max(o[c], column[offset + c * sw]);
                }
            }
        }
    }
}

static TGT_AVX512 void pool_avx512(const float *in, float *out, int64_t planes,
                                   const int32_t *g, float *column) {
    pool_body(in, out, planes, g, column);
}

static TGT_AVX2 void pool_avx2(const float *in, float *out, int64_t planes, const int32_t *g,
                               float *column) {
    pool_body(in, out, planes, g, column);
}

static void pool_portable(const float *in, float *out, int64_t planes, const int32_t *g,
                          float *column) {
    pool_body(in, out, planes, g, column);
}

void qi8_max_pool(int32_t isa, const float *in, float *out, int64_t planes, const int32_t *g,
                  float *column) {
    if (isa == QI8_AVX512_VNNI) {
        pool_avx512(in, out, planes, g, column);
    } else if (isa == QI8_AVX2) {
        pool_avx2(in, out, planes, g, column);
    } else {
        pool_portable(in, out, planes, g, column);
    }
}
