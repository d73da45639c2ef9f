/*
 * The AVX-512 VNNI GEMM tile. The register tile is MR x NV vectors: MR rows of A times NV panels
 * (16 columns each) of packed B, MR * NV accumulators of 16 INT32. Per k-group of 4 it loads NV
 * vectors of B, broadcasts 4 bytes of each A row and issues MR * NV vpdpbusd, so 10 loads feed 24
 * multiply-adds at 6 x 4 (29 of the 32 zmm registers: 24 accumulators, 4 B, 1 broadcast A). With
 * 24 independent accumulator chains the vpdpbusd latency is hidden. Measured on Zen 4 (one core,
 * M = 128, K = 768 and 3072, N = 768 to 30522; and ResNet-50's convolution shapes), 6 x 4 beat
 * the 8 x 3 before it by 0-8% in every shape (BERT-base's vocabulary projection 188 -> 199
 * GMAC/s, a 7x7 stage's 512 x 49 x 4608 147 -> 157); 4 x 6, 5 x 5 and 5 x 4 measured level with
 * 6 x 4, 12 x 2 behind 8 x 3. The peak, a vpdpbusd per cycle, is 235 GMAC/s at this core's 3.66 GHz.
 *
 * Unsigned A (the activations of a linear layer) is broadcast straight from memory, a load that
 * takes no vector slot; signed A (a convolution's weights) needs its sign flip, a scalar xor
 * and a broadcast from a general register. Measured on Zen 4 at M = 128, K = 768 and 3072: the
 * memory broadcast gives 1-4% more multiply-adds per second (at 8 x 3, 208 against 201 GMAC/s).
 *
 * Loop order: column blocks outside, row blocks inside, so a block of NV panels of B
 * (NV * 16 * K bytes, 48 KB at K = 768) stays in L2 while the rows of A stream past it.
 * A tile of fewer than FEW_ROWS rows takes one panel at a time (see qi8_tile_avx512).
 */
#include "qi8.h"

#include <immintrin.h>

/*
 * gcc 12's partial redundancy elimination keeps copies of the accumulators on the stack and
 * reloads them in the k loop (20 stack accesses per iteration at 8 x 3); without it all 24 stay
 * in registers. Checked with objdump on gcc 12.2.
 */
#pragma GCC optimize("no-tree-pre")

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define MR_MAX 6
#define NV_MAX 4
#define FEW_ROWS 8 /* below it, one panel at a time (qi8_tile_avx512) */

/*
 * The FP32 epilogue of 16 accumulators of row m from column col (see qi8_epilogue): separate
 * multiplies and adds, which -ffp-contract=off keeps unfused, so each step rounds as Java's does.
 * Per column, the factors are masked loads: the columns past the tile are not read.
 */
static inline TGT __m512 channel_values(const float *v, int32_t m, int32_t col, __mmask16 mask,
                                        int32_t per_column) {
    return per_column ? _mm512_maskz_loadu_ps(mask, v + col) : _mm512_set1_ps(v[m]);
}

/*
 * qi8_rational of 16 values. max and min return their second operand when one is NaN, so x's
 * NaN stays NaN, as with Java's Math.max and Math.min.
 */
static inline TGT __m512 rational(__m512 x, float clamp, const float *p, int np, const float *q,
                                  int nq) {
    __m512 a = _mm512_min_ps(_mm512_set1_ps(clamp), _mm512_max_ps(_mm512_set1_ps(-clamp), x));
    __m512 t = _mm512_mul_ps(a, a);
    __m512 num = _mm512_set1_ps(p[np - 1]);
    for (int i = np - 2; i >= 0; i--) {
        num = _mm512_add_ps(_mm512_mul_ps(num, t), _mm512_set1_ps(p[i]));
    }
    __m512 den = _mm512_set1_ps(q[nq - 1]);
    for (int i = nq - 2; i >= 0; i--) {
        den = _mm512_add_ps(_mm512_mul_ps(den, t), _mm512_set1_ps(q[i]));
    }
    __m512 r = _mm512_div_ps(_mm512_mul_ps(a, num), den);
    return _mm512_min_ps(_mm512_set1_ps(1.0f), _mm512_max_ps(_mm512_set1_ps(-1.0f), r));
}

