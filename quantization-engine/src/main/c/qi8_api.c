/*
 * QuantInt8 native kernels: the exported functions (ISA detection, weight packing, the GEMM tile
 * and GEMV entry points). Java checks every size and bound before calling; the checks here only
 * guard against a Java/C version mismatch and return an error code instead of crashing.
 */
#include "qi8.h"

#include <stdlib.h>
#include <sys/mman.h>

#define QI8_ABI_VERSION 11

/* Errors returned to Java (which turns them into exceptions). */
#define QI8_OK 0
#define QI8_ERR_ISA (-1)
#define QI8_ERR_ARGS (-2)
#define QI8_ERR_MEMORY (-3)

QI8_EXPORT int32_t qi8_abi_version(void) { return QI8_ABI_VERSION; }

/* The best ISA level this CPU and OS support (libgcc's checks include the XCR0 state bits). */
QI8_EXPORT int32_t qi8_best_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) {
        return QI8_AVX512_VNNI;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return QI8_AVX2;
    }
    return QI8_PORTABLE;
}

static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

static int64_t panels_bytes(int32_t n, int32_t k) {
    return round_up(n, QI8_PANEL) * round_up(k, 4);
}

/* Bytes of the packed form of an N x K weight matrix (see qi8.h for the layout). */
QI8_EXPORT int64_t qi8_packed_size(int32_t n, int32_t k) {
    return panels_bytes(n, k) + 8 * round_up(n, QI8_PANEL);
}

/* The transparent huge page size of x86-64 Linux; weight mappings are aligned to it. */
#define QI8_HUGE_PAGE ((int64_t) 2 << 20)

/*
 * Maps `size` bytes of zeroed memory (a positive multiple of QI8_HUGE_PAGE) aligned to
 * QI8_HUGE_PAGE, and asks Linux to back it with transparent huge pages: a decoder streams its
 * packed weights once a token, and 2 MiB pages spare the TLB a miss every 4 KiB. Returns NULL if
 * the mapping fails; the advice is only advice (THP may be off, the mapping still works).
 */
QI8_EXPORT void *qi8_map_weights(int64_t size) {
    if (size <= 0 || size % QI8_HUGE_PAGE != 0) {
        return NULL;
    }
    size_t span = (size_t) (size + QI8_HUGE_PAGE);
    uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        return NULL;
    }
    uintptr_t mask = (uintptr_t) QI8_HUGE_PAGE - 1;
    uint8_t *start = (uint8_t *) (((uintptr_t) raw + mask) & ~mask);
    if (start > raw) {
        munmap(raw, (size_t) (start - raw));
    }
    uint8_t *end = raw + span;
    if (end > start + size) {
        munmap(start + size, (size_t) (end - (start + size)));
    }
#ifdef MADV_HUGEPAGE
    madvise(start, (size_t) size, MADV_HUGEPAGE);
#endif
    return start;
}

/* Unmaps what qi8_map_weights returned, with the same size. */
QI8_EXPORT int32_t qi8_unmap_weights(void *start, int64_t size) {
    if (start == NULL || ((uintptr_t) start & ((uintptr_t) QI8_HUGE_PAGE - 1)) != 0 || size <= 0
        || size % QI8_HUGE_PAGE != 0) {
        return QI8_ERR_ARGS;
    }
    return munmap(start, (size_t) size) == 0 ? QI8_OK : QI8_ERR_ARGS;
}

static qi8_packed view_packed(const uint8_t *packed, int32_t n, int32_t k) {
    int64_t np = round_up(n, QI8_PANEL);
    qi8_packed p;
    p.panels = (const int8_t *) packed;
    p.colcomp = (const int32_t *) (packed + panels_bytes(n, k));
    p.zb = p.colcomp + np;
    p.panel_bytes = round_up(k, 4) * QI8_PANEL;
    p.n = n;
    p.k = k;
    return p;
}

/*
 * Packs B (N x K, row-major, zero point zb[n] per row) into `out` (qi8_packed_size bytes,
 * 64-byte aligned). Unsigned B is flipped to signed here, once, so the kernels only see s8.
 */
