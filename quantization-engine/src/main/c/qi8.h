/*
 * QuantInt8 native kernels: internal declarations shared by the C files.
 *
 * Arithmetic model. Every GEMM is reduced to unsigned activations times signed weights, the
 * pairing that VNNI's vpdpbusd multiplies:
 *   A' = A + 128 (signed A, i.e. the byte with its top bit flipped), zA' = zA + 128
 *   B' = B - 128 (unsigned B, same flip),                            zB' = zB - 128
 * so (A - zA)(B - zB) = (A' - zA')(B' - zB') and
 *   C[m][n] = sum_k A'B' - zB'[n] * rowsum'[m] - zA'[m] * colcomp[n],
 *   rowsum'[m] = sum_k A'[m][k],  colcomp[n] = sum_k (B[n][k] - zB[n]).
 * All of it is computed modulo 2^32 (unsigned C arithmetic, wrapping vector adds), which is
 * exactly what Java's int arithmetic does: results are bit-identical even on overflow.
 */
#ifndef QI8_H
#define QI8_H

#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QI8_EXPORT __attribute__((visibility("default")))

/* Columns per packed panel: one 512-bit vector of INT32 accumulators. */
#define QI8_PANEL 16

/* Instruction-set levels, also the values of the Java enum's ordinals. */
enum { QI8_PORTABLE = 0, QI8_AVX2 = 1, QI8_AVX512_VNNI = 2 };

/*
 * Packed weights. N is padded to a multiple of 16 (Np) and K to a multiple of 4 (K4, G = K4/4
 * groups). Panel p holds columns 16p..16p+15: for each group g, 64 bytes = 16 columns x 4
 * consecutive k, exactly one vpdpbusd operand. After the panels (64-byte aligned): int32
 * colcomp[Np] then int32 zb'[Np]; padding columns are zero everywhere.
 */
typedef struct {
    const int8_t *panels;
    const int32_t *colcomp;
    const int32_t *zb;
    int64_t panel_bytes; /* G * 64 */
    int32_t n, k;
} qi8_packed;

/*
 * The FP32 epilogue of a GEMM, per channel c of C: c = m, the row (an output channel of a
 * convolution), or c = n, the column when per_column is set (an output feature of a linear layer):
 *   y = (float) acc * (in_scale * scale[c]) + offset[c]; then y = y * post_scale[c] + post_shift[c] when
 *   post_scale is not NULL; then y = y + residual[m * ldr + n] when residual is not NULL (a
 *   ResNet block's shortcut, laid out as C); then the activation (qi8_activate).
 * Every product and sum is rounded to FP32 on its own, as Java rounds it: the build compiles with
 * -ffp-contract=off, so that no multiply and add are fused.
 */
typedef struct {
    float in_scale; /* the input's scale, a factor of every channel's (1 when scale has it) */
    const float *scale;
    const float *offset;
    const float *post_scale;
    const float *post_shift;
    const float *residual;
    int64_t ldr;
    int32_t activation; /* QI8_ACT_* */
    int32_t per_column;
} qi8_epilogue;

/* The activations, the ordinals of the Java enum Activation. */
enum { QI8_ACT_NONE = 0, QI8_ACT_RELU = 1, QI8_ACT_GELU_ERF = 2, QI8_ACT_GELU_TANH = 3 };

/*
 * The rational fits of erf (on [-4, 4]) and tanh (on [-9, 9]) of Java's FloatKernels, the same
 * FP32 constants: x P(x^2) / Q(x^2), clamped to [-1, 1]. Java's tests compare both sides bit for
 * bit, which keeps the two copies equal.
 */
#define QI8_ERF_CLAMP 4.0f
#define QI8_ERF_P { 1.1283787488937378f, 0.20852576196193695f, 0.051708072423934937f, \
                    0.00406600022688508f, 0.0001504268730059266f, -1.9803846953436732e-06f, \
                    1.9513210602895015e-08f }
#define QI8_ERF_Q { 1.0f, 0.5181298851966858f, 0.11855267733335495f, 0.015086665749549866f, \
                    0.0010441236663609743f }
