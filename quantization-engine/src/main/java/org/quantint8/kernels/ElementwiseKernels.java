package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Element-wise quantization loops. Most are bound by memory, not arithmetic, so plain Java serves
 * them well. The two of dynamic quantization, run on every activation (the range scan and the
 * per-tensor 8-bit quantization), go through the selected {@link Int8Kernels}, whose C loops run
 * several times faster than C2's. Every loop walks a {@link ChannelLayout} so that per-channel
 * parameters cost nothing extra; the caller checks that the memory holds {@code
 * layout.elements()} values.
 */
public final class ElementwiseKernels {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ElementwiseKernels() {}

    /**
     * Quantizes FP32 values. NaN values are written as the zero point and counted, so that the
     * caller can refuse them.
     *
     * @param src the FP32 input
     * @param dst the codes
     * @param type the code storage
     * @param layout the channel layout of both tensors
     * @param scales one scale per channel
     * @param zeroPoints one zero point per channel
     * @return the number of NaN inputs
     */
    public static long quantize(
            MemorySegment src,
            MemorySegment dst,
            QuantizedStorage type,
            ChannelLayout layout,
            float[] scales,
            int[] zeroPoints) {
        if (layout.channels() == 1 && type.bytes() == 1) {
            long count = layout.elements();
            checkBytes("quantize", src, 4 * count, dst, count);
            return Int8Kernels.best().quantizePerTensor8(src, dst, type, count, scales[0],
                    zeroPoints[0]);
        }
        long nans = 0;
        long e = 0;
        for (long o = 0; o < layout.outer(); o++) {
            for (int c = 0; c < layout.channels(); c++) {
                float scale = scales[c];
                int zero = zeroPoints[c];
                for (long i = 0; i < layout.inner(); i++, e++) {
                    float x = src.get(F32, e * 4);
                    if (x != x) {
                        nans++;
                    }
                    type.set(dst, e, QuantMath.quantize(x, scale, zero, type.min(), type.max()));
                }
            }
        }
        return nans;
    }

    /** Values per chunk of the per-tensor path: large enough to amortize, small enough for L1. */
    private static final int CHUNK = 4096;