QI8_EXPORT int32_t qi8_pack(const uint8_t *b, int32_t n, int32_t k, int32_t signed_b,
                            const int32_t *zb, uint8_t *out) {
    if (n < 0 || k < 0 || ((uintptr_t) out & 63) != 0) {
        return QI8_ERR_ARGS;
    }
    int64_t size = qi8_packed_size(n, k);
    memset(out, 0, (size_t) size);
    qi8_packed p = view_packed(out, n, k);
    int8_t *panels = (int8_t *) p.panels;
    int32_t *colcomp = (int32_t *) p.colcomp;
    int32_t *zbp = (int32_t *) p.zb;
    uint8_t flip = signed_b ? 0 : 0x80;
    for (int32_t j = 0; j < n; j++) {
        const uint8_t *row = b + (int64_t) j * k;
        int8_t *panel = panels + (j / QI8_PANEL) * p.panel_bytes + (j % QI8_PANEL) * 4;
        uint32_t sum = 0; /* wraps like Java's int */
        for (int32_t q = 0; q < k; q++) {
            panel[(q / 4) * 64 + q % 4] = (int8_t) (row[q] ^ flip);
            sum += signed_b ? (uint32_t) (int32_t) (int8_t) row[q] : (uint32_t) row[q];
        }
        colcomp[j] = (int32_t) (sum - (uint32_t) zb[j] * (uint32_t) k);
        zbp[j] = signed_b ? zb[j] : zb[j] - 128;
    }
    return QI8_OK;
}

static int isa_supported(int32_t isa) { return isa >= 0 && isa <= qi8_best_isa(); }

/* Whether an activation is one of QI8_ACT_* (qi8.h). */
static int activation_ok(int32_t activation) {
    return activation >= QI8_ACT_NONE && activation <= QI8_ACT_GELU_TANH;
}

/* The GEMM tile behind both exported entry points; ep is NULL for INT32 output. */
static int32_t gemm_tile(int32_t isa, const uint8_t *a, int32_t signed_a, const int32_t *za,
                         const uint8_t *packed, int32_t n, int32_t k, int32_t m0, int32_t m1,
                         int32_t n0, int32_t n1, int32_t *c, int64_t ldc,
                         const qi8_epilogue *ep) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    if (m0 < 0 || m1 < m0 || n0 < 0 || n1 < n0 || n1 > n || n0 % QI8_PANEL != 0 || k < 0
        || ((uintptr_t) packed & 63) != 0) {
        return QI8_ERR_ARGS;
    }
    if (m1 == m0 || n1 == n0) {
        return QI8_OK;
    }
    int32_t rows = m1 - m0;
    int32_t cols = (int32_t) round_up(n1 - n0, QI8_PANEL);
    /* The channels an epilogue reads, indexed from 0: the columns per column, else the rows. */
    int32_t channels = ep == NULL ? 0 : ep->per_column ? n1 : m1;
    int32_t *buf = malloc(sizeof(int32_t) * (2 * (size_t) rows + (size_t) cols
                                             + (size_t) channels));
    if (buf == NULL) {
        return QI8_ERR_MEMORY;
    }
    /*
     * The channels' scales times in_scale, each product the FP32 one the epilogue forms, taken
     * once for the tile's channels instead of once per output vector; in_scale is then 1.
     */
    qi8_epilogue scaled_ep;
    if (ep != NULL) {
        float *scaled = (float *) (buf + 2 * rows + cols);
        for (int32_t i = ep->per_column ? n0 : m0; i < channels; i++) {
            scaled[i] = ep->in_scale * ep->scale[i];
        }
        scaled_ep = *ep;
        scaled_ep.in_scale = 1.0f;
        scaled_ep.scale = scaled;
        ep = &scaled_ep;
    }
    uint32_t flip = signed_a ? 0x80808080u : 0;
    int32_t *rowsum = buf, *zap = buf + rows;
    qi8_packed p = view_packed(packed, n, k);
    /*
     * rowsum' only ever multiplies zB': with B's zero points all 0 in the tile (symmetric
     * weights as B, when a convolution puts positions on rows) it is not needed, and summing
     * the patches' rows took 1.4% of ResNet-50.
     */
    int32_t needs_rowsum = 0;
    for (int32_t j = n0; j < n1 && !needs_rowsum; j++) {
        needs_rowsum = p.zb[j] != 0;
    }
    if (!needs_rowsum) {
        memset(rowsum, 0, sizeof(int32_t) * (size_t) rows);
    } else if (isa == QI8_AVX512_VNNI) {
        qi8_rowsums_avx512(a, k, m0, m1, flip, rowsum);
    }
    for (int32_t i = 0; i < rows; i++) {
        if (needs_rowsum && isa != QI8_AVX512_VNNI) {
            /* A plain byte sum: gcc vectorizes it, and it is K per row against K * N in the GEMM. */
            const uint8_t *row = a + (int64_t) (m0 + i) * k;
            uint32_t sum = 0;
            for (int32_t q = 0; q < k; q++) {
                sum += (uint8_t) (row[q] ^ (uint8_t) flip);
            }
            rowsum[i] = (int32_t) sum;
        }
        zap[i] = za[m0 + i] + (signed_a ? 128 : 0);
    }
    /*
     * Without rowsum' and with one zero point for every row of A (a convolution's patches as
     * A), C's correction is one term per column, zA' x colcomp, taken once here instead of a
     * multiply per output vector. Only the AVX-512 tiles of an FP32 epilogue read it.
     */
    int32_t uniform_za = !needs_rowsum && isa == QI8_AVX512_VNNI && ep != NULL;
    for (int32_t i = 1; i < rows && uniform_za; i++) {
        uniform_za = zap[i] == zap[0];
    }
    int32_t *colterm = NULL;
    if (uniform_za) {
        colterm = buf + 2 * rows;
        for (int32_t j = 0; j < cols; j++) {
            colterm[j] = n0 + j < n1
                    ? (int32_t) ((uint32_t) zap[0] * (uint32_t) p.colcomp[n0 + j]) : 0;
        }
    }
    qi8_tile t = {a, (int32_t) flip, zap, rowsum, colterm, &p, c, ldc, m0, m1, n0, n1, ep};
    switch (isa) {
        case QI8_AVX512_VNNI: qi8_tile_avx512(&t); break;
        case QI8_AVX2: qi8_tile_avx2(&t); break;
        default: qi8_tile_portable(&t); break;
    }
    if (ep != NULL && isa != QI8_AVX512_VNNI) {
        qi8_epilogue_tile(&t);
    }
    free(buf);
    return QI8_OK;
}