#define QI8_TANH_CLAMP 9.0f
#define QI8_TANH_P { 0.9999999403953552f, 0.12969104945659637f, 0.002974386792629957f, \
                     9.754347956913989e-06f, -1.4218017874156885e-08f, 2.1840577957288332e-11f }
#define QI8_TANH_Q { 1.0f, 0.4630241096019745f, 0.023982742801308632f, 0.0002355017204536125f }
/* (float) (1 / sqrt(2)) and (float) sqrt(2 / pi), as Java rounds them. */
#define QI8_INV_SQRT2 ((float) 0.70710678118654752440)
#define QI8_SQRT_2_OVER_PI ((float) 0.79788456080286535588)
#define QI8_TANH_CUBIC 0.044715f

/*
 * The mask of the first n of 16 vector lanes (all for n >= 16, none for n <= 0): the lanes of a
 * masked load or store that are inside a row of which n values are left.
 */
static inline uint16_t qi8_lanes16(int64_t n) {
    return n >= 16 ? (uint16_t) 0xFFFF : n <= 0 ? (uint16_t) 0 : (uint16_t) ((1u << n) - 1);
}

/* Java's Math.min / Math.max against a constant b: NaN in a stays NaN. */
static inline float qi8_jmin(float a, float b) { return a != a ? a : (a < b ? a : b); }
static inline float qi8_jmax(float a, float b) { return a != a ? a : (a > b ? a : b); }

/* x P(t) / Q(t) at t = x^2 (Horner, highest coefficient first), clamped as Java does. */
static inline float qi8_rational(float x, float clamp, const float *p, int np, const float *q,
                                 int nq) {
    float a = qi8_jmin(qi8_jmax(x, -clamp), clamp);
    float t = a * a;
    float num = p[np - 1];
    for (int i = np - 2; i >= 0; i--) {
        num = num * t + p[i];
    }
    float den = q[nq - 1];
    for (int i = nq - 2; i >= 0; i--) {
        den = den * t + q[i];
    }
    return qi8_jmin(qi8_jmax(a * num / den, -1.0f), 1.0f);
}

/* The activation of one value (the scalar statement of the vector one). */
static inline float qi8_activate(int32_t activation, float y) {
    static const float ep[] = QI8_ERF_P, eq[] = QI8_ERF_Q, tp[] = QI8_TANH_P, tq[] = QI8_TANH_Q;
    switch (activation) {
        case QI8_ACT_RELU: return y < 0.0f ? 0.0f : y; /* NaN is not below 0: it stays */
        case QI8_ACT_GELU_ERF:
            return 0.5f * y * (1.0f + qi8_rational(y * QI8_INV_SQRT2, QI8_ERF_CLAMP, ep, 7, eq, 5));
        case QI8_ACT_GELU_TANH:
            return 0.5f * y * (1.0f + qi8_rational(QI8_SQRT_2_OVER_PI
                    * (y + QI8_TANH_CUBIC * y * y * y), QI8_TANH_CLAMP, tp, 6, tq, 4));
        default: return y;
    }
}

/* The epilogue of accumulator (m, n) (the scalar statement of the vector one). */
static inline float qi8_epilogue_one(const qi8_epilogue *e, int32_t m, int32_t n, int32_t acc) {
    int32_t c = e->per_column ? n : m;
    float z = (float) acc * (e->in_scale * e->scale[c]) + e->offset[c];
    if (e->post_scale != NULL) {
        z = z * e->post_scale[c] + e->post_shift[c];
    }
    if (e->residual != NULL) {
        z = z + e->residual[m * e->ldr + n];
    }
    return qi8_activate(e->activation, z);
}

