/*
 * QuantInt8 native kernels: the convolution's side of the GEMM.
 *
 * A convolution runs as C[channel][position] = W[channel][k] x patches[position][k]^T: the
 * weights are A (row-major as stored) and the patches are B, packed per call straight from the
 * NCHW input into the 16-column panels of qi8.h. C's rows are then the NCHW output planes, and
 * the FP32 epilogue is per row, so nothing is transposed after the GEMM.
 */
#include "qi8.h"

#include <emmintrin.h> /* SSE2, part of the x86-64 baseline */

/* Keep the pad loops of patch_row as stores: as memset calls they cost more than they do. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

/* ceil(a / b) for b > 0 and any sign of a. */
static int32_t ceil_div(int32_t a, int32_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/* Whether the window is a 1x1, stride-1, unpadded one: its patches are the input planes. */
static int direct_window(const int32_t *w) {
    return w[QI8_CONV_KERNEL_H] == 1 && w[QI8_CONV_KERNEL_W] == 1 && w[QI8_CONV_STRIDE_H] == 1
           && w[QI8_CONV_STRIDE_W] == 1 && w[QI8_CONV_PAD_H] == 0 && w[QI8_CONV_PAD_W] == 0
           && w[QI8_CONV_OUT_H] == w[QI8_CONV_IN_H] && w[QI8_CONV_OUT_W] == w[QI8_CONV_IN_W];
}

/*
 * Row k of the patches, transposed (one byte per output position): tap (kh, kw) of channel c.
 * Returns the row, which is the input plane itself for a 1x1, stride-1, unpadded window.
 */
static const uint8_t *patch_row(int32_t isa, const uint8_t *in, uint8_t pad, const int32_t *w,
                                int32_t k, uint8_t *row) {
    int32_t kh_n = w[QI8_CONV_KERNEL_H], kw_n = w[QI8_CONV_KERNEL_W];
    int32_t in_h = w[QI8_CONV_IN_H], in_w = w[QI8_CONV_IN_W];
    int32_t out_h = w[QI8_CONV_OUT_H], out_w = w[QI8_CONV_OUT_W];
    int32_t sh = w[QI8_CONV_STRIDE_H], sw = w[QI8_CONV_STRIDE_W];
    int32_t c = k / (kh_n * kw_n), kh = k / kw_n % kh_n, kw = k % kw_n;
    const uint8_t *plane = in + (int64_t) c * in_h * in_w;
    if (direct_window(w)) {
        return plane;
    }
    int32_t off = kw * w[QI8_CONV_DILATION_W] - w[QI8_CONV_PAD_W];
    /* The output columns whose input column ow * sw + off is inside [0, in_w). */
    int32_t first = ceil_div(-off, sw);
    first = first < 0 ? 0 : first > out_w ? out_w : first;
    int32_t end = ceil_div(in_w - off, sw);
    end = end > out_w ? out_w : end < first ? first : end;
    for (int32_t oh = 0; oh < out_h; oh++) {
        uint8_t *dst = row + (int64_t) oh * out_w;
        int32_t y = oh * sh - w[QI8_CONV_PAD_H] + kh * w[QI8_CONV_DILATION_H];
        if (y < 0 || y >= in_h) {
            memset(dst, pad, (size_t) out_w);
            continue;
        }
        const uint8_t *src = plane + (int64_t) y * in_w + off;
        if (isa == QI8_AVX512_VNNI && sw <= 2) {
            /* The pads are 0 to 3 bytes: stores, not memset calls. */
            for (int32_t ow = 0; ow < first; ow++) {
                dst[ow] = pad;
            }
            qi8_copy_strided_avx512(src + (int64_t) first * sw, sw, dst + first, end - first);
            for (int32_t ow = end; ow < out_w; ow++) {
                dst[ow] = pad;
            }
            continue;
        }
        memset(dst, pad, (size_t) first);
        if (sw == 1) {
            memcpy(dst + first, src + first, (size_t) (end - first));
        } else {
            for (int32_t ow = first; ow < end; ow++) {
                dst[ow] = src[(int64_t) ow * sw];
            }
        }
        memset(dst + end, pad, (size_t) (out_w - end));
    }
    return row;
}

/* Adds the sums of the 4 bytes of each 32-bit lane of v to the 4 column sums at sum. */
static inline void add_lane_sums(__m128i v, uint32_t *sum) {
    const __m128i low = _mm_set1_epi16(0x00FF);
    __m128i pairs = _mm_add_epi16(_mm_and_si128(v, low), _mm_and_si128(_mm_srli_epi16(v, 8), low));
    __m128i quads = _mm_madd_epi16(pairs, _mm_set1_epi16(1));
    _mm_storeu_si128((__m128i *) sum, _mm_add_epi32(_mm_loadu_si128((const __m128i *) sum), quads));
}

/*
 * One k-group of 16 full columns from column p: the 4 rows' 16 bytes interleaved into the
 * panel's 64 bytes (2 rounds of unpacks), with the column sums. Signed bytes are summed as
 * unsigned b ^ 0x80 = b + 128, hence the 4 * 128 taken off each column.
 */
static void interleave16(const uint8_t *const r[4], int32_t p, int32_t signed_in, uint8_t *dst,
                         uint32_t *colsum) {
    __m128i r0 = _mm_loadu_si128((const __m128i *) (r[0] + p));
    __m128i r1 = _mm_loadu_si128((const __m128i *) (r[1] + p));
    __m128i r2 = _mm_loadu_si128((const __m128i *) (r[2] + p));
    __m128i r3 = _mm_loadu_si128((const __m128i *) (r[3] + p));
    __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpackhi_epi8(r0, r1);
    __m128i c = _mm_unpacklo_epi8(r2, r3), d = _mm_unpackhi_epi8(r2, r3);
    __m128i o[4] = {_mm_unpacklo_epi16(a, c), _mm_unpackhi_epi16(a, c),
                    _mm_unpacklo_epi16(b, d), _mm_unpackhi_epi16(b, d)};
    const __m128i flip = _mm_set1_epi8((char) 0x80);
    for (int i = 0; i < 4; i++) {
        __m128i flipped = _mm_xor_si128(o[i], flip);
        /* The kernels multiply signed B: unsigned input is stored flipped. */
        _mm_store_si128((__m128i *) (dst + 16 * i), signed_in ? o[i] : flipped);
        add_lane_sums(signed_in ? flipped : o[i], colsum + 4 * i);
        if (signed_in) {
            __m128i bias = _mm_set1_epi32(4 * 128);
            __m128i *at = (__m128i *) (colsum + 4 * i);
            _mm_storeu_si128(at, _mm_sub_epi32(_mm_loadu_si128(at), bias));
        }
    }
}

/*
 * Packs the patches of one image and group as the B operand of qi8_gemm_tile: N = out_h *
 * out_w positions, K = channels * kernel_h * kernel_w (c, kh, kw order, as ONNX weights are),
 * taps in the padding holding the zero point. `rows` is scratch of 4 * N bytes. Every byte of
 * `out` (qi8_packed_size(N, K)) is written, so it needs no clearing.
 */
void qi8_patches(int32_t isa, const uint8_t *in, int32_t signed_in, int32_t zero,
                 const int32_t *w, uint8_t *out, uint8_t *rows) {
    int32_t n = w[QI8_CONV_OUT_H] * w[QI8_CONV_OUT_W];
    int32_t k = w[QI8_CONV_CHANNELS] * w[QI8_CONV_KERNEL_H] * w[QI8_CONV_KERNEL_W];
    int32_t np = (n + QI8_PANEL - 1) / QI8_PANEL * QI8_PANEL;
    int64_t groups = ((int64_t) k + 3) / 4;
    int64_t panel_bytes = groups * 64;
    uint8_t pad = (uint8_t) zero;
    uint32_t flip = signed_in ? 0 : 0x80808080u;
    /* Unsigned: the column sums wrap like Java's int (they cannot, short of K near 2^23). */
    uint32_t *colsum = (uint32_t *) (out + panel_bytes * (np / QI8_PANEL));
    int32_t *zb = (int32_t *) (colsum + np);
    memset(colsum, 0, sizeof(int32_t) * (size_t) np);
    for (int64_t g = 0; g < groups; g++) {
        const uint8_t *r[4];
        for (int32_t q = 0; q < 4; q++) {
            int64_t kk = 4 * g + q;
            uint8_t *row = rows + (int64_t) q * n;
            if (kk < k) {
                r[q] = patch_row(isa, in, pad, w, (int32_t) kk, row);
            } else {
                /* Past K: A is zero there, so any B works; the zero point keeps colsum exact. */
                memset(row, pad, (size_t) n);
                r[q] = row;
            }
        }
        int32_t live = k - 4 * (int32_t) g < 4 ? k - 4 * (int32_t) g : 4;
        int32_t p = 0;
        if (live == 4) {
            if (isa == QI8_AVX512_VNNI) {
                for (; p + 4 * QI8_PANEL <= n; p += 4 * QI8_PANEL) {
                    qi8_interleave64_avx512(r, p, signed_in,
                                            out + (p / QI8_PANEL) * panel_bytes + g * 64,
                                            panel_bytes, colsum + p);
                }
            }
            for (; p + QI8_PANEL <= n; p += QI8_PANEL) {
                interleave16(r, p, signed_in, out + (p / QI8_PANEL) * panel_bytes + g * 64,
                             colsum + p);
            }
        }
        for (; p < np; p += QI8_PANEL) {
            uint32_t *dst = (uint32_t *) (out + (p / QI8_PANEL) * panel_bytes + g * 64);
            int32_t cols = n - p < QI8_PANEL ? n - p : QI8_PANEL;
            for (int32_t j = 0; j < cols; j++) {
                /* One column's 4 k-values, the 4 bytes vpdpbusd multiplies together. */
                uint32_t b0 = r[0][p + j], b1 = r[1][p + j], b2 = r[2][p + j], b3 = r[3][p + j];
                dst[j] = (b0 | b1 << 8 | b2 << 16 | b3 << 24) ^ flip;
                int32_t s = signed_in
                        ? (int8_t) b0 + (int8_t) b1 + (int8_t) b2 + (int8_t) b3
                        : (int32_t) (b0 + b1 + b2 + b3);
                /* The zero-point filler past K is not part of the sum. */
                colsum[p + j] += (uint32_t) (s - (4 - live) * (signed_in ? (int8_t) pad : pad));
            }
            for (int32_t j = cols; j < QI8_PANEL; j++) {
                dst[j] = 0;
            }
        }
    }
    for (int32_t j = 0; j < np; j++) {
        /* colcomp = sum_k (B - zB), wrapping like Java's int; padding columns are zero. */
        colsum[j] = j < n ? colsum[j] - (uint32_t) zero * (uint32_t) k : 0;
        zb[j] = j < n ? (signed_in ? zero : zero - 128) : 0;
    }
}

/*
 * Transposes 16 x 16 bytes: row i of the block, r[i][p..p+15], becomes column i of the 16 rows
 * at dst, dst + ld, ... Four rounds of interleaving row i with row i + 8 (a perfect shuffle of
 * the 16 rows) leave every byte at its transposed place.
 */
static void transpose16(const uint8_t *const r[16], int32_t p, uint8_t *dst, int64_t ld) {
    __m128i a[16], b[16];
    for (int i = 0; i < 16; i++) {
        a[i] = _mm_loadu_si128((const __m128i *) (r[i] + p));
    }
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 8; i++) {
            b[2 * i] = _mm_unpacklo_epi8(a[i], a[i + 8]);
            b[2 * i + 1] = _mm_unpackhi_epi8(a[i], a[i + 8]);
        }
        memcpy(a, b, sizeof(a));
    }
    for (int i = 0; i < 16; i++) {
        _mm_storeu_si128((__m128i *) (dst + i * ld), a[i]);
    }
}