/*
 * One GEMM tile: C[m0:m1, n0:n1] (ldc = row stride of C in elements) from A (M x K, row-major,
 * zero point za[m] per row) and packed B. n0 must be a multiple of 16 and n1 <= N.
 */
QI8_EXPORT int32_t qi8_gemm_tile(int32_t isa, const uint8_t *a, int32_t signed_a,
                                 const int32_t *za, const uint8_t *packed, int32_t n, int32_t k,
                                 int32_t m0, int32_t m1, int32_t n0, int32_t n1, int32_t *c,
                                 int64_t ldc) {
    return gemm_tile(isa, a, signed_a, za, packed, n, k, m0, m1, n0, n1, c, ldc, NULL);
}

/*
 * Same tile with FP32 output through the epilogue of qi8.h, per row (per_column 0) or per column
 * (per_column 1): in_scale, a factor of every channel's scale (the input's scale, or 1); scale,
 * offset (M floats each, N per column), post_scale and post_shift (as many, or both NULL),
 * residual (M x ldr floats, or NULL), activation QI8_ACT_* (qi8.h).
 */
QI8_EXPORT int32_t qi8_gemm_tile_f32(int32_t isa, const uint8_t *a, int32_t signed_a,
                                     const int32_t *za, const uint8_t *packed, int32_t n,
                                     int32_t k, int32_t m0, int32_t m1, int32_t n0, int32_t n1,
                                     float *c, int64_t ldc, float in_scale,
                                     const float *scale, const float *offset,
                                     const float *post_scale, const float *post_shift,
                                     const float *residual,
                                     int64_t ldr, int32_t activation,
                                     int32_t per_column) {
    if ((post_scale == NULL) != (post_shift == NULL) || (residual != NULL && ldr < n1)
        || (per_column != 0 && per_column != 1) || !activation_ok(activation)) {
        return QI8_ERR_ARGS;
    }
    qi8_epilogue ep = {in_scale, scale, offset, post_scale, post_shift, residual, ldr, activation,
                       per_column};
    return gemm_tile(isa, a, signed_a, za, packed, n, k, m0, m1, n0, n1, (int32_t *) c, ldc, &ep);
}

/*
 * Packs the im2col patches of one image and group of an NCHW 8-bit input (sizes: the
 * QI8_CONV_SIZES ints of qi8.h) as the packed B operand of qi8_gemm_tile, N = positions and
 * K = channels x kernel taps, into `out` (qi8_packed_size(N, K) bytes, 64-byte aligned).
 */
/* Whether a window's sizes and an input's zero point are what Java checked (see ConvWindow). */
static int conv_args_ok(const int32_t *sizes, int32_t signed_in, int32_t zero) {
    for (int32_t i = 0; i < QI8_CONV_SIZES; i++) {
        if (sizes[i] < (i == QI8_CONV_PAD_H || i == QI8_CONV_PAD_W ? 0 : 1)) {
            return 0;
        }
    }
    return zero >= (signed_in ? -128 : 0) && zero <= (signed_in ? 127 : 255);
}

