package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The sliding window of one group of a 2-D convolution over one NCHW image: what {@link
 * Int8Kernels#packPatches} turns into the patches operand of a GEMM, {@code N = outH * outW}
 * positions by {@code K = channels * kernelH * kernelW} taps (channel, then kernel row, then
 * kernel column: the order of an ONNX or DJL weight).
 *
 * @param channels the input channels of the group
 * @param inH the input height
 * @param inW the input width
 * @param kernelH the kernel height
 * @param kernelW the kernel width
 * @param strideH the vertical stride
 * @param strideW the horizontal stride
 * @param padH the padding above and below
 * @param padW the padding left and right
 * @param dilationH the vertical dilation
 * @param dilationW the horizontal dilation
 * @param outH the output height
 * @param outW the output width
 */
public record ConvWindow(
        int channels,
        int inH,
        int inW,
        int kernelH,
        int kernelW,
        int strideH,
        int strideW,
        int padH,
        int padW,
        int dilationH,
        int dilationW,
        int outH,
        int outW) {

    /** Validates that every size is positive (padding non-negative) and the products fit. */
    public ConvWindow {
        int[] positive = {channels, inH, inW, kernelH, kernelW, strideH, strideW, dilationH,
            dilationW, outH, outW};
        for (int v : positive) {
            if (v < 1) {
                throw new IllegalArgumentException("Convolution window sizes must be positive"
                        + " (padding non-negative), got " + describe(channels, inH, inW,
                        kernelH, kernelW, strideH, strideW, padH, padW, outH, outW));
            }
        }
        if (padH < 0 || padW < 0) {
            throw new IllegalArgumentException("Convolution padding must be non-negative, got ("
                    + padH + ", " + padW + ")");
        }
        if (outH != outputSize(inH, kernelH, strideH, padH, dilationH)
                || outW != outputSize(inW, kernelW, strideW, padW, dilationW)) {
            throw new IllegalArgumentException("Convolution output size does not follow from"
                    + " the window: " + describe(channels, inH, inW, kernelH, kernelW, strideH,
                    strideW, padH, padW, outH, outW) + ", expected "
                    + outputSize(inH, kernelH, strideH, padH, dilationH) + "x"
                    + outputSize(inW, kernelW, strideW, padW, dilationW));
        }
        if ((long) channels * kernelH * kernelW > Integer.MAX_VALUE
                || (long) outH * outW > Integer.MAX_VALUE
                || (long) channels * inH * inW > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Convolution window too large for one GEMM: "
                    + describe(channels, inH, inW, kernelH, kernelW, strideH, strideW, padH,
                    padW, outH, outW));
        }
    }

    /**
     * Returns N, the output positions: one row of the patches operand each.
     *
     * @return {@code outH * outW}
     */
    public int positions() {
        return outH * outW;
    }

    /**
     * Returns K, the length of one patch.
     *
     * @return {@code channels * kernelH * kernelW}
     */
    public int patchLength() {
        return channels * kernelH * kernelW;
    }

    /**
     * Returns whether the window is 1x1, stride 1 and unpadded: each output position reads one
     * input pixel, its own, so the patches are the input's pixels themselves.
     *
     * @return {@code true} for such a window
     */
    public boolean isDirect() {
        return kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0
                && padW == 0 && outH == inH && outW == inW;
    }

    /**
     * Returns the bytes of 8-bit input the window reads: the group's {@code channels} planes.
     *
     * @return {@code channels * inH * inW}
     */
    public long inputBytes() {
        return (long) channels * inH * inW;
    }

    /**
     * Reorders rows of patch length from channel-major order (c, kh, kw: an ONNX weight's,
     * {@link #im2col}'s) to tap-major order (kh, kw, c), in which {@link Int8Kernels#patchRows}
     * writes the patches: every tap of a position is then one run of the channels.
     *
     * @param src the rows in channel-major order, {@code rows * patchLength()} bytes
     * @param rows how many rows
     * @return the rows in tap-major order
     */
    public byte[] toTapMajor(MemorySegment src, int rows) {
        int k = patchLength();
        int taps = kernelH * kernelW;
        byte[] in = src.asSlice(0, (long) rows * k).toArray(ValueLayout.JAVA_BYTE);
        byte[] out = new byte[in.length];
        for (int r = 0; r < rows; r++) {
            int base = r * k;
            for (int c = 0; c < channels; c++) {
                for (int t = 0; t < taps; t++) {
                    out[base + t * channels + c] = in[base + c * taps + t];
                }
            }
        }
        return out;
    }

    /**
     * Returns the sizes in the order of the C interface ({@code QI8_CONV_*} in {@code qi8.h}).
     *
     * @return 13 ints
     */
    public int[] toArray() {
        return new int[] {channels, inH, inW, kernelH, kernelW, strideH, strideW, padH, padW,
            dilationH, dilationW, outH, outW};
    }

    /**
     * The Java im2col: writes the patches as a row-major {@code positions x patchLength} matrix,
     * taps in the padding set to {@code pad} (the input's zero point, which stands for real
     * zero). Built one output row at a time, so that each tap copies a run of an input row and
     * the padding bounds are resolved per run, not per byte.
     *
     * @param input the group's {@code channels} planes of 8-bit codes
     * @param pad the padding byte
     * @return the patches
     * @throws IllegalArgumentException if the input is too small
     */
    public byte[] im2col(MemorySegment input, byte pad) {
        if (input.byteSize() < inputBytes()) {
            throw new IllegalArgumentException("im2col: " + this + " reads " + inputBytes()
                    + " input bytes, the input has " + input.byteSize());
        }
        byte[] in = input.asSlice(0, inputBytes()).toArray(ValueLayout.JAVA_BYTE);
        int k = patchLength();
        byte[] patches = new byte[positions() * k];
        int plane = inH * inW;
        for (int oh = 0; oh < outH; oh++) {
            int rowBase = oh * outW * k;
            for (int c = 0; c < channels; c++) {
                for (int kh = 0; kh < kernelH; kh++) {
                    int y = oh * strideH - padH + kh * dilationH;
                    int rowStart = y < 0 || y >= inH ? -1 : c * plane + y * inW;
                    for (int kw = 0; kw < kernelW; kw++) {
                        int column = (c * kernelH + kh) * kernelW + kw;
                        tap(in, rowStart, kw * dilationW - padW, pad, patches,
                                rowBase + column, k);
                    }
                }
            }
        }
        return patches;
    }

    /**
     * Writes one tap (one patch column) of every position of an output row: input {@code x = ow
     * * strideW + offset} of the input row at {@code rowStart} (-1: a padding row).
     */
    private void tap(byte[] in, int rowStart, int offset, byte pad, byte[] out, int first,
            int step) {
        // The positions whose x falls inside the row: x >= 0 and x < inW.
        int begin = rowStart < 0 ? outW
                : Math.min(outW, Math.max(0, Math.ceilDiv(-offset, strideW)));
        int end = rowStart < 0 ? outW
                : Math.max(begin, Math.min(outW, Math.ceilDiv(inW - offset, strideW)));
        int o = first;
        int ow = 0;
        for (; ow < begin; ow++, o += step) {
            out[o] = pad;
        }
        int x = rowStart + ow * strideW + offset;
        for (; ow < end; ow++, o += step, x += strideW) {
            out[o] = in[x];
        }
        for (; ow < outW; ow++, o += step) {
            out[o] = pad;
        }
    }

    /** The output length of a window sliding over {@code in} values (0 or less: none fit). */
    private static long outputSize(int in, int kernel, int stride, int pad, int dilation) {
        return Math.floorDiv((long) in + 2L * pad - (long) dilation * (kernel - 1) - 1, stride)
                + 1;
    }

    private static String describe(int channels, int inH, int inW, int kernelH, int kernelW,
            int strideH, int strideW, int padH, int padW, int outH, int outW) {
        return channels + " channels of " + inH + "x" + inW + ", kernel " + kernelH + "x"
                + kernelW + ", stride (" + strideH + ", " + strideW + "), padding (" + padH + ", "
                + padW + ") -> " + outH + "x" + outW;
    }
}
