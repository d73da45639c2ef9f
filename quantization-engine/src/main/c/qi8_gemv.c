/*
 * Weight-only INT8 GEMV for batch-1 decoding: y[n] = scale[n] * sum_k x[k] * (W[n][k] - zw[n]).
 * It is bound by memory (one byte of W per multiply-add), so the kernels read W once, row-major
 * as stored, and do the dequantization in registers: widen 8-bit -> int32, subtract the zero
 * point (exact in int32), convert to float (exact, |w - z| <= 255), fused multiply-add with x.
 * Four rows share each load of x. The order of the float additions differs from the Java
 * reference (16 or 8 partial sums, then a tree), hence the tolerance in the Java tests.
 */
#include "qi8.h"

#include <immintrin.h>

#define TGT512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define TGT2 __attribute__((target("avx2,fma")))

void qi8_gemv_portable(const float *x, int32_t k, const uint8_t *w, int32_t signed_w,
                       const int32_t *zw, const float *scale, int32_t n0, int32_t n1, float *y) {
    for (int32_t n = n0; n < n1; n++) {
        const uint8_t *row = w + (int64_t) n * k;
        float sum = 0;
        for (int32_t q = 0; q < k; q++) {
            int32_t v = signed_w ? (int8_t) row[q] : row[q];
            sum += x[q] * (float) (v - zw[n]);
        }
        y[n] = sum * scale[n];
    }
}

/* 16 weights -> 16 floats with the zero point removed; `mask` selects the bytes to read. */
static inline TGT512 __m512 dequant16(const uint8_t *p, __mmask16 mask, int sgn, __m512i z) {
    __m128i raw = _mm_maskz_loadu_epi8(mask, p);
    __m512i wide = sgn ? _mm512_cvtepi8_epi32(raw) : _mm512_cvtepu8_epi32(raw);
    return _mm512_cvtepi32_ps(_mm512_sub_epi32(wide, z));
}

TGT512 void qi8_gemv_avx512(const float *x, int32_t k, const uint8_t *w, int32_t signed_w,
                            const int32_t *zw, const float *scale, int32_t n0, int32_t n1,
                            float *y) {
    int32_t n = n0;
    for (; n + 4 <= n1; n += 4) {
        const uint8_t *r = w + (int64_t) n * k;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        __m512i z0 = _mm512_set1_epi32(zw[n]), z1 = _mm512_set1_epi32(zw[n + 1]);
        __m512i z2 = _mm512_set1_epi32(zw[n + 2]), z3 = _mm512_set1_epi32(zw[n + 3]);
        for (int32_t q = 0; q < k; q += 16) {
            /* The masked tail reads no byte past K, so W may end exactly at the segment end. */
            __mmask16 m = qi8_lanes16(k - q);
            __m512 xv = _mm512_maskz_loadu_ps(m, x + q);
            s0 = _mm512_fmadd_ps(xv, dequant16(r + q, m, signed_w, z0), s0);
            s1 = _mm512_fmadd_ps(xv, dequant16(r + k + q, m, signed_w, z1), s1);
            s2 = _mm512_fmadd_ps(xv, dequant16(r + 2 * (int64_t) k + q, m, signed_w, z2), s2);
            s3 = _mm512_fmadd_ps(xv, dequant16(r + 3 * (int64_t) k + q, m, signed_w, z3), s3);
        }
        y[n] = _mm512_reduce_add_ps(s0) * scale[n];
        y[n + 1] = _mm512_reduce_add_ps(s1) * scale[n + 1];
        y[n + 2] = _mm512_reduce_add_ps(s2) * scale[n + 2];
        y[n + 3] = _mm512_reduce_add_ps(s3) * scale[n + 3];
    }
    for (; n < n1; n++) {
        const uint8_t *r = w + (int64_t) n * k;
        __m512 s = _mm512_setzero_ps();
        __m512i z = _mm512_set1_epi32(zw[n]);
        for (int32_t q = 0; q < k; q += 16) {
            __mmask16 m = qi8_lanes16(k - q);
            s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + q), dequant16(r + q, m, signed_w, z), s);
        }
        y[n] = _mm512_reduce_add_ps(s) * scale[n];
    }
}

static inline TGT2 float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TGT2 void qi8_gemv_avx2(const float *x, int32_t k, const uint8_t *w, int32_t signed_w,
                        const int32_t *zw, const float *scale, int32_t n0, int32_t n1, float *y) {
    int32_t full = k / 8 * 8;
    for (int32_t n = n0; n < n1; n++) {
        const uint8_t *r = w + (int64_t) n * k;
        __m256 s = _mm256_setzero_ps();
        __m256i z = _mm256_set1_epi32(zw[n]);
        for (int32_t q = 0; q < full; q += 8) {
            __m128i raw = _mm_loadl_epi64((const __m128i *) (r + q));
            __m256i wide = signed_w ? _mm256_cvtepi8_epi32(raw) : _mm256_cvtepu8_epi32(raw);
            __m256 wf = _mm256_cvtepi32_ps(_mm256_sub_epi32(wide, z));
            s = _mm256_fmadd_ps(_mm256_loadu_ps(x + q), wf, s);
        }
        float sum = hsum256(s);
        for (int32_t q = full; q < k; q++) { /* the tail, scalar: AVX2 has no byte masks */
            int32_t v = signed_w ? (int8_t) r[q] : r[q];
            sum += x[q] * (float) (v - zw[n]);
        }
        y[n] = sum * scale[n];
    }
}
