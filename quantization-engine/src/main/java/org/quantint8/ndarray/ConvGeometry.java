package org.quantint8.ndarray;

import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.ConvWindow;

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

        /** The window of one group of one image, what the kernels pack into patches. */
        ConvWindow window() {
            return new ConvWindow(groupInChannels, inH, inW, kernelH, kernelW, g.strideH(),
                    g.strideW(), g.padH(), g.padW(), g.dilationH(), g.dilationW(), outH, outW);
        }
    }
}