/* dst[j][i] = src[i][j] for a rows x cols byte matrix: 16 x 16 blocks, scalar edges. */
void qi8_transpose_byte_matrix(const uint8_t *src, int64_t rows, int64_t cols, uint8_t *dst) {
    int64_t i = 0;
    for (; i + 16 <= rows; i += 16) {
        const uint8_t *r[16];
        for (int q = 0; q < 16; q++) {
            r[q] = src + (i + q) * cols;
        }
        int64_t j = 0;
        for (; j + 16 <= cols; j += 16) {
            transpose16(r, (int32_t) j, dst + j * rows + i, rows);
        }
        for (; j < cols; j++) {
            for (int q = 0; q < 16; q++) {
                dst[j * rows + i + q] = r[q][j];
            }
        }
    }
    for (; i < rows; i++) {
        for (int64_t j = 0; j < cols; j++) {
            dst[j * rows + i] = src[i * cols + j];
        }
    }
}

/*
 * The patches of one image and group as a row-major N x K matrix, one row per output position,
 * K in kh, kw, c order (the weights are packed in the same order), taps in the padding holding
 * the zero point: the left operand of the GEMM that puts positions on rows. Every tap of a
 * position is one copy of C bytes from a channels-last input (one run of C channel bytes per
 * input pixel): an NCHW input is first transposed to that, in C * H * W bytes of scratch; a
 * channels-last one (channels_last != 0) is read as it is. A 1x1, stride-1, unpadded window is
 * that transposition alone (or a copy), written straight into out. Returns 0, or -1 without
 * memory for the scratch.
 */