QI8_EXPORT int32_t qi8_pack_patches(int32_t isa, const uint8_t *in, int32_t signed_in,
                                    int32_t zero, const int32_t *sizes, uint8_t *out) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ARGS;
    }
    if (((uintptr_t) out & 63) != 0 || !conv_args_ok(sizes, signed_in, zero)) {
        return QI8_ERR_ARGS;
    }
    int64_t n = (int64_t) sizes[QI8_CONV_OUT_H] * sizes[QI8_CONV_OUT_W];
    uint8_t *rows = malloc((size_t) (4 * n));
    if (rows == NULL) {
        return QI8_ERR_MEMORY;
    }
    qi8_patches(isa, in, signed_in, zero, sizes, out, rows);
    free(rows);
    return QI8_OK;
}

/*
 * Writes the im2col patches of one image and group of an 8-bit input, NCHW or (channels_last
 * != 0) channels-last, sizes as for qi8_pack_patches, as a row-major N x K matrix, one row per
 * output position and K in kh, kw, c order, into `out` (N * K bytes): the left operand of a GEMM
 * whose packed right operand is the weights, their K in the same order.
 */
QI8_EXPORT int32_t qi8_patch_rows(int32_t isa, const uint8_t *in, int32_t signed_in,
                                  int32_t zero, const int32_t *sizes, int32_t channels_last,
                                  uint8_t *out) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    if (!conv_args_ok(sizes, signed_in, zero)) {
        return QI8_ERR_ARGS;
    }
    return qi8_patch_matrix(in, zero, sizes, channels_last != 0, out) == 0 ? QI8_OK
                                                                          : QI8_ERR_MEMORY;
}

/* dst[j][i] = src[i][j] for a rows x cols byte matrix: a channels-last image to NCHW planes. */
QI8_EXPORT int32_t qi8_transpose_bytes(int32_t isa, const uint8_t *src, int64_t rows,
                                       int64_t cols, uint8_t *dst) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    if (rows < 0 || cols < 0) {
        return QI8_ERR_ARGS;
    }
    qi8_transpose_byte_matrix(src, rows, cols, dst);
    return QI8_OK;
}

/*
 * dst[c][r] = activation(src[r * ld + c] + residual[c][r]) for a rows x cols FP32 src (row
 * stride ld >= cols), residual NULL for none: the end of a convolution's epilogue when its GEMM
 * wrote positions on rows.
 */
QI8_EXPORT int32_t qi8_transpose_output_f32(int32_t isa, const float *src, int64_t ld,
                                            int64_t rows, int64_t cols, const float *residual,
                                            int32_t activation, float *dst) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    if (rows < 0 || cols < 0 || ld < cols || !activation_ok(activation)) {
        return QI8_ERR_ARGS;
    }
    qi8_transpose_output(src, ld, rows, cols, residual, activation, dst);
    return QI8_OK;
}

/*
 * Weight-only INT8 GEMV: y[n] = scale[n] * sum_k x[k] * (W[n][k] - zw[n]) for n in [n0, n1),
 * W row-major N x K (8-bit, signed or not), x and y FP32.
 */
QI8_EXPORT int32_t qi8_gemv_f32(int32_t isa, const float *x, int32_t k, const uint8_t *w,
                                int32_t signed_w, const int32_t *zw, const float *scale,
                                int32_t n0, int32_t n1, float *y) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    if (k < 0 || n0 < 0 || n1 < n0) {
        return QI8_ERR_ARGS;
    }
    switch (isa) {
        case QI8_AVX512_VNNI: qi8_gemv_avx512(x, k, w, signed_w, zw, scale, n0, n1, y); break;
        case QI8_AVX2: qi8_gemv_avx2(x, k, w, signed_w, zw, scale, n0, n1, y); break;
        default: qi8_gemv_portable(x, k, w, signed_w, zw, scale, n0, n1, y); break;
    }
    return QI8_OK;
}

/*
 * The range of n FP32 values (n >= 1) into min_max[0] and min_max[1], as Java's Math.min and
 * Math.max reduce them. Returns QI8_OK, 1 if a value is NaN or infinite (Java then finds which),
 * or an error code.
 */
QI8_EXPORT int32_t qi8_range_f32(int32_t isa, const float *x, int64_t n, float *min_max) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    if (n < 1) {
        return QI8_ERR_ARGS;
    }
    return qi8_range(isa, x, n, min_max);
}

