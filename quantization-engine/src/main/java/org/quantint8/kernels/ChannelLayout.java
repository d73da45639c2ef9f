package org.quantint8.kernels;

/**
 * A tensor seen as {@code [outer, channels, inner]} around its quantization axis, so that one loop
 * serves per-tensor ({@code channels == 1}) and per-channel parameters along any axis.
 *
 * @param outer the product of the dimensions before the axis
 * @param channels the size of the axis
 * @param inner the product of the dimensions after the axis
 */
public record ChannelLayout(long outer, int channels, long inner) {

    /** Validates the sizes. */
    public ChannelLayout {
        if (outer < 0 || channels < 1 || inner < 0) {
            throw new IllegalArgumentException(
                    "Invalid channel layout [" + outer + ", " + channels + ", " + inner + "]");
        }
    }

    /**
     * Returns the layout of a tensor quantized per tensor.
     *
     * @param elements the element count
     * @return the layout
     */
    public static ChannelLayout perTensor(long elements) {
        return new ChannelLayout(1, 1, elements);
    }

    /**
     * Returns the layout of a tensor of the given dimensions around an axis, or per tensor when
     * the axis is negative.
     *
     * @param dims the dimensions
     * @param axis the channel axis, or -1
     * @return the layout
     */
    public static ChannelLayout of(long[] dims, int axis) {
        long elements = 1;
        for (long d : dims) {
            elements = Math.multiplyExact(elements, d);
        }
        if (axis < 0) {
            return perTensor(elements);
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= dims[i];
        }
        long inner = 1;
        for (int i = axis + 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        return new ChannelLayout(outer, Math.toIntExact(dims[axis]), inner);
    }

    /**
     * Returns the element count.
     *
     * @return {@code outer * channels * inner}
     */
    public long elements() {
        return outer * channels * inner;
    }
}