int32_t qi8_patch_matrix(const uint8_t *in, int32_t zero, const int32_t *w, int32_t channels_last,
                         uint8_t *out) {
    int32_t channels = w[QI8_CONV_CHANNELS];
    int32_t in_h = w[QI8_CONV_IN_H], in_w = w[QI8_CONV_IN_W];
    int32_t kh_n = w[QI8_CONV_KERNEL_H], kw_n = w[QI8_CONV_KERNEL_W];
    int32_t out_h = w[QI8_CONV_OUT_H], out_w = w[QI8_CONV_OUT_W];
    int64_t pixels = (int64_t) in_h * in_w;
    if (direct_window(w)) {
        if (channels_last) {
            memcpy(out, in, (size_t) (pixels * channels));
        } else {
            qi8_transpose_byte_matrix(in, channels, pixels, out);
        }
        return 0;
    }
    uint8_t *scratch = NULL;
    const uint8_t *last = in;
    if (!channels_last) {
        scratch = malloc((size_t) (pixels * channels));
        if (scratch == NULL) {
            return -1;
        }
        qi8_transpose_byte_matrix(in, channels, pixels, scratch);
        last = scratch;
    }
    uint8_t *dst = out;
    for (int32_t oh = 0; oh < out_h; oh++) {
        for (int32_t ow = 0; ow < out_w; ow++) {
            for (int32_t kh = 0; kh < kh_n; kh++) {
                int32_t y = oh * w[QI8_CONV_STRIDE_H] - w[QI8_CONV_PAD_H]
                            + kh * w[QI8_CONV_DILATION_H];
                int32_t x0 = ow * w[QI8_CONV_STRIDE_W] - w[QI8_CONV_PAD_W];
                if (w[QI8_CONV_DILATION_W] == 1 && y >= 0 && y < in_h && x0 >= 0
                    && x0 + kw_n <= in_w) {
                    /*
                     * The row's taps are adjacent pixels, so their channels are one run: one
                     * copy instead of one per tap (a 3x3 convolution made 9 small copies per
                     * position, 1.4% of ResNet-50 in memmove).
                     */
                    size_t run = (size_t) kw_n * (size_t) channels;
                    memcpy(dst, last + ((int64_t) y * in_w + x0) * channels, run);
                    dst += run;
                    continue;
                }
                for (int32_t kw = 0; kw < kw_n; kw++, dst += channels) {
                    int32_t x = ow * w[QI8_CONV_STRIDE_W] - w[QI8_CONV_PAD_W]
                                + kw * w[QI8_CONV_DILATION_W];
                    if (y < 0 || y >= in_h || x < 0 || x >= in_w) {
                        memset(dst, zero, (size_t) channels);
                    } else {
                        memcpy(dst, last + ((int64_t) y * in_w + x) * channels,
                               (size_t) channels);
                    }
                }
            }
        }
    }
    free(scratch);
    return 0;
}