/*
 * Quantizes n FP32 values to 8-bit codes with one scale and zero point, saturated to [lo, hi]
 * (both within -128..255); NaN becomes the zero point and is counted into *nans.
 */
QI8_EXPORT int32_t qi8_quantize_f32(int32_t isa, const float *x, int64_t n, float scale,
                                    int32_t zero, int32_t lo, int32_t hi, uint8_t *y,
                                    int64_t *nans) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    if (n < 0 || lo < -128 || hi > 255 || lo > hi || !(scale > 0.0f)) {
        return QI8_ERR_ARGS;
    }
    *nans = qi8_quantize(isa, x, n, scale, zero, lo, hi, y);
    return QI8_OK;
}

/*
 * Layer normalization of rows x n FP32 values (n >= 1): y = (x - mean) / sqrt(var + epsilon) *
 * gamma + beta with x = a + b (b may be NULL, then x = a; the sum goes to sum unless NULL), beta
 * NULL for none. y must not overlap a, b or sum.
 */
QI8_EXPORT int32_t qi8_layer_norm_f32(int32_t isa, const float *a, const float *b, float *sum,
                                      float *y, int64_t rows, int32_t n, const float *gamma,
                                      const float *beta, float epsilon) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    if (rows < 0 || n < 1 || (sum != NULL && b == NULL)) {
        return QI8_ERR_ARGS;
    }
    qi8_layer_norm(isa, a, b, sum, y, rows, n, gamma, beta, epsilon);
    return QI8_OK;
}

/* Max pooling: the window as the Java PoolWindow checked it, checked again here. */
QI8_EXPORT int32_t qi8_max_pool_f32(int32_t isa, const float *in, float *out, int64_t planes,
                                    const int32_t *g) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    for (int i = 0; i < QI8_POOL_PAD_H; i++) {
        if (g[i] < 1) {
            return QI8_ERR_ARGS;
        }
    }
    if (planes < 0 || g[QI8_POOL_PAD_H] < 0 || g[QI8_POOL_PAD_W] < 0
        || g[QI8_POOL_PAD_H] >= g[QI8_POOL_KERNEL_H] || g[QI8_POOL_PAD_W] >= g[QI8_POOL_KERNEL_W]
        || (int64_t) (g[QI8_POOL_OUT_H] - 1) * g[QI8_POOL_STRIDE_H] - g[QI8_POOL_PAD_H]
                   >= g[QI8_POOL_IN_H]
        || (int64_t) (g[QI8_POOL_OUT_W] - 1) * g[QI8_POOL_STRIDE_W] - g[QI8_POOL_PAD_W]
                   >= g[QI8_POOL_IN_W]) {
        return QI8_ERR_ARGS;
    }
    float *column = malloc((size_t) g[QI8_POOL_IN_W] * sizeof(float));
    if (column == NULL) {
        return QI8_ERR_MEMORY;
    }
    qi8_max_pool(isa, in, out, planes, g, column);
    free(column);
    return QI8_OK;
}

/*
 * Multi-head attention (qi8_attention_args in qi8.h, the loop in qi8_attention.c) of the heads
 * [first, last) counted b * heads + h; dims = batch, seq, heads, size, total. Java checked every
 * operand's size against them.
 */
QI8_EXPORT int32_t qi8_attention_f32(int32_t isa, const float *q, int64_t q_stride,
                                     const int64_t *dims, const float *keys,
                                     const float *values, const float *mask_add,
                                     const uint8_t *mask_allowed, const int64_t *mask_strides,
                                     float fill, float scale, int32_t divide, float *out,
                                     int64_t first, int64_t last) {
    if (!isa_supported(isa)) {
        return QI8_ERR_ISA;
    }
    if (dims[0] < 0 || dims[1] < 0 || dims[2] < 0 || dims[3] < 1 || dims[4] < 1
        || q_stride < dims[2] * dims[3] || (mask_add != NULL && mask_allowed != NULL)
        || ((mask_add != NULL || mask_allowed != NULL) != (mask_strides != NULL))
        || first < 0 || last < first || last > dims[0] * dims[2]) {
        return QI8_ERR_ARGS;
    }
    qi8_attention_args at = {q, q_stride, dims[0], dims[1], dims[2], dims[3], dims[4], keys,
                             values, mask_add, mask_allowed, mask_strides, fill, scale,
                             divide, out, first, last};
    return qi8_attention(isa, &at) == 0 ? QI8_OK : QI8_ERR_MEMORY;
}