    /**
     * Per-tensor quantization to 8 bits in Java, the reference of {@link
     * Int8Kernels#quantizePerTensor8} and the path without native kernels (a third of a
     * MiniLM forward pass when it ran through {@link QuantMath#quantize} value by value). The
     * arithmetic is the same, written without branches over heap chunks so that C2 vectorizes
     * it: {@code rint(x / scale) + zeroPoint}, clamped; NaN values are fixed up to the zero point
     * in a second, rarely taken pass. Measured: MiniLM at sequence 128 from 43 to 31 ms.
     */
    static long quantizePerTensor8InJava(MemorySegment src, MemorySegment dst,
            QuantizedStorage type, long count, float scale, int zero) {
        float[] in = new float[(int) Math.min(CHUNK, count)];
        byte[] out = new byte[in.length];
        // FP32 throughout, twice the lanes of double: rint of an FP32 quotient is an FP32
        // integer, and adding a zero point of 8 bits is exact below 2^24, beyond which the sum
        // saturates as the double one does.
        float min = type.min();
        float max = type.max();
        float zeroPoint = zero;
        long nans = 0;
        for (long offset = 0; offset < count; offset += CHUNK) {
            int n = (int) Math.min(CHUNK, count - offset);
            MemorySegment.copy(src, F32, offset * 4, in, 0, n);
            for (int i = 0; i < n; i++) {
                float q = (float) Math.rint(in[i] / scale) + zeroPoint;
                out[i] = (byte) (int) Math.min(Math.max(q, min), max);
            }
            for (int i = 0; i < n; i++) {
                if (in[i] != in[i]) {
                    nans++;
                    out[i] = (byte) zero; // as the general loop writes it
                }
            }
            MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, offset, n);
        }
        return nans;
    }

    /**
     * Returns the range of FP32 values, or where the first NaN or infinite value is, with the
     * selected kernels ({@link Int8Kernels#range}).
     *
     * @param src the FP32 values
     * @param count how many values, from the start of {@code src}
     * @return their range, {@code [0, 0]} for no values
     * @throws IllegalArgumentException if {@code src} holds fewer than {@code count} values
     */
    public static FloatRange range(MemorySegment src, long count) {
        checkBytes("range", src, 4 * count, null, 0);
        return Int8Kernels.best().range(src, count);
    }

    private static void checkBytes(String op, MemorySegment src, long srcBytes,
            MemorySegment dst, long dstBytes) {
        if (srcBytes < 0 || src.byteSize() < srcBytes) {
            throw new IllegalArgumentException(op + ": input needs " + srcBytes + " bytes, has "
                    + src.byteSize());
        }
        if (dst != null && dst.byteSize() < dstBytes) {
            throw new IllegalArgumentException(op + ": output needs " + dstBytes + " bytes, has "
                    + dst.byteSize());
        }
    }

    /**
     * The Java reference of {@link #range} (and the path without native kernels). The hot loop
     * has neither branch nor check: {@link Math#min} and {@link Math#max} propagate NaN and keep
     * infinities, so a chunk reduced to finite bounds holds only finite values, and C2
     * vectorizes the two reductions (a third of the time of the per-value {@link
     * Float#isFinite} loop it replaces). Only a chunk with non-finite bounds is scanned again,
     * to name the value.
     *
     * @param src the FP32 values
     * @param count how many values, from the start of {@code src}
     * @return their range, {@code [0, 0]} for no values
     */
    static FloatRange rangeInJava(MemorySegment src, long count) {
        float[] in = new float[(int) Math.min(CHUNK, count)];
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (long offset = 0; offset < count; offset += CHUNK) {
            int n = (int) Math.min(CHUNK, count - offset);
            MemorySegment.copy(src, F32, offset * 4, in, 0, n);
            float chunkMin = Float.POSITIVE_INFINITY;
            float chunkMax = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                chunkMin = Math.min(chunkMin, in[i]);
                chunkMax = Math.max(chunkMax, in[i]);
            }
            if (!Float.isFinite(chunkMin) || !Float.isFinite(chunkMax)) {
                for (int i = 0; i < n; i++) {
                    if (!Float.isFinite(in[i])) {
                        return new FloatRange(0f, 0f, offset + i, in[i]);
                    }
                }
            }
            min = Math.min(min, chunkMin);
            max = Math.max(max, chunkMax);
        }
        return count == 0 ? new FloatRange(0f, 0f, -1, 0f) : new FloatRange(min, max, -1, 0f);
    }

    /**
     * Dequantizes codes into FP32 values.
     *
     * @param src the codes
     * @param type the code storage
     * @param dst the FP32 output
     * @param layout the channel layout of both tensors
     * @param scales one scale per channel
     * @param zeroPoints one zero point per channel
     */
    public static void dequantize(
            MemorySegment src,
            QuantizedStorage type,
            MemorySegment dst,
            ChannelLayout layout,
            float[] scales,
            int[] zeroPoints) {
        long e = 0;
        for (long o = 0; o < layout.outer(); o++) {
            for (int c = 0; c < layout.channels(); c++) {
                float scale = scales[c];
                int zero = zeroPoints[c];
                for (long i = 0; i < layout.inner(); i++, e++) {
                    dst.set(F32, e * 4, QuantMath.dequantize(type.get(src, e), scale, zero));
                }
            }
        }
    }

    /**
     * Re-expresses codes under new quantization parameters, through their real values.
     *
     * @param src the input codes
     * @param srcType the input storage
     * @param srcScales the input scales, one per channel
     * @param srcZeros the input zero points, one per channel
     * @param dst the output codes
     * @param dstType the output storage
     * @param dstScales the output scales, one per channel
     * @param dstZeros the output zero points, one per channel
     * @param layout the channel layout of both tensors
     */
    public static void requantize(
            MemorySegment src,
            QuantizedStorage srcType,
            float[] srcScales,
            int[] srcZeros,
            MemorySegment dst,
            QuantizedStorage dstType,
            float[] dstScales,
            int[] dstZeros,
            ChannelLayout layout) {
        long e = 0;
        for (long o = 0; o < layout.outer(); o++) {
            for (int c = 0; c < layout.channels(); c++) {
                for (long i = 0; i < layout.inner(); i++, e++) {
                    float real = QuantMath.dequantize(srcType.get(src, e), srcScales[c], srcZeros[c]);
                    int q =
                            QuantMath.quantize(
                                    real, dstScales[c], dstZeros[c], dstType.min(), dstType.max());
                    dstType.set(dst, e, q);
                }
            }
        }
    }

    /**
     * Clamps codes to per-channel bounds; with the zero point as lower bound this is ReLU.
     *
     * @param src the input codes
     * @param dst the output codes (may be {@code src})
     * @param type the storage of both
     * @param layout the channel layout
     * @param lower the smallest code allowed, per channel
     * @param upper the largest code allowed, per channel
     */
    public static void clamp(
            MemorySegment src,
            MemorySegment dst,
            QuantizedStorage type,
            ChannelLayout layout,
            int[] lower,
            int[] upper) {
        long e = 0;
        for (long o = 0; o < layout.outer(); o++) {
            for (int c = 0; c < layout.channels(); c++) {
                int lo = lower[c];
                int hi = upper[c];
                for (long i = 0; i < layout.inner(); i++, e++) {
                    type.set(dst, e, Math.clamp(type.get(src, e), lo, hi));
                }
            }
        }
    }
}