/* Relu of 4 values as qi8_activate computes it: only what is below 0 becomes +0 (NaN stays). */
static inline __m128 relu4(__m128 v) {
    return _mm_andnot_ps(_mm_cmplt_ps(v, _mm_setzero_ps()), v);
}

/* dst[c][r] = activation(src[r][c] + residual[c][r]), as qi8_epilogue_one adds and activates. */
static inline float transposed_one(const float *src, int64_t ld, int64_t rows,
                                   const float *residual, int32_t activation, int64_t r,
                                   int64_t c) {
    float y = src[r * ld + c];
    if (residual != NULL) {
        y = y + residual[c * rows + r];
    }
    return qi8_activate(activation, y);
}

/*
 * Rows [r, r + 4) x columns [c, c + 4) of qi8_transpose_output: one 4 x 4 block transposed in
 * registers, then the residual and Relu (or nothing) on each output run of 4.
 */
static inline void transpose_block4(const float *src, int64_t ld, int64_t rows,
                                    const float *residual, int32_t activation, float *dst,
                                    int64_t r, int64_t c) {
    __m128 v[4];
    for (int i = 0; i < 4; i++) {
        v[i] = _mm_loadu_ps(src + (r + i) * ld + c);
    }
    _MM_TRANSPOSE4_PS(v[0], v[1], v[2], v[3]);
    for (int i = 0; i < 4; i++) {
        __m128 y = v[i];
        if (residual != NULL) {
            y = _mm_add_ps(y, _mm_loadu_ps(residual + (c + i) * rows + r));
        }
        _mm_storeu_ps(dst + (c + i) * rows + r, activation == QI8_ACT_RELU ? relu4(y) : y);
    }
}

