/*
 * Dynamic quantization of FP32 activations: the range scan and the per-tensor 8-bit
 * quantization, each a flat loop that the compiler vectorizes. Every value here is exactly the
 * one of the Java reference (ElementwiseKernels): the range is taken on an integer key that
 * orders floats as Java's Math.min and Math.max do (-0 below +0), and quantization is
 * rint(x / scale) + zero_point in FP32, saturated, NaN written as the zero point. No
 * multiply-add is contracted because none is written.
 */
#include "qi8.h"

#include <math.h>

#define TGT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define TGT_AVX2 __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

/*
 * Range body. The key flips the magnitude bits of negative floats so that signed integer order
 * is float order; an exponent of all ones (NaN or infinity) sets `bad`.
 */
INLINE int32_t range_body(const int32_t *bits, int64_t n, int32_t *lo, int32_t *hi) {
    int32_t mn = INT32_MAX;
    int32_t mx = INT32_MIN;
    int32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t b = bits[i];
        int32_t key = b ^ (int32_t) ((uint32_t) (b >> 31) >> 1);
        mn = key < mn ? key : mn;
        mx = key > mx ? key : mx;
        bad |= (b & 0x7F800000) == 0x7F800000;
    }
    *lo = mn;
    *hi = mx;
    return bad;
}

static TGT_AVX512 int32_t range_avx512(const int32_t *bits, int64_t n, int32_t *lo, int32_t *hi) {
    return range_body(bits, n, lo, hi);
}

static TGT_AVX2 int32_t range_avx2(const int32_t *bits, int64_t n, int32_t *lo, int32_t *hi) {
    return range_body(bits, n, lo, hi);
}

static int32_t range_portable(const int32_t *bits, int64_t n, int32_t *lo, int32_t *hi) {
    return range_body(bits, n, lo, hi);
}

/* The key is its own inverse. */
static float from_key(int32_t key) {
    int32_t b = key ^ (int32_t) ((uint32_t) (key >> 31) >> 1);
    float f;
    memcpy(&f, &b, 4);
    return f;
}

int32_t qi8_range(int32_t isa, const float *x, int64_t n, float *min_max) {
    int32_t lo;
    int32_t hi;
    const int32_t *bits = (const int32_t *) x;
    int32_t bad = isa == QI8_AVX512_VNNI ? range_avx512(bits, n, &lo, &hi)
            : isa == QI8_AVX2 ? range_avx2(bits, n, &lo, &hi)
            : range_portable(bits, n, &lo, &hi);
    min_max[0] = from_key(lo);
    min_max[1] = from_key(hi);
    return bad;
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

static TGT_AVX512 int64_t quantize_avx512(const float *x, int64_t n, float scale, float zero,
                                          float lo, float hi, uint8_t *y) {
    return quantize_body(x, n, scale, zero, lo, hi, y);
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