/* qi8_activate of 16 values, in the same FP32 order. */
static inline TGT __m512 activate(int32_t activation, __m512 y) {
    static const float ep[] = QI8_ERF_P, eq[] = QI8_ERF_Q, tp[] = QI8_TANH_P, tq[] = QI8_TANH_Q;
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
    switch (activation) {
        case QI8_ACT_RELU: {
            __m512 zero = _mm512_setzero_ps();
            /* Ordered less-than: NaN is not below 0 and stays NaN, as in Java. */
            return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(y, zero, _CMP_LT_OQ), zero);
        }
        case QI8_ACT_GELU_ERF: {
            __m512 r = rational(_mm512_mul_ps(y, _mm512_set1_ps(QI8_INV_SQRT2)), QI8_ERF_CLAMP,
                                ep, 7, eq, 5);
            return _mm512_mul_ps(_mm512_mul_ps(half, y), _mm512_add_ps(one, r));
        }
        case QI8_ACT_GELU_TANH: {
            __m512 cube = _mm512_mul_ps(
                    _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(QI8_TANH_CUBIC), y), y), y);
            __m512 arg = _mm512_mul_ps(_mm512_set1_ps(QI8_SQRT_2_OVER_PI), _mm512_add_ps(y, cube));
            __m512 r = rational(arg, QI8_TANH_CLAMP, tp, 6, tq, 4);
            return _mm512_mul_ps(_mm512_mul_ps(half, y), _mm512_add_ps(one, r));
        }
        default: return y;
    }
}

/*
 * Epilogue kinds: the steps of qi8_epilogue that a tile takes, as bits, so that the full tile
 * can be compiled for a kind with its tests decided and its unused steps gone. KIND_RUNTIME reads
 * them from the epilogue instead, and KIND_INT32 stores the accumulators.
 */
#define KIND_PER_COLUMN 1
#define KIND_POST 2
#define KIND_RESIDUAL 4
#define KIND_RELU 8
#define KIND_INT32 16
#define KIND_COLUMN_TERM 32
#define KIND_RUNTIME (-1)

static inline __attribute__((always_inline)) TGT __m512 epilogue(
        const qi8_epilogue *e, int32_t m, int32_t col, __mmask16 mask, __m512i acc,
        const int KIND) {
    const int32_t pc = KIND == KIND_RUNTIME ? e->per_column : (KIND & KIND_PER_COLUMN) != 0;
    const int post = KIND == KIND_RUNTIME ? e->post_scale != NULL : (KIND & KIND_POST) != 0;
    const int residual = KIND == KIND_RUNTIME ? e->residual != NULL
            : (KIND & KIND_RESIDUAL) != 0;
    const int32_t activation = KIND == KIND_RUNTIME ? e->activation
            : (KIND & KIND_RELU) != 0 ? QI8_ACT_RELU : QI8_ACT_NONE;
    /* A kind is only chosen with in_scale 1, which x * 1 = x lets it skip. */
    __m512 scale = KIND != KIND_RUNTIME ? channel_values(e->scale, m, col, mask, pc)
            : _mm512_mul_ps(_mm512_set1_ps(e->in_scale),
                            channel_values(e->scale, m, col, mask, pc));
    __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
    y = _mm512_add_ps(y, channel_values(e->offset, m, col, mask, pc));
    if (post) {
        y = _mm512_mul_ps(y, channel_values(e->post_scale, m, col, mask, pc));
        y = _mm512_add_ps(y, channel_values(e->post_shift, m, col, mask, pc));
    }
    if (residual) {
        /* Masked: the columns past the tile are not read (they may be past the array). */
        y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(mask, e->residual + m * e->ldr + col));
    }
    return activate(activation, y);
}

/*
 * The kind a full tile is compiled for, or KIND_RUNTIME: the FP32 epilogues of a convolution
 * (a batch normalization, with or without Relu and a residual; per column by positions, per row
 * by channels), which by positions are as long as their multiply-adds when K is 64 to 256 (the
 * kinds micro_full lists are compiled, the others run as KIND_RUNTIME). On one Zen 4 core, a 1x1
 * convolution of 64 to 256 channels over 56 x 56 (K = 64) with a residual went from 0.46 to
 * 0.43 ms, and to 0.39 with the column term and the scales taken beforehand (0.39 -> 0.32 ms
 * without a residual).
 */
static int tile_kind(const qi8_tile *t) {
    const qi8_epilogue *e = t->ep;
    if (e == NULL) {
        return KIND_INT32;
    }
    if (e->post_scale == NULL || e->in_scale != 1.0f
        || (e->activation != QI8_ACT_NONE && e->activation != QI8_ACT_RELU)) {
        return KIND_RUNTIME;
    }
    return (e->per_column ? KIND_PER_COLUMN : 0) | KIND_POST
            | (e->residual != NULL ? KIND_RESIDUAL : 0)
            | (e->activation == QI8_ACT_RELU ? KIND_RELU : 0)
            | (t->colterm != NULL ? KIND_COLUMN_TERM : 0);
}

/*
 * The micro-kernel. MR, NV and FLIP (whether A is signed) are constants at every call site
 * (always_inline), so the loops below unroll completely and acc stays in registers.
 */
