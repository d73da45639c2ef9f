/*
 * The AVX2 GEMM tile. vpmaddubsw would be the fast instruction, but it adds two u8 x s8
 * products into a saturating int16 (255 * 127 * 2 > 32767), so results would not be exact.
 * Instead both operands are widened to int16 and multiplied with vpmaddwd, whose pair sums
 * (at most 2 * 255 * 128) fit int32 exactly: half the throughput of vpmaddubsw, never wrong.
 *
 * A half panel (8 columns x 4 k = 32 bytes) widens to two vectors of 16 int16 (columns 0-3 and
 * 4-7, 4 k each); vpmaddwd with 4 broadcast A values gives, per column, two partial sums (k0+k1,
 * k2+k3) which stay apart in the accumulators until the end (one hadd per tile instead of one
 * per k-group). Register tile: 6 rows x 8 columns = 12 accumulators + 2 B + 1 A of 16 ymm.
 */
#include "qi8.h"

#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))
#define MR_MAX 6
#pragma GCC optimize("no-tree-pre") /* keeps the accumulators in registers, as in the AVX-512 file */

/* Reduces the two partial-sum vectors of 8 columns to one vector in column order. */
static inline TGT __m256i reduce(__m256i lo, __m256i hi) {
    /* hadd gives [c0 c1 c4 c5 | c2 c3 c6 c7] (it works per 128-bit lane); 0xD8 reorders the
       64-bit quarters 0, 2, 1, 3. */
    return _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), 0xD8);
}

static inline __attribute__((always_inline)) TGT void micro(
        const qi8_tile *t, int32_t m, int32_t col, const int MR) {
    const qi8_packed *b = t->b;
    const int32_t k = b->k;
    const int64_t groups = ((int64_t) k + 3) / 4;
    const int64_t full = k / 4;
    const uint32_t flip = (uint32_t) t->flip;
    /* 32-byte half panel: columns col..col+7 sit in panel col/16, half (col/8) % 2. */
    const int8_t *bp = b->panels + (col / QI8_PANEL) * b->panel_bytes + (col % QI8_PANEL) * 4;
    const uint8_t *ar[MR_MAX];
    __m256i lo[MR_MAX], hi[MR_MAX];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        ar[i] = t->a + (int64_t) (m + i) * k;
        lo[i] = _mm256_setzero_si256();
        hi[i] = _mm256_setzero_si256();
    }
    for (int64_t g = 0; g < groups; g++) {
        __m128i raw = _mm_loadu_si128((const __m128i *) (bp + g * 64));
        __m128i raw_hi = _mm_loadu_si128((const __m128i *) (bp + g * 64 + 16));
        __m256i b_lo = _mm256_cvtepi8_epi16(raw);
        __m256i b_hi = _mm256_cvtepi8_epi16(raw_hi);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            uint32_t w;
            if (g < full) {
                memcpy(&w, ar[i] + 4 * g, 4);
                w ^= flip;
            } else {
                w = qi8_load_group(ar[i], g, k, flip);
            }
            /* 4 bytes -> 4 int16 -> broadcast to every 64-bit quarter. */
            __m256i av = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128((int) w)));
            lo[i] = _mm256_add_epi32(lo[i], _mm256_madd_epi16(av, b_lo));
            hi[i] = _mm256_add_epi32(hi[i], _mm256_madd_epi16(av, b_hi));
        }
    }
    __m256i zb = _mm256_loadu_si256((const __m256i *) (b->zb + col));
    __m256i cc = _mm256_loadu_si256((const __m256i *) (b->colcomp + col));
    int32_t left = t->n1 - col;
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        __m256i rs = _mm256_set1_epi32(t->rowsum[m + i - t->m0]);
        __m256i za = _mm256_set1_epi32(t->za[m + i - t->m0]);
        __m256i v = _mm256_sub_epi32(reduce(lo[i], hi[i]), _mm256_mullo_epi32(zb, rs));
        v = _mm256_sub_epi32(v, _mm256_mullo_epi32(za, cc));
        _mm256_maskstore_epi32(t->c + (int64_t) (m + i) * t->ldc + col, mask, v);
    }
}

static TGT void micro_any(const qi8_tile *t, int32_t m, int32_t col, int mr) {
    switch (mr) {
        case 1: micro(t, m, col, 1); break;
        case 2: micro(t, m, col, 2); break;
        case 3: micro(t, m, col, 3); break;
        case 4: micro(t, m, col, 4); break;
        case 5: micro(t, m, col, 5); break;
        default: micro(t, m, col, 6); break;
    }
}

TGT void qi8_tile_avx2(const qi8_tile *t) {
    for (int32_t col = t->n0; col < t->n1; col += 8) {
        for (int32_t m = t->m0; m < t->m1; m += MR_MAX) {
            int mr = t->m1 - m >= MR_MAX ? MR_MAX : t->m1 - m;
            micro_any(t, m, col, mr);
        }
    }
}
