package org.quantint8.ndarray;

import ai.djl.ndarray.types.Shape;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Stride, padding, dilation and groups of a 2-D convolution or pooling window, as DJL passes them
 * ({@code Shape}s of two values, or empty for the defaults 1, 0 and 1).
 *
 * @param op the operator name, for messages
 * @param strideH the vertical stride
 * @param strideW the horizontal stride
 * @param padH the padding above and below
 * @param padW the padding left and right
 * @param dilationH the vertical dilation
 * @param dilationW the horizontal dilation
 * @param groups the number of groups
 */
record ConvGeometry(
        String op,
        int strideH,
        int strideW,
        int padH,
        int padW,
        int dilationH,
        int dilationW,
        int groups) {

    ConvGeometry {
        if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1) {
            throw new IllegalArgumentException(
                    op + ": stride and dilation must be positive, got stride (" + strideH + ", "
                            + strideW + ") dilation (" + dilationH + ", " + dilationW + ")");
        }
        if (padH < 0 || padW < 0) {
            throw new IllegalArgumentException(
                    op + ": padding must be non-negative, got (" + padH + ", " + padW + ")");
        }
        if (groups < 1) {
            throw new IllegalArgumentException(op + ": groups must be positive, got " + groups);
        }
    }

    static ConvGeometry of(String op, Shape stride, Shape padding, Shape dilation, int groups) {
        int[] s = pair(op, "stride", stride, 1);
        int[] p = pair(op, "padding", padding, 0);
        int[] d = pair(op, "dilation", dilation, 1);
        return new ConvGeometry(op, s[0], s[1], p[0], p[1], d[0], d[1], groups);
    }

    private static int[] pair(String op, String name, Shape value, int fallback) {
        if (value == null || value.dimension() == 0) {
            return new int[] {fallback, fallback};
        }
        if (value.dimension() != 2) {
            throw new IllegalArgumentException(
                    op + ": " + name + " must have 2 values for a 2-D operation, got " + value);
        }
        return new int[] {Math.toIntExact(value.get(0)), Math.toIntExact(value.get(1))};
    }

    /** Resolves the sizes of a convolution of an NCHW input with an [OC, IC/g, KH, KW] weight. */
    Sizes resolve(Shape input, Shape weight) {
        if (input.dimension() != 4) {
            throw new IllegalArgumentException(
                    op + ": input must be 4-D NCHW, got shape " + input);
        }
        int channels = Math.toIntExact(input.get(1));
        int outChannels = Math.toIntExact(weight.get(0));
        int groupIn = Math.toIntExact(weight.get(1));
        if ((long) groupIn * groups != channels || outChannels % groups != 0) {
            throw new IllegalArgumentException(
                    op + ": input " + input + " and weight " + weight + " do not fit " + groups
                            + " group(s): need input channels = weight[1] * groups and"
                            + " weight[0] divisible by groups");
        }
        int kh = Math.toIntExact(weight.get(2));
        int kw = Math.toIntExact(weight.get(3));
        int h = Math.toIntExact(input.get(2));
        int w = Math.toIntExact(input.get(3));
        int outH = outputSize(h, kh, strideH, padH, dilationH, false);
        int outW = outputSize(w, kw, strideW, padW, dilationW, false);
        if (outH < 1 || outW < 1) {
            throw new IllegalArgumentException(
                    op + ": kernel " + kh + "x" + kw + " does not fit input " + input
                            + " with padding (" + padH + ", " + padW + ")");
        }
        int batch = Math.toIntExact(input.get(0));
        return new Sizes(this, batch, channels, h, w, outChannels, groupIn, kh, kw, outH, outW);
    }

    static int outputSize(int in, int k, int stride, int pad, int dilation, boolean ceil) {
        long span = (long) in + 2L * pad - (long) dilation * (k - 1) - 1;
        if (span < 0) {
            return 0;
        }
        long out = (ceil ? Math.ceilDiv(span, stride) : span / stride) + 1;
        // In ceil mode the last window must start inside the input or its left padding.
        if (ceil && (out - 1) * stride >= (long) in + pad) {
            out--;
        }
        return Math.toIntExact(out);
    }

    /** Channels a 1x1 im2col transposes together: 64 bytes, one cache line per position. */
    private static final int CHANNEL_RUN = 64;

    /** The resolved sizes of one convolution. */
    record Sizes(
            ConvGeometry g,
            int batch,
            int inChannels,
            int inH,
            int inW,
            int outChannels,
            int groupInChannels,
            int kernelH,
            int kernelW,
            int outH,
            int outW) {

        int groups() {
            return g.groups();
        }

        Shape outputShape() {
            return new Shape(batch, outChannels, outH, outW);
        }

        /**
         * Writes the receptive field of every output position of one batch item and group as a
         * row of {@code patches}; taps in the padding get the input's zero point, which stands
         * for real zero.
         *
         * <p>Built one output row at a time in a heap buffer (a few tens of KB, cache-resident)
         * from a heap copy of the group's planes: each tap then reads a contiguous run of the
         * input and the padding bounds are resolved per run, not per byte. Gathering position by
         * position straight from the segment, channel plane after channel plane, took 60% of a
         * ResNet-50 forward pass.
         */
        void im2col(QuantInt8NDArray input, int item, int group, MemorySegment patches) {
            byte pad = (byte) input.getQuantization().getZeroPoint(0);
            int plane = inH * inW;
            long base = ((long) item * inChannels + (long) group * groupInChannels) * plane;
            byte[] in = new byte[groupInChannels * plane];
            MemorySegment.copy(
                    input.getDataSegment(), ValueLayout.JAVA_BYTE, base, in, 0, in.length);
            int patchLength = groupInChannels * kernelH * kernelW;
            byte[] rows = new byte[outW * patchLength];
            boolean pointwise = kernelH == 1 && kernelW == 1 && g.padH() == 0 && g.padW() == 0;
            for (int oh = 0; oh < outH; oh++) {
                if (pointwise) {
                    transposeRow(in, oh * g.strideH() * inW, rows);
                    MemorySegment.copy(rows, 0, patches, ValueLayout.JAVA_BYTE,
                            (long) oh * rows.length, rows.length);
                    continue;
                }
                for (int c = 0; c < groupInChannels; c++) {
                    for (int kh = 0; kh < kernelH; kh++) {
                        int y = oh * g.strideH() - g.padH() + kh * g.dilationH();
                        int rowStart = y < 0 || y >= inH ? -1 : c * plane + y * inW;
                        for (int kw = 0; kw < kernelW; kw++) {
                            int column = (c * kernelH + kh) * kernelW + kw;
                            tap(in, rowStart, kw * g.dilationW() - g.padW(), pad, rows, column,
                                    patchLength);
                        }
                    }
                }
                MemorySegment.copy(rows, 0, patches, ValueLayout.JAVA_BYTE,
                        (long) oh * rows.length, rows.length);
            }
        }

        /**
         * The patches of one output row of a 1x1 convolution without padding: the input row at
         * {@code rowStart} of every channel, transposed to one row per position. A run of
         * channels at a time, so that each position's write is contiguous (one channel at a
         * time wrote with a stride of the channel count, a power of two that thrashes the L1
         * sets).
         */
        private void transposeRow(byte[] in, int rowStart, byte[] rows) {
            int plane = inH * inW;
            int stride = g.strideW();
            for (int c0 = 0; c0 < groupInChannels; c0 += CHANNEL_RUN) {
                int c1 = Math.min(groupInChannels, c0 + CHANNEL_RUN);
                for (int ow = 0; ow < outW; ow++) {
                    int from = rowStart + ow * stride;
                    int to = ow * groupInChannels;
                    for (int c = c0; c < c1; c++) {
                        rows[to + c] = in[c * plane + from];
                    }
                }
            }
        }

        /**
         * Writes one tap (one patch column) of every position of an output row: input {@code x =
         * ow * strideW + offset} of the input row at {@code rowStart} (-1: a padding row).
         */
        private void tap(byte[] in, int rowStart, int offset, byte pad, byte[] rows, int column,
                int patchLength) {
            int stride = g.strideW();
            // The positions whose x falls inside the row: x >= 0 and x < inW.
            int first = rowStart < 0 ? outW
                    : Math.min(outW, Math.max(0, Math.ceilDiv(-offset, stride)));
            int end = rowStart < 0 ? outW
                    : Math.max(first, Math.min(outW, Math.ceilDiv(inW - offset, stride)));
            int o = column;
            int ow = 0;
            for (; ow < first; ow++, o += patchLength) {
                rows[o] = pad;
            }
            int x = rowStart + ow * stride + offset;
            for (; ow < end; ow++, o += patchLength, x += stride) {
                rows[o] = in[x];
            }
            for (; ow < outW; ow++, o += patchLength) {
                rows[o] = pad;
            }
        }
    }
}
