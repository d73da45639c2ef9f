/*
 * Dynamic quantization of FP32 activations: the range scan and the per-tensor 8-bit
 * quantization. Every value here is exactly the one of the Java reference (ElementwiseKernels):
 * the range is taken on an integer key that orders floats as Java's Math.min and Math.max do
 * (-0 below +0), and quantization is rint(x / scale) + zero_point in FP32, saturated, NaN
 * written as the zero point. No multiply-add is contracted because none is written.
 *
 * AVX-512 has its own loops: the compiler's vectorisation of the generic bodies widened the
 * NaN count to 64-bit lanes and packed the codes through several shuffles, and tracked the
 * NaN/infinity flag per value although the keys' extremes tell it (qi8_range); on one Zen 4
 * core, 802,816 values (ResNet-50's largest activation), the range went from 70 to 50 us and
 * the quantization from 136 to 95 us (the old and new code linked into one driver).
 */
#include "qi8.h"

#include <immintrin.h>
#include <math.h>

#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define TGT_AVX2 __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

/*
 * The key flips the magnitude bits of negative floats, so that signed integer order is float
 * order. It is its own inverse.
 */
INLINE int32_t float_key(int32_t b) { return b ^ (int32_t) ((uint32_t) (b >> 31) >> 1); }

/* The smallest and largest key of n values. */
INLINE void range_body(const int32_t *bits, int64_t n, int32_t *lo, int32_t *hi) {
    int32_t mn = INT32_MAX;
    int32_t mx = INT32_MIN;
    for (int64_t i = 0; i < n; i++) {
        int32_t key = float_key(bits[i]);
        mn = key < mn ? key : mn;
        mx = key > mx ? key : mx;
    }
    *lo = mn;
    *hi = mx;
}

/* The key of 16 values: b ^ ((b >> 31) & 0x7FFFFFFF). */
static inline TGT_AVX512 __m512i keys16(__m512i b) {
    return _mm512_xor_si512(b, _mm512_and_si512(_mm512_srai_epi32(b, 31),
                                                 _mm512_set1_epi32(INT32_MAX)));
}

/* Four independent pairs of extremes, so that the min and max chains do not wait on each other. */
static TGT_AVX512 void range_avx512(const int32_t *bits, int64_t n, int32_t *lo, int32_t *hi) {
    __m512i mn[4];
    __m512i mx[4];
    for (int j = 0; j < 4; j++) {
        mn[j] = _mm512_set1_epi32(INT32_MAX);
        mx[j] = _mm512_set1_epi32(INT32_MIN);
    }
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        for (int j = 0; j < 4; j++) {
            __m512i key = keys16(_mm512_loadu_si512(bits + i + 16 * j));
            mn[j] = _mm512_min_epi32(mn[j], key);
            mx[j] = _mm512_max_epi32(mx[j], key);
        }
    }
    for (; i < n; i += 16) {
        __mmask16 m = qi8_lanes16(n - i);
        __m512i key = keys16(_mm512_maskz_loadu_epi32(m, bits + i));
        mn[0] = _mm512_mask_min_epi32(mn[0], m, mn[0], key);
        mx[0] = _mm512_mask_max_epi32(mx[0], m, mx[0], key);
    }
    *lo = _mm512_reduce_min_epi32(
            _mm512_min_epi32(_mm512_min_epi32(mn[0], mn[1]), _mm512_min_epi32(mn[2], mn[3])));
    *hi = _mm512_reduce_max_epi32(
            _mm512_max_epi32(_mm512_max_epi32(mx[0], mx[1]), _mm512_max_epi32(mx[2], mx[3])));
}

static TGT_AVX2 void range_avx2(const int32_t *bits, int64_t n, int32_t *lo, int32_t *hi) {
    range_body(bits, n, lo, hi);
}

static void range_portable(const int32_t *bits, int64_t n, int32_t *lo, int32_t *hi) {
    range_body(bits, n, lo, hi);
}

