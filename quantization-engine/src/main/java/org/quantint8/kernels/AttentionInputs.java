package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;

/**
 * The operands of one multi-head attention call ({@link Int8Kernels#attention}), all FP32 in
 * native byte order: per (batch b, head h) and query row s, {@code softmax(mask(q k^T (/ or *)
 * scale)) v} over the {@code total} keys and values of that head.
 *
 * @param q the queries: row (b, s) at value {@code (b seq + s) qStride}, head h from {@code h
 *     size} on within it
 * @param qStride values from one query row to the next
 * @param batch the batch size
 * @param seq the query rows per batch entry
 * @param heads the heads
 * @param size the head size
 * @param total the keys per head (the past and the new ones)
 * @param keys {@code [batch, heads, total, size]}
 * @param values {@code [batch, heads, total, size]}
 * @param maskAdd an additive mask, or null
 * @param maskAllowed a choosing mask (0: the score becomes {@code fill}), or null
 * @param maskStrides the mask's strides over {@code [batch, heads, seq, total]} (0 where it is
 *     broadcast), or null without a mask
 * @param fill the score of a masked position of {@code maskAllowed}
 * @param scale the scale
 * @param divide whether the scores are divided by the scale, else multiplied
 * @param out the context, {@code [batch, seq, heads, size]}
 */
public record AttentionInputs(MemorySegment q, long qStride, long batch, long seq, long heads,
        long size, long total, MemorySegment keys, MemorySegment values, float[] maskAdd,
        byte[] maskAllowed, long[] maskStrides, float fill, float scale, boolean divide,
        MemorySegment out) {

    /**
     * Checks every size and bound, so that no loop reads or writes outside its operand.
     *
     * @throws IllegalArgumentException naming the operand that does not fit
     */
    public AttentionInputs {
        if (batch < 0 || seq < 0 || heads < 0 || size < 1 || total < 1 || qStride < heads * size) {
            throw new IllegalArgumentException("attention: batch " + batch + ", seq " + seq
                    + ", heads " + heads + ", head size " + size + ", total " + total
                    + " and query stride " + qStride + " do not make an attention");
        }
        long rows = batch * seq;
        need("queries", q, rows == 0 ? 0 : ((rows - 1) * qStride + heads * size) * 4);
        long cache = batch * heads * total * size * 4;
        need("keys", keys, cache);
        need("values", values, cache);
        need("output", out, rows * heads * size * 4);
        if (maskAdd != null && maskAllowed != null
                || (maskAdd != null || maskAllowed != null) != (maskStrides != null)) {
            throw new IllegalArgumentException(
                    "attention: one mask at most, and strides exactly with it");
        }
        if (maskStrides != null) {
            long[] dims = {batch, heads, seq, total};
            long last = 0;
            for (int i = 0; i < 4; i++) {
                if (maskStrides.length != 4 || maskStrides[i] < 0) {
                    throw new IllegalArgumentException("attention: the mask needs 4 strides of at"
                            + " least 0, got " + java.util.Arrays.toString(maskStrides));
                }
                last += Math.max(dims[i] - 1, 0) * maskStrides[i];
            }
            long length = maskAdd != null ? maskAdd.length : maskAllowed.length;
            if (rows > 0 && heads > 0 && length <= last) {
                throw new IllegalArgumentException("attention: the mask's strides reach value "
                        + last + ", it has " + length);
            }
        }
    }

    private static void need(String what, MemorySegment segment, long bytes) {
        if (segment.byteSize() < bytes) {
            throw new IllegalArgumentException("attention: the " + what + " need " + bytes
                    + " bytes, have " + segment.byteSize());
        }
    }
}