/* One output tile C[m0:m1, n0:n1] of a GEMM; n0 is a multiple of 16. */
typedef struct {
    const uint8_t *a;      /* A[0][0], row-major, lda = k */
    int32_t flip;          /* 0x80808080 when A is signed, else 0 */
    const int32_t *za;     /* zA' per row of the tile, indexed m - m0 */
    const int32_t *rowsum; /* rowsum' per row of the tile, indexed m - m0 */
    const int32_t *colterm; /* NULL, or zA' x colcomp per column (indexed n - n0, padded to a
                               panel) when rowsum' is 0 and zA' the same for every row */
    const qi8_packed *b;
    int32_t *c;            /* C[0][0] */
    int64_t ldc;
    int32_t m0, m1, n0, n1;
    const qi8_epilogue *ep; /* NULL: C is INT32; else C holds the FP32 epilogue (kernels that do
                               not fuse it leave INT32 for qi8_epilogue_tile to convert) */
} qi8_tile;

/* Reads the 4 bytes of k-group g of an A row, zero-filling past k (the packed B is zero there). */
static inline uint32_t qi8_load_group(const uint8_t *row, int64_t g, int32_t k, uint32_t flip) {
    uint32_t w = 0;
    int64_t start = 4 * g;
    if (start + 4 <= k) {
        memcpy(&w, row + start, 4);
        return w ^ flip;
    }
    for (int64_t q = start; q < k; q++) {
        w |= (uint32_t) (row[q] ^ (uint8_t) flip) << (8 * (q - start));
    }
    return w;
}

void qi8_tile_portable(const qi8_tile *t);
/* Converts the INT32 tile that a kernel without a fused epilogue wrote into FP32, in place. */
void qi8_epilogue_tile(const qi8_tile *t);
void qi8_tile_avx2(const qi8_tile *t);
void qi8_tile_avx512(const qi8_tile *t);
/* rowsum'[i] of rows m0..m1 of A (row-major, K columns), each byte xor flip, summed unsigned. */
void qi8_rowsums_avx512(const uint8_t *a, int32_t k, int32_t m0, int32_t m1, uint32_t flip,
                        int32_t *rowsum);

void qi8_gemv_portable(const float *x, int32_t k, const uint8_t *w, int32_t signed_w,
                       const int32_t *zw, const float *scale, int32_t n0, int32_t n1, float *y);
void qi8_gemv_avx2(const float *x, int32_t k, const uint8_t *w, int32_t signed_w,
                   const int32_t *zw, const float *scale, int32_t n0, int32_t n1, float *y);
void qi8_gemv_avx512(const float *x, int32_t k, const uint8_t *w, int32_t signed_w,
                     const int32_t *zw, const float *scale, int32_t n0, int32_t n1, float *y);

/* Range of n FP32 values into min_max[0..1] (n > 0); returns 1 if one is NaN or infinite. */
int32_t qi8_range(int32_t isa, const float *x, int64_t n, float *min_max);
/* Per-tensor 8-bit quantization of n FP32 values; returns the number of NaN inputs. */
int64_t qi8_quantize(int32_t isa, const float *x, int64_t n, float scale, int32_t zero,
                     int32_t lo, int32_t hi, uint8_t *y);

/*
 * The sum of a row in double, or of its squared deviations from mean (each deviation and its
 * square in FP32), value i into lane i % 16 and the lanes reduced in a fixed order: Java's
 * FloatKernels.sum, which the compiler vectorizes as two 8-lane vectors without reordering.
 */