static float from_key(int32_t key) {
    int32_t b = float_key(key);
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* The keys of +infinity and -infinity: every NaN's key lies beyond them. */
#define KEY_POS_INF ((int32_t) 0x7F800000)
#define KEY_NEG_INF ((int32_t) 0x807FFFFF)

int32_t qi8_range(int32_t isa, const float *x, int64_t n, float *min_max) {
    int32_t lo;
    int32_t hi;
    const int32_t *bits = (const int32_t *) x;
    if (isa == QI8_AVX512_VNNI) {
        range_avx512(bits, n, &lo, &hi);
    } else if (isa == QI8_AVX2) {
        range_avx2(bits, n, &lo, &hi);
    } else {
        range_portable(bits, n, &lo, &hi);
    }
    min_max[0] = from_key(lo);
    min_max[1] = from_key(hi);
    /* A NaN or an infinity is an extreme key: no separate test per value is needed. */
    return hi >= KEY_POS_INF || lo <= KEY_NEG_INF;
}

/* Quantization body: the Java arithmetic, the NaN case selected before the conversion. */
INLINE int64_t quantize_body(const float *x, int64_t n, float scale, float zero, float lo,
                             float hi, uint8_t *y) {
    int64_t nans = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float q = rintf(v / scale) + zero;
        q = q < lo ? lo : q;
        q = q > hi ? hi : q;
        int32_t nan = v != v;
        nans += nan;
        q = nan ? zero : q;
        y[i] = (uint8_t) (int32_t) q;
    }
    return nans;
}

/*
 * 16 codes as INT32: the body's steps, in its order. max and min return their second operand
 * when the first is NaN; a NaN input's lane then takes the zero point, as in the body.
 */
static inline TGT_AVX512 __m512i quantize16(__m512 v, __m512 scale, __m512 zero, __m512 lo,
                                            __m512 hi, int64_t *nans) {
    __m512 q = _mm512_roundscale_ps(_mm512_div_ps(v, scale),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(q, zero), lo), hi);
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    *nans += __builtin_popcount(nan);
    return _mm512_cvttps_epi32(_mm512_mask_mov_ps(q, nan, zero));
}

/*
 * 64 values a step, the codes truncated to bytes (they are within [lo, hi], so that is exact
 * for signed and unsigned codes alike) by one 512-bit store; the tail 16 at a time, masked.
 */
static TGT_AVX512 int64_t quantize_avx512(const float *x, int64_t n, float scale, float zero,
                                          float lo, float hi, uint8_t *y) {
    const __m512 s = _mm512_set1_ps(scale);
    const __m512 z = _mm512_set1_ps(zero);
    const __m512 l = _mm512_set1_ps(lo);
    const __m512 h = _mm512_set1_ps(hi);
    int64_t nans = 0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m128i c0 = _mm512_cvtepi32_epi8(quantize16(_mm512_loadu_ps(x + i), s, z, l, h, &nans));
        __m128i c1 = _mm512_cvtepi32_epi8(
                quantize16(_mm512_loadu_ps(x + i + 16), s, z, l, h, &nans));
        __m128i c2 = _mm512_cvtepi32_epi8(
                quantize16(_mm512_loadu_ps(x + i + 32), s, z, l, h, &nans));
        __m128i c3 = _mm512_cvtepi32_epi8(
                quantize16(_mm512_loadu_ps(x + i + 48), s, z, l, h, &nans));
        __m512i all = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(c0), c1, 1)),
                _mm256_inserti128_si256(_mm256_castsi128_si256(c2), c3, 1), 1);
        _mm512_storeu_si512(y + i, all);
    }
    for (; i < n; i += 16) {
        __mmask16 m = qi8_lanes16(n - i);
        /* Masked-off lanes read as 0, which is not NaN and is not stored. */
        __m512i codes = quantize16(_mm512_maskz_loadu_ps(m, x + i), s, z, l, h, &nans);
        _mm512_mask_cvtepi32_storeu_epi8(y + i, m, codes);
    }
    return nans;
}

static TGT_AVX2 int64_t quantize_avx2(const float *x, int64_t n, float scale, float zero,
                                      float lo, float hi, uint8_t *y) {
    return quantize_body(x, n, scale, zero, lo, hi, y);
}

static int64_t quantize_portable(const float *x, int64_t n, float scale, float zero, float lo,
                                 float hi, uint8_t *y) {
    return quantize_body(x, n, scale, zero, lo, hi, y);
}

int64_t qi8_quantize(int32_t isa, const float *x, int64_t n, float scale, int32_t zero,
                     int32_t lo, int32_t hi, uint8_t *y) {
    float z = (float) zero;
    float l = (float) lo;
    float h = (float) hi;
    return isa == QI8_AVX512_VNNI ? quantize_avx512(x, n, scale, z, l, h, y)
            : isa == QI8_AVX2 ? quantize_avx2(x, n, scale, z, l, h, y)
            : quantize_portable(x, n, scale, z, l, h, y);
}
