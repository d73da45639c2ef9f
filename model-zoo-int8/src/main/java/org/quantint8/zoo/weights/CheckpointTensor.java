package org.quantint8.zoo.weights;

import java.util.Arrays;

/**
 * A tensor read from a checkpoint: its name in the checkpoint, its shape and its values as
 * floats, row-major.
 *
 * @param name the name in the checkpoint
 * @param shape the dimensions; empty for a scalar
 * @param values the elements, as many as the shape says; held as given, not copied
 */
public record CheckpointTensor(String name, long[] shape, float[] values) {

    /**
     * Checks that the values match the shape.
     *
     * @throws IllegalArgumentException if they do not, or a dimension is negative
     */
    public CheckpointTensor {
        shape = shape.clone();
        if (elementCount(shape) != values.length) {
            throw new IllegalArgumentException("Tensor " + name + " of shape "
                    + Arrays.toString(shape) + " cannot hold " + values.length + " values");
        }
    }

    /**
     * Returns the number of elements of a shape.
     *
     * @param shape the dimensions
     * @return their product, 1 for a scalar
     * @throws IllegalArgumentException if a dimension is negative or the product overflows
     */
    public static long elementCount(long[] shape) {
        long count = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("Negative dimension in " + Arrays.toString(shape));
            }
            count = Math.multiplyExact(count, dim);
        }
        return count;
    }

    /**
     * Returns the shape.
     *
     * @return a copy of the dimensions
     */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Returns the transpose of a matrix, for example a PyTorch {@code Linear} weight {@code [out,
     * in]} as an {@code [in, out]} kernel.
     *
     * @return the transposed values, row-major {@code [columns, rows]}
     * @throws IllegalStateException if the tensor is not 2-D
     */
    public float[] transposed() {
        if (shape.length != 2) {
            throw new IllegalStateException("Tensor " + name + " of shape "
                    + Arrays.toString(shape) + " is not a matrix");
        }
        int rows = (int) shape[0];
        int columns = (int) shape[1];
        float[] result = new float[values.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < columns; c++) {
                result[c * rows + r] = values[r * columns + c];
            }
        }
        return result;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof CheckpointTensor that && name.equals(that.name)
                && Arrays.equals(shape, that.shape) && Arrays.equals(values, that.values);
    }

    @Override
    public int hashCode() {
        return 31 * name.hashCode() + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
