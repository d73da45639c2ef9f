package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.types.Shape;

import org.quantint8.onnx.OnnxNode;

import java.util.Arrays;

/**
 * The window of an ONNX convolution node over NCHW (or NCL) data, resolved from its attributes
 * ({@code auto_pad}, {@code pads}, {@code strides}, {@code dilations}, {@code group}, {@code
 * kernel_shape}) and the shapes of input and weight. A 1-D convolution is described as a 2-D one
 * of height 1.
 *
 * @param strides vertical and horizontal stride
 * @param dilations vertical and horizontal dilation
 * @param padBegin padding above and left
 * @param padEnd padding below and right
 * @param group the number of groups
 * @param spatialRank 1 or 2, the rank of the node's own spatial dimensions
 */
record QuantizedConvGeometry(
        int[] strides, int[] dilations, int[] padBegin, int[] padEnd, int group,
        int spatialRank) {

    /**
     * Resolves the window of a node.
     *
     * @param s the run, for messages
     * @param node the node, for its attributes
     * @param x the input shape [N, C, ...]
     * @param w the weight shape [M, C / group, ...]
     * @return the geometry
     */
    static QuantizedConvGeometry of(QuantizedScope s, OnnxNode node, Shape x, Shape w) {
        int rank = x.dimension() - 2;
        if (rank < 1 || rank > 2) {
            throw s.error("x must be 3-D [N, C, L] or 4-D [N, C, H, W], got shape " + x);
        }
        if (w.dimension() != x.dimension()) {
            throw s.error("w must have the rank of x " + x + ", got shape " + w);
        }
        long group = node.getInt("group", 1);
        if (group < 1 || x.get(1) != w.get(1) * group || w.get(0) % group != 0) {
            throw s.error("x " + x + " and w " + w + " do not fit group " + group + ": need C = "
                    + "w[1] * group and M divisible by group");
        }
        int[] kernel = spatial(w);
        long[] kernelAttr = node.getInts("kernel_shape", null);
        if (kernelAttr != null && !Arrays.equals(kernelAttr, Arrays.stream(kernel)
                .asLongStream().skip(2 - rank).toArray())) {
            throw s.error("kernel_shape " + Arrays.toString(kernelAttr) + " differs from w " + w);
        }
        int[] strides = attribute(s, node, "strides", rank, 1, 1);
        int[] dilations = attribute(s, node, "dilations", rank, 1, 1);
        int[] in = spatial(x);
        int[][] pads = pads(s, node, rank, in, kernel, strides, dilations);
        QuantizedConvGeometry g = new QuantizedConvGeometry(
                strides, dilations, pads[0], pads[1], (int) group, rank);
        for (int d = 0; d < 2; d++) {
            if (g.outputSize(d, in[d], kernel[d]) < 1) {
                throw s.error("kernel " + w + " (dilations " + Arrays.toString(dilations)
                        + ") does not fit x " + x + " with pads " + Arrays.toString(pads[0])
                        + Arrays.toString(pads[1]));
            }
        }
        return g;
    }

    /** Returns whether the padding is the same on both sides of each axis. */
    boolean symmetric() {
        return Arrays.equals(padBegin, padEnd);
    }

    /** Returns the output size along a spatial axis (0 height, 1 width). */
    int outputSize(int axis, int in, int kernel) {
        long span = (long) in + padBegin[axis] + padEnd[axis]
                - (long) dilations[axis] * (kernel - 1) - 1;
        return span < 0 ? 0 : Math.toIntExact(span / strides[axis] + 1);
    }

    /** Returns the output shape, [N, M, H', W'] or [N, M, L'], for input x and weight w. */
    Shape outputShape(Shape x, Shape w) {
        int[] in = spatial(x);
        int[] kernel = spatial(w);
        int width = outputSize(1, in[1], kernel[1]);
        return x.dimension() == 4
                ? new Shape(x.get(0), w.get(0), outputSize(0, in[0], kernel[0]), width)
                : new Shape(x.get(0), w.get(0), width);
    }

    /** The height and width of a shape [N, C, H, W] or [N, C, L] (height 1). */
    static int[] spatial(Shape shape) {
        int n = shape.dimension();
        int h = n == 4 ? Math.toIntExact(shape.get(2)) : 1;
        return new int[] {h, Math.toIntExact(shape.get(n - 1))};
    }

    /** Reads a per-axis attribute, each value at least {@code min}, as [height, width]. */
    private static int[] attribute(
            QuantizedScope s, OnnxNode node, String name, int rank, int fallback, int min) {
        long[] values = node.getInts(name, null);
        if (values == null) {
            return new int[] {fallback, fallback};
        }
        if (values.length != rank) {
            throw s.error(name + " must have " + rank + " values, got " + Arrays.toString(values));
        }
        for (long v : values) {
            if (v < min || v > Integer.MAX_VALUE) {
                throw s.error(name + " must be at least " + min + ", got "
                        + Arrays.toString(values));
            }
        }
        return rank == 2
                ? new int[] {(int) values[0], (int) values[1]}
                : new int[] {fallback, (int) values[0]};
    }

    /** Returns {begin[2], end[2]} from {@code pads} or {@code auto_pad}. */
    private static int[][] pads(QuantizedScope s, OnnxNode node, int rank, int[] in, int[] kernel,
            int[] strides, int[] dilations) {
        String autoPad = node.getString("auto_pad", "NOTSET");
        switch (autoPad) {
            case "NOTSET" -> {
                long[] values = node.getInts("pads", new long[2 * rank]);
                if (values.length != 2 * rank || Arrays.stream(values).anyMatch(v -> v < 0)) {
                    throw s.error("pads must have " + 2 * rank + " non-negative values, got "
                            + Arrays.toString(values));
                }
                int[] begin = new int[2];
                int[] end = new int[2];
                for (int i = 0; i < rank; i++) {
                    begin[i + 2 - rank] = Math.toIntExact(values[i]);
                    end[i + 2 - rank] = Math.toIntExact(values[i + rank]);
                }
                return new int[][] {begin, end};
            }
            case "VALID" -> {
                return new int[][] {new int[2], new int[2]};
            }
            case "SAME_UPPER", "SAME_LOWER" -> {
                return samePads(in, kernel, strides, dilations, autoPad.equals("SAME_LOWER"));
            }
            default -> throw s.error("auto_pad " + autoPad + " is not one of NOTSET, VALID,"
                    + " SAME_UPPER, SAME_LOWER");
        }
    }

    /** SAME_*: output size ceil(in / stride); the odd pad goes at the end (UPPER) or begin. */
    private static int[][] samePads(
            int[] in, int[] kernel, int[] strides, int[] dilations, boolean lower) {
        int[] begin = new int[2];
        int[] end = new int[2];
        for (int d = 0; d < 2; d++) {
            long out = Math.ceilDiv(in[d], strides[d]);
            long needed = (out - 1) * strides[d] + (long) dilations[d] * (kernel[d] - 1) + 1 - in[d];
            int total = Math.toIntExact(Math.max(0, needed));
            begin[d] = lower ? total - total / 2 : total / 2;
            end[d] = total - begin[d];
        }
        return new int[][] {begin, end};
    }
}
