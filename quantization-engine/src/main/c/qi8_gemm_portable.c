/*
 * The portable GEMM tile: plain C on the packed layout, for CPUs without AVX2 and as a
 * readable statement of what the vector kernels compute. Compiled for the baseline ISA.
 */
#include "qi8.h"

/* Stores one row of a panel after the zero-point compensation (see qi8.h). */
static void store_row(const qi8_tile *t, int32_t m, int32_t col, const uint32_t acc[QI8_PANEL]) {
    const qi8_packed *b = t->b;
    uint32_t rs = (uint32_t) t->rowsum[m - t->m0];
    uint32_t za = (uint32_t) t->za[m - t->m0];
    for (int32_t j = 0; j < QI8_PANEL && col + j < t->n1; j++) {
        uint32_t v = acc[j] - (uint32_t) b->zb[col + j] * rs - za * (uint32_t) b->colcomp[col + j];
        int32_t out = (int32_t) v;
        memcpy(t->c + (int64_t) m * t->ldc + col + j, &out, 4); /* C may be unaligned */
    }
}

void qi8_tile_portable(const qi8_tile *t) {
    const qi8_packed *b = t->b;
    int64_t groups = (b->k + 3) / 4;
    for (int32_t m = t->m0; m < t->m1; m++) {
        const uint8_t *row = t->a + (int64_t) m * b->k;
        for (int32_t col = t->n0; col < t->n1; col += QI8_PANEL) {
            const int8_t *panel = b->panels + (col / QI8_PANEL) * b->panel_bytes;
            /* Unsigned accumulators: wrap-around is defined, and equals Java's int overflow. */
            uint32_t acc[QI8_PANEL] = {0};
            for (int64_t g = 0; g < groups; g++) {
                uint32_t w = qi8_load_group(row, g, b->k, (uint32_t) t->flip);
                const int8_t *grp = panel + g * 64;
                for (int32_t j = 0; j < QI8_PANEL; j++) {
                    for (int32_t q = 0; q < 4; q++) {
                        uint32_t av = (w >> (8 * q)) & 0xFF;
                        acc[j] += av * (uint32_t) (int32_t) grp[4 * j + q];
                    }
                }
            }
            store_row(t, m, col, acc);
        }
    }
}
