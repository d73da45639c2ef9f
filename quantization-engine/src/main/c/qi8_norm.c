/*
 * Layer normalization over rows, with the residual Add before it (a transformer layer's
 * AddLayerNormalization): the arithmetic of Java's FloatKernels.layerNorm, value for value. The
 * mean and the variance are sums in double over 16 lanes (value i of a row into lane i % 16,
 * lanes then reduced in a fixed order), which the compiler turns into two 8-lane vectors without
 * reordering anything; every FP32 step is written as Java writes it, and -ffp-contract=off keeps
 * multiplies and adds apart.
 */
#include "qi8.h"

#include <math.h>

#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define TGT_AVX2 __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

INLINE void norm_body(const float *a, const float *b, float *sum, float *y, int64_t rows,
                      int32_t n, const float *gamma, const float *beta, float epsilon) {
    for (int64_t r = 0; r < rows; r++) {
        const float *x = a + r * n;
        float *out = y + r * n;
        if (b != NULL) {
            const float *other = b + r * n;
            for (int32_t i = 0; i < n; i++) {
                out[i] = x[i] + other[i];
            }
            if (sum != NULL) {
                memcpy(sum + r * n, out, (size_t) n * sizeof(float));
            }
            x = out; /* normalized in place from here */
        }
        float mean = (float) (qi8_lane_sum(x, n, 0.0f, 0) / n);
        float inv = (float) (1.0 / sqrt(qi8_lane_sum(x, n, mean, 1) / n + (double) epsilon));
        for (int32_t i = 0; i < n; i++) {
            float v = (x[i] - mean) * inv * gamma[i];
            out[i] = beta != NULL ? v + beta[i] : v;
        }
    }
}

static TGT_AVX512 void norm_avx512(const float *a, const float *b, float *sum, float *y,
                                   int64_t rows, int32_t n, const float *gamma,
                                   const float *beta, float epsilon) {
    norm_body(a, b, sum, y, rows, n, gamma, beta, epsilon);
}

static TGT_AVX2 void norm_avx2(const float *a, const float *b, float *sum, float *y,
                               int64_t rows, int32_t n, const float *gamma, const float *beta,
                               float epsilon) {
    norm_body(a, b, sum, y, rows, n, gamma, beta, epsilon);
}

static void norm_portable(const float *a, const float *b, float *sum, float *y, int64_t rows,
                          int32_t n, const float *gamma, const float *beta, float epsilon) {
    norm_body(a, b, sum, y, rows, n, gamma, beta, epsilon);
}

void qi8_layer_norm(int32_t isa, const float *a, const float *b, float *sum, float *y,
                    int64_t rows, int32_t n, const float *gamma, const float *beta,
                    float epsilon) {
    if (isa == QI8_AVX512_VNNI) {
        norm_avx512(a, b, sum, y, rows, n, gamma, beta, epsilon);
    } else if (isa == QI8_AVX2) {
        norm_avx2(a, b, sum, y, rows, n, gamma, beta, epsilon);
    } else {
        norm_portable(a, b, sum, y, rows, n, gamma, beta, epsilon);
    }
}
