/*
 * QuantInt8 native kernels: packing convolution patches with AVX-512 (see qi8_conv.c).
 */
#include "qi8.h"

#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/*
 * One k-group of 64 full columns from column p, i.e. 4 panels: the same two rounds of unpacks as
 * the SSE2 path, which in 512 bits leave panel L's four 16-byte quarters in lane L of o0..o3, so a
 * 4 x 4 transpose of 128-bit lanes (8 shuffles) makes the panels. The column sums come from one
 * vpdpbusd of ones per panel over the stored (signed) bytes: unsigned input is stored as b - 128,
 * so 4 * 128 is added back.
 */
TGT void qi8_interleave64_avx512(const uint8_t *const r[4], int32_t p, int32_t signed_in,
                                 uint8_t *dst, int64_t panel_bytes, uint32_t *colsum) {
    __m512i r0 = _mm512_loadu_si512(r[0] + p), r1 = _mm512_loadu_si512(r[1] + p);
    __m512i r2 = _mm512_loadu_si512(r[2] + p), r3 = _mm512_loadu_si512(r[3] + p);
    __m512i a = _mm512_unpacklo_epi8(r0, r1), b = _mm512_unpackhi_epi8(r0, r1);
    __m512i c = _mm512_unpacklo_epi8(r2, r3), d = _mm512_unpackhi_epi8(r2, r3);
    __m512i o0 = _mm512_unpacklo_epi16(a, c), o1 = _mm512_unpackhi_epi16(a, c);
    __m512i o2 = _mm512_unpacklo_epi16(b, d), o3 = _mm512_unpackhi_epi16(b, d);
    __m512i t0 = _mm512_shuffle_i64x2(o0, o1, _MM_SHUFFLE(1, 0, 1, 0));
    __m512i t1 = _mm512_shuffle_i64x2(o2, o3, _MM_SHUFFLE(1, 0, 1, 0));
    __m512i t2 = _mm512_shuffle_i64x2(o0, o1, _MM_SHUFFLE(3, 2, 3, 2));
    __m512i t3 = _mm512_shuffle_i64x2(o2, o3, _MM_SHUFFLE(3, 2, 3, 2));
    __m512i panel[4] = {_mm512_shuffle_i64x2(t0, t1, _MM_SHUFFLE(2, 0, 2, 0)),
                        _mm512_shuffle_i64x2(t0, t1, _MM_SHUFFLE(3, 1, 3, 1)),
                        _mm512_shuffle_i64x2(t2, t3, _MM_SHUFFLE(2, 0, 2, 0)),
                        _mm512_shuffle_i64x2(t2, t3, _MM_SHUFFLE(3, 1, 3, 1))};
    /* The kernels multiply signed B: unsigned input is stored flipped. */
    const __m512i flip = _mm512_set1_epi8(signed_in ? 0 : (char) 0x80);
    const __m512i ones = _mm512_set1_epi8(1);
    const __m512i back = _mm512_set1_epi32(signed_in ? 0 : 4 * 128);
    for (int i = 0; i < 4; i++) {
        __m512i stored = _mm512_xor_si512(panel[i], flip);
        _mm512_store_si512(dst + i * panel_bytes, stored);
        __m512i *at = (__m512i *) (colsum + 16 * i);
        __m512i sum = _mm512_dpbusd_epi32(_mm512_add_epi32(_mm512_loadu_si512(at), back), ones,
                                          stored);
        _mm512_storeu_si512(at, sum);
    }
}

/*
 * Copies count bytes src[0], src[stride], ... to dst for stride 1 or 2, with masked loads and
 * stores instead of a call per output row (ResNet's rows are 7 to 112 bytes). A masked-off byte
 * is neither read nor written, so nothing past the last tap is touched. Stride 2 keeps the even
 * bytes of 64 with one vpmovwb.
 */
TGT void qi8_copy_strided_avx512(const uint8_t *src, int32_t stride, uint8_t *dst,
                                 int32_t count) {
    if (stride == 1) {
        for (int32_t i = 0; i < count; i += 64) {
            int32_t left = count - i;
            __mmask64 m = left >= 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << left) - 1;
            _mm512_mask_storeu_epi8(dst + i, m, _mm512_maskz_loadu_epi8(m, src + i));
        }
        return;
    }
    for (int32_t i = 0; i < count; i += 32) {
        int32_t left = count - i;
        /* The last tap is src[2 * (count - 1)]: 2 * left - 1 bytes from src + 2 * i. */
        int32_t take = 2 * left - 1 >= 64 ? 64 : 2 * left - 1;
        __mmask64 lm = take == 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << take) - 1;
        __mmask32 sm = left >= 32 ? ~(__mmask32) 0 : ((__mmask32) 1 << left) - 1;
        __m256i even = _mm512_cvtepi16_epi8(_mm512_maskz_loadu_epi8(lm, src + 2 * i));
        _mm256_mask_storeu_epi8(dst + i, sm, even);
    }
}