static inline __attribute__((always_inline)) double qi8_lane_sum(const float *x, int64_t n,
                                                                float mean, int squares) {
    double lanes[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        for (int l = 0; l < 16; l++) {
            float d = x[i + l] - mean;
            lanes[l] += squares ? (double) (d * d) : (double) x[i + l];
        }
    }
    for (; i < n; i++) {
        float d = x[i] - mean;
        lanes[i % 16] += squares ? (double) (d * d) : (double) x[i];
    }
    double v[8];
    for (int l = 0; l < 8; l++) {
        v[l] = lanes[l] + lanes[l + 8];
    }
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* y = LayerNorm(a [+ b]) over rows of n values, the sum a + b into sum when not NULL. */
void qi8_layer_norm(int32_t isa, const float *a, const float *b, float *sum, float *y,
                    int64_t rows, int32_t n, const float *gamma, const float *beta,
                    float epsilon);

/*
 * Multi-head attention over FP32: Q rows (b, s) at q + (b seq + s) q_stride, head h at + h size;
 * keys and values [batch, heads, total, size]; the mask (an additive FP32 one, or a byte one
 * choosing the score or fill) broadcast by mask_strides over [batch, heads, seq, total], or
 * none; out [batch, seq, heads, size]; only the heads from first to last (counted b * heads + h)
 * are run, so that threads can share the work. See qi8_attention.c.
 */
typedef struct {
    const float *q;
    int64_t q_stride;
    int64_t batch, seq, heads, size, total;
    const float *keys;
    const float *values;
    const float *mask_add;
    const uint8_t *mask_allowed;
    const int64_t *mask_strides;
    float fill;
    float scale;
    int32_t divide;
    float *out;
    int64_t first, last; /* the heads b * heads + h this call runs, [first, last) */
} qi8_attention_args;

/* Runs the attention; 0, or -1 without memory for the scratch rows. */
int32_t qi8_attention(int32_t isa, const qi8_attention_args *at);

/* Max pooling windows: the sizes that qi8_max_pool takes, in this order. */
enum {
    QI8_POOL_IN_H, QI8_POOL_IN_W, QI8_POOL_OUT_H, QI8_POOL_OUT_W, QI8_POOL_KERNEL_H,
    QI8_POOL_KERNEL_W, QI8_POOL_STRIDE_H, QI8_POOL_STRIDE_W, QI8_POOL_PAD_H, QI8_POOL_PAD_W,
    QI8_POOL_SIZES
};

/* FP32 max pooling of NCHW planes (see qi8_pool.c); column holds in_w floats of scratch. */
void qi8_max_pool(int32_t isa, const float *in, float *out, int64_t planes, const int32_t *g,
                  float *column);

/* Convolution windows: the sizes that qi8_pack_patches takes, in this order. */
enum {
    QI8_CONV_CHANNELS, QI8_CONV_IN_H, QI8_CONV_IN_W, QI8_CONV_KERNEL_H, QI8_CONV_KERNEL_W,
    QI8_CONV_STRIDE_H, QI8_CONV_STRIDE_W, QI8_CONV_PAD_H, QI8_CONV_PAD_W, QI8_CONV_DILATION_H,
    QI8_CONV_DILATION_W, QI8_CONV_OUT_H, QI8_CONV_OUT_W, QI8_CONV_SIZES
};

/* im2col straight into the packed layout (see qi8_conv.c), interleaving with the ISA's vectors. */
void qi8_patches(int32_t isa, const uint8_t *in, int32_t signed_in, int32_t zero,
                 const int32_t *w, uint8_t *out, uint8_t *rows);
/*
 * The patches as a row-major N x K matrix, K in kh, kw, c order, from an NCHW or a channels-last
 * input (see qi8_conv.c); 0 or -1.
 */
int32_t qi8_patch_matrix(const uint8_t *in, int32_t zero, const int32_t *w, int32_t channels_last,
                         uint8_t *out);
/* dst[j][i] = src[i][j] for a rows x cols byte matrix, 16 x 16 blocks (see qi8_conv.c). */
void qi8_transpose_byte_matrix(const uint8_t *src, int64_t rows, int64_t cols, uint8_t *dst);
/* dst[c][r] = activation(src[r * ld + c] + residual[c][r]), rows x cols (see qi8_conv.c). */
void qi8_transpose_output(const float *src, int64_t ld, int64_t rows, int64_t cols,
                          const float *residual, int32_t activation, float *dst);
/* dst[i] = src[i * stride] for i < count, stride 1 or 2. */
void qi8_copy_strided_avx512(const uint8_t *src, int32_t stride, uint8_t *dst, int32_t count);
/* 4 full panels (64 columns from p) of one k-group of patch rows r, with their column sums. */
void qi8_interleave64_avx512(const uint8_t *const r[4], int32_t p, int32_t signed_in,
                             uint8_t *dst, int64_t panel_bytes, uint32_t *colsum);

#endif
