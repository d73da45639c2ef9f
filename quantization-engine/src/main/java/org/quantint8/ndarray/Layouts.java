package org.quantint8.ndarray;

import ai.djl.ndarray.types.Shape;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Shape arithmetic and data movement of the layout-only operations, and how they carry
 * quantization parameters along: a per-tensor quantization survives any layout change; a
 * per-channel one follows its channel axis, and a change that splits or merges that axis is
 * refused rather than silently mislabelling the channels.
 */
final class Layouts {

    private Layouts() {}

    /** Resolves one {@code -1} dimension and checks that the element count is kept. */
    static Shape inferReshape(Shape from, Shape to) {
        long[] dims = to.getShape();
        int unknown = -1;
        long known = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1 && unknown < 0) {
                unknown = i;
            } else if (dims[i] < 0) {
                throw new IllegalArgumentException("reshape: invalid target shape " + to);
            } else {
                known = Math.multiplyExact(known, dims[i]);
            }
        }
        long size = from.size();
        if (unknown >= 0) {
            if (known == 0 || size % known != 0) {
                throw new IllegalArgumentException(
                        "reshape: cannot reshape " + from + " into " + to);
            }
            dims = dims.clone();
            dims[unknown] = size / known;
        } else if (known != size) {
            throw new IllegalArgumentException("reshape: cannot reshape " + from + " into " + to);
        }
        return new Shape(dims);
    }

    static QuantizationParameters quantizationAfterReshape(
            QuantizationParameters q, Shape from, Shape to) {
        if (q == null || !q.isPerChannel()) {
            return q;
        }
        int axis = q.getAxis();
        long prefix = product(from, 0, axis);
        long channels = from.get(axis);
        long running = 1;
        for (int j = 0; j < to.dimension(); j++) {
            if (running == prefix && to.get(j) == channels) {
                return q.withAxis(j);
            }
            running *= to.get(j);
        }
        throw new IllegalArgumentException(
                "reshape: "
                        + from
                        + " -> "
                        + to
                        + " splits or merges per-channel quantization axis "
                        + axis
                        + "; dequantize first");
    }

    /** Returns the product of dimensions {@code [begin, end)}. */
    static long product(Shape shape, int begin, int end) {
        long p = 1;
        for (int i = begin; i < end; i++) {
            p *= shape.get(i);
        }
        return p;
    }

    static int normalizeAxis(String op, int axis, int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException(
                    op + ": axis " + axis + " is out of range for rank " + rank);
        }
        return a;
    }

    static Shape expandShape(Shape shape, int axis) {
        long[] dims = new long[shape.dimension() + 1];
        for (int i = 0, j = 0; i < dims.length; i++) {
            dims[i] = i == axis ? 1 : shape.get(j++);
        }
        return new Shape(dims);
    }

    static Shape squeezeShape(Shape shape, int[] axes) {
        int rank = shape.dimension();
        boolean[] drop = new boolean[rank];
        if (axes == null || axes.length == 0) {
            for (int i = 0; i < rank; i++) {
                drop[i] = shape.get(i) == 1;
            }
        } else {
            for (int axis : axes) {
                int a = normalizeAxis("squeeze", axis, rank);
                if (shape.get(a) != 1) {
                    throw new IllegalArgumentException(
                            "squeeze: axis " + axis + " of shape " + shape + " is not 1");
                }
                drop[a] = true;
            }
        }
        long[] dims = new long[rank];
        int n = 0;
        for (int i = 0; i < rank; i++) {
            if (!drop[i]) {
                dims[n++] = shape.get(i);
            }
        }
        return new Shape(java.util.Arrays.copyOf(dims, n));
    }

    static Shape flattenShape(Shape shape, int startDim, int endDim) {
        int rank = shape.dimension();
        int start = normalizeAxis("flatten", startDim, rank);
        int end = normalizeAxis("flatten", endDim, rank);
        if (start > end) {
            throw new IllegalArgumentException(
                    "flatten: start " + startDim + " is after end " + endDim);
        }
        long[] dims = new long[rank - (end - start)];
        int n = 0;
        for (int i = 0; i < start; i++) {
            dims[n++] = shape.get(i);
        }
        dims[n++] = product(shape, start, end + 1);
        for (int i = end + 1; i < rank; i++) {
            dims[n++] = shape.get(i);
        }
        return new Shape(dims);
    }

    static int[] checkPermutation(Shape shape, int[] axes) {
        int rank = shape.dimension();
        if (axes.length != rank) {
            throw new IllegalArgumentException(
                    "transpose: " + axes.length + " axes given for shape " + shape);
        }
        int[] perm = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = normalizeAxis("transpose", axes[i], rank);
            if (seen[perm[i]]) {
                throw new IllegalArgumentException(
                        "transpose: axis " + axes[i] + " repeated in " + java.util.Arrays.toString(axes));
            }
            seen[perm[i]] = true;
        }
        return perm;
    }

    static Shape permuteShape(Shape shape, int[] perm) {
        long[] dims = new long[perm.length];
        for (int i = 0; i < perm.length; i++) {
            dims[i] = shape.get(perm[i]);
        }
        return new Shape(dims);
    }

    static QuantizationParameters quantizationAfterTranspose(
            QuantizationParameters q, int[] perm) {
        if (q == null || !q.isPerChannel()) {
            return q;
        }
        for (int i = 0; i < perm.length; i++) {
            if (perm[i] == q.getAxis()) {
                return q.withAxis(i);
            }
        }
        throw new AssertionError("a permutation contains every axis");
    }

    /**
     * Copies {@code src} (row-major, {@code shape}) into {@code dst} so that output axis i is
     * input axis {@code perm[i]}.
     */
    static void permute(
            MemorySegment src, Shape shape, int elementBytes, int[] perm, MemorySegment dst) {
        int rank = perm.length;
        long total = shape.size();
        if (total == 0) {
            return;
        }
        long[] inStrides = new long[rank];
        long stride = elementBytes;
        for (int i = rank - 1; i >= 0; i--) {
            inStrides[i] = stride;
            stride *= shape.get(i);
        }
        long[] outDims = new long[rank];
        long[] strideOfOut = new long[rank];
        for (int i = 0; i < rank; i++) {
            outDims[i] = shape.get(perm[i]);
            strideOfOut[i] = inStrides[perm[i]];
        }
        long[] index = new long[rank];
        long inOffset = 0;
        for (long out = 0; out < total; out++) {
            copyElement(src, inOffset, dst, out * elementBytes, elementBytes);
            // Odometer increment over the output index, moving the input offset along.
            for (int d = rank - 1; d >= 0; d--) {
                if (++index[d] < outDims[d]) {
                    inOffset += strideOfOut[d];
                    break;
                }
                inOffset -= strideOfOut[d] * (outDims[d] - 1);
                index[d] = 0;
            }
        }
    }

    private static void copyElement(
            MemorySegment src, long from, MemorySegment dst, long to, int bytes) {
        switch (bytes) {
            case 1 -> dst.set(ValueLayout.JAVA_BYTE, to, src.get(ValueLayout.JAVA_BYTE, from));
            case 2 ->
                    dst.set(
                            ValueLayout.JAVA_SHORT_UNALIGNED,
                            to,
                            src.get(ValueLayout.JAVA_SHORT_UNALIGNED, from));
            case 4 ->
                    dst.set(
                            ValueLayout.JAVA_INT_UNALIGNED,
                            to,
                            src.get(ValueLayout.JAVA_INT_UNALIGNED, from));
            case 8 ->
                    dst.set(
                            ValueLayout.JAVA_LONG_UNALIGNED,
                            to,
                            src.get(ValueLayout.JAVA_LONG_UNALIGNED, from));
            default -> MemorySegment.copy(src, from, dst, to, bytes);
        }
    }
}
