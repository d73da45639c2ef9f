package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

import org.quantint8.onnx.OnnxNode;

import java.util.Arrays;

/**
 * The padding of a convolution or pooling node ({@code pads} or {@code auto_pad}), split into the
 * symmetric part DJL's operators take and an explicit pad for the rest.
 *
 * @param symmetric the padding applied on both sides of each spatial axis
 * @param extra the padding added before the operator ({@code begin..., end...}), or {@code null}
 */
record SpatialPadding(Shape symmetric, long[] extra) {

    /**
     * Computes a node's padding.
     *
     * @param node the node, for {@code pads} and {@code auto_pad}
     * @param input the input shape, N, C and the spatial axes
     * @param kernel the kernel size per spatial axis
     * @param strides the strides
     * @param dilations the dilations
     * @return the padding
     * @throws IllegalArgumentException if {@code pads} has the wrong length or a negative value
     */
    static SpatialPadding of(
            OnnxNode node, Shape input, long[] kernel, long[] strides, long[] dilations) {
        int n = kernel.length;
        String autoPad = node.getString("auto_pad", "NOTSET");
        long[] pads = new long[2 * n];
        if (autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER")) {
            for (int i = 0; i < n; i++) {
                long in = input.get(i + 2);
                long out = (in + strides[i] - 1) / strides[i];
                long total =
                        Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in);
                long small = total / 2;
                pads[i] = autoPad.equals("SAME_UPPER") ? small : total - small;
                pads[i + n] = total - pads[i];
            }
        } else if (!autoPad.equals("VALID")) {
            long[] given = node.getInts("pads", pads);
            if (given.length != 2 * n || Arrays.stream(given).anyMatch(p -> p < 0)) {
                throw new IllegalArgumentException(
                        "pads " + Arrays.toString(given) + " do not fit " + n + " spatial axes");
            }
            pads = given;
        }
        long[] symmetric = new long[n];
        boolean asymmetric = false;
        for (int i = 0; i < n; i++) {
            symmetric[i] = Math.min(pads[i], pads[i + n]);
            asymmetric |= pads[i] != pads[i + n];
        }
        if (!asymmetric) {
            return new SpatialPadding(new Shape(symmetric), null);
        }
        long[] extra = new long[2 * n];
        for (int i = 0; i < n; i++) {
            extra[i] = pads[i] - symmetric[i];
            extra[i + n] = pads[i + n] - symmetric[i];
        }
        return new SpatialPadding(new Shape(symmetric), extra);
    }

    /**
     * Applies the explicit part of the padding, if any.
     *
     * @param x the input, N, C and the spatial axes
     * @param value the padding value
     * @return a padded array, or {@code x} itself if there is no explicit part
     */
    NDArray padExplicitly(NDArray x, double value) {
        if (extra == null) {
            return x;
        }
        int n = extra.length / 2;
        // DJL's pad takes (begin, end) pairs starting from the last axis.
        long[] widths = new long[2 * n];
        for (int i = 0; i < n; i++) {
            int axis = n - 1 - i;
            widths[2 * i] = extra[axis];
            widths[2 * i + 1] = extra[axis + n];
        }
        return x.pad(new Shape(widths), value);
    }
}