/*
 * The last steps of a convolution's epilogue over a GEMM that wrote its output transposed
 * (positions on rows, channels on columns): dst[c][r] = activation(src[r * ld + c] +
 * residual[c][r]), the residual (or none, NULL) and dst laid out as the NCHW output. 4 rows of
 * src at a time, read along (more rows at once, 4 KB apart when there are 1024 channels, share
 * one set of L1 ways: 16 rows measured 1.6-2 times slower); other activations than Relu take
 * the scalar path.
 */
void qi8_transpose_output(const float *src, int64_t ld, int64_t rows, int64_t cols,
                          const float *residual, int32_t activation, float *dst) {
    int vector = activation == QI8_ACT_NONE || activation == QI8_ACT_RELU;
    int64_t r = 0;
    for (; vector && r + 4 <= rows; r += 4) {
        int64_t c = 0;
        for (; c + 4 <= cols; c += 4) {
            transpose_block4(src, ld, rows, residual, activation, dst, r, c);
        }
        for (; c < cols; c++) {
            for (int64_t i = r; i < r + 4; i++) {
                dst[c * rows + i] = transposed_one(src, ld, rows, residual, activation, i, c);
            }
        }
    }
    for (; r < rows; r++) {
        for (int64_t c = 0; c < cols; c++) {
            dst[c * rows + r] = transposed_one(src, ld, rows, residual, activation, r, c);
        }
    }
}

/* The FP32 epilogue of a tile that a kernel wrote as INT32 (the AVX-512 kernel fuses it). */
void qi8_epilogue_tile(const qi8_tile *t) {
    for (int32_t m = t->m0; m < t->m1; m++) {
        int32_t *row = t->c + (int64_t) m * t->ldc;
        for (int32_t j = t->n0; j < t->n1; j++) {
            int32_t acc;
            memcpy(&acc, row + j, 4); /* C may be unaligned */
            float y = qi8_epilogue_one(t->ep, m, j, acc);
            memcpy(row + j, &y, 4);
        }
    }
}