static inline __attribute__((always_inline)) TGT void micro(
        const qi8_tile *t, int32_t m, int32_t col, const int MR, const int NV, const int FLIP,
        const int KIND) {
    const qi8_packed *b = t->b;
    const int32_t k = b->k;
    const int64_t full = k / 4;
    const uint32_t flip = FLIP ? (uint32_t) t->flip : 0;
    const int8_t *bp = b->panels + (col / QI8_PANEL) * b->panel_bytes;
    const uint8_t *ar[MR_MAX];
    __m512i acc[MR_MAX][NV_MAX];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        ar[i] = t->a + (int64_t) (m + i) * k;
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) {
            acc[i][j] = _mm512_setzero_si512();
        }
    }
    for (int64_t g = 0; g < full; g++) {
        __m512i bv[NV_MAX];
#pragma GCC unroll 4
        for (int j = 0; j < NV; j++) {
            bv[j] = _mm512_loadu_si512(bp + j * b->panel_bytes + g * 64);
        }
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            int32_t w;
            memcpy(&w, ar[i] + 4 * g, 4);
            /* Without the flip, gcc folds the load into the broadcast (vpbroadcastd from memory). */
            __m512i av = _mm512_set1_epi32(FLIP ? (int32_t) ((uint32_t) w ^ flip) : w);
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) {
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, bv[j]);
            }
        }
    }
    if (k % 4 != 0) { /* the last, partial group: A is read byte by byte, B is zero-padded */
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            __m512i av = _mm512_set1_epi32((int32_t) qi8_load_group(ar[i], full, k, flip));
#pragma GCC unroll 4
            for (int j = 0; j < NV; j++) {
                __m512i bv = _mm512_loadu_si512(bp + j * b->panel_bytes + full * 64);
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, bv);
            }
        }
    }
    /*
     * Epilogue: C = acc - zB' * rowsum' - zA' * colcomp, wrapping like Java's int. What it
     * reads of the tile and the epilogue is copied to locals first: a store to C may alias any
     * memory, so read through t it would be loaded again, and its tests taken again, after
     * every store.
     */
    const qi8_epilogue ep = t->ep == NULL ? (qi8_epilogue) {0} : *t->ep;
    const int fp32 = KIND == KIND_RUNTIME ? t->ep != NULL : KIND != KIND_INT32;
    const int32_t *rowsum = t->rowsum + (m - t->m0);
    const int32_t *za_rows = t->za + (m - t->m0);
    const int32_t *zbs = b->zb;
    const int32_t *colcomp = b->colcomp;
    int32_t *c = t->c;
    const int64_t ldc = t->ldc;
    const int32_t n1 = t->n1;
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
        int32_t c0 = col + 16 * j;
        __m512i zb = _mm512_loadu_si512(zbs + c0);
        __m512i cc = _mm512_loadu_si512(colcomp + c0);
        __mmask16 mask = qi8_lanes16(n1 - c0); /* the columns inside the tile */
        const int by_term = KIND != KIND_RUNTIME && (KIND & KIND_COLUMN_TERM) != 0;
        __m512i term = by_term ? _mm512_loadu_si512(t->colterm + (c0 - t->n0))
                : _mm512_setzero_si512();
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            __m512i v;
            if (by_term) {
                v = _mm512_sub_epi32(acc[i][j], term);
            } else {
                __m512i rs = _mm512_set1_epi32(rowsum[i]);
                __m512i za = _mm512_set1_epi32(za_rows[i]);
                v = _mm512_sub_epi32(acc[i][j], _mm512_mullo_epi32(zb, rs));
                v = _mm512_sub_epi32(v, _mm512_mullo_epi32(za, cc));
            }
            int32_t *dst = c + (int64_t) (m + i) * ldc + c0;
            if (!fp32) {
                _mm512_mask_storeu_epi32(dst, mask, v);
            } else {
                _mm512_mask_storeu_ps((float *) dst, mask, epilogue(&ep, m + i, c0, mask, v,
                                                                    KIND));
            }
        }
    }
}

/* The micro-kernel for R rows, V panels and an epilogue kind, for A's sign. */
#define CALL_MICRO(R, V, KIND)                  \
    if (t->flip != 0) {                         \
        micro(t, m, col, R, V, 1, KIND);        \
    } else {                                    \
        micro(t, m, col, R, V, 0, KIND);        \
    }
#define MICRO_CASE(R, V)                        \
    case (R) * 8 + (V):                         \
        CALL_MICRO(R, V, KIND_RUNTIME)          \
        break;
#define MICRO_ROW(R) MICRO_CASE(R, 1) MICRO_CASE(R, 2) MICRO_CASE(R, 3) MICRO_CASE(R, 4)

/* Calls the micro-kernel specialised for mr rows, nv panels and A's sign. */
static TGT void micro_any(const qi8_tile *t, int32_t m, int32_t col, int mr, int nv) {
    switch (mr * 8 + nv) {
        MICRO_ROW(1) MICRO_ROW(2) MICRO_ROW(3) MICRO_ROW(4) MICRO_ROW(5) MICRO_ROW(6)
        default: break;
    }
}

#define FULL_CASE(KIND)                         \
    case (KIND):                                \
        CALL_MICRO(MR_MAX, NV_MAX, KIND)        \
        break;

/* Calls the micro-kernel of a full tile, compiled for its epilogue kind when there is one. */
static TGT void micro_full(const qi8_tile *t, int32_t m, int32_t col, int kind) {
    switch (kind) {
        FULL_CASE(KIND_INT32)
        FULL_CASE(KIND_PER_COLUMN | KIND_POST)
        FULL_CASE(KIND_PER_COLUMN | KIND_POST | KIND_RELU)
        FULL_CASE(KIND_PER_COLUMN | KIND_POST | KIND_RESIDUAL)
        FULL_CASE(KIND_PER_COLUMN | KIND_POST | KIND_RESIDUAL | KIND_RELU)
        FULL_CASE(KIND_POST | KIND_RELU)
        FULL_CASE(KIND_COLUMN_TERM | KIND_POST | KIND_RELU)
        FULL_CASE(KIND_COLUMN_TERM | KIND_PER_COLUMN | KIND_POST)
        FULL_CASE(KIND_COLUMN_TERM | KIND_PER_COLUMN | KIND_POST | KIND_RELU)
        FULL_CASE(KIND_COLUMN_TERM | KIND_PER_COLUMN | KIND_POST | KIND_RESIDUAL)
        FULL_CASE(KIND_COLUMN_TERM | KIND_PER_COLUMN | KIND_POST | KIND_RESIDUAL | KIND_RELU)
        default: micro_any(t, m, col, MR_MAX, NV_MAX); break;
    }
}

TGT void qi8_tile_avx512(const qi8_tile *t) {
    /*
     * A tile of few rows reads each panel of B about once, from memory (a decoding step,
     * M = 1): then one panel at a time, so that B streams in memory order. Panels side by side
     * are interleaved streams, which one Zen 4 core reads at 21-23 GB/s against 32 GB/s for one
     * stream; at 8 x 3, M = 1 at N = 50257, K = 768 went from 25 to 34 GB/s, and every M below 8
     * gained, M = 8 being level.
     */
    const int nv_max = t->m1 - t->m0 < FEW_ROWS ? 1 : NV_MAX;
    const int kind = tile_kind(t);
    for (int32_t col = t->n0; col < t->n1; col += nv_max * QI8_PANEL) {
        int32_t left = t->n1 - col;
        int nv = left >= nv_max * QI8_PANEL ? nv_max : (left + QI8_PANEL - 1) / QI8_PANEL;
        for (int32_t m = t->m0; m < t->m1; m += MR_MAX) {
            int mr = t->m1 - m >= MR_MAX ? MR_MAX : t->m1 - m;
            if (mr == MR_MAX && nv == NV_MAX) {
                micro_full(t, m, col, kind);
            } else {
                micro_any(t, m, col, mr, nv);
            }
        }
    }
}

/*
 * rowsum'[i] = sum_k (A[m0 + i][k] ^ flip) for the rows m0..m1 of A, 64 bytes per vpsadbw: the
 * compiler's vectorisation of the byte loop widens bytes to ints, several times slower, and this
 * pass reads all the weights of a convolution on every call.
 */
TGT void qi8_rowsums_avx512(const uint8_t *a, int32_t k, int32_t m0, int32_t m1, uint32_t flip,
                            int32_t *rowsum) {
    const __m512i fv = _mm512_set1_epi32((int32_t) flip);
    const __m512i zero = _mm512_setzero_si512();
    for (int32_t m = m0; m < m1; m++) {
        const uint8_t *row = a + (int64_t) m * k;
        __m512i acc = _mm512_setzero_si512();
        for (int32_t q = 0; q < k; q += 64) {
            int32_t left = k - q;
            __mmask64 mask = left >= 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << left) - 1;
            /* Flipped, then masked: bytes past K count as 0, not as the flip. */
            __m512i v = _mm512_maskz_mov_epi8(
                    mask, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, row + q), fv));
            acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, zero));
        }
        /* Wraps like Java's int (it cannot, short of K near 2^23). */
        rowsum[m - m0] = (int32_t) (uint32_t) _mm512_reduce_add_epi64(acc);
    }
}
