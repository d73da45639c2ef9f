package org.quantint8.onnx;

import java.util.Arrays;

/**
 * A growable list of primitive {@code long}s, for repeated scalar fields whose count is only
 * known once they have been read.
 *
 * <p>Capacity grows by doubling from the values actually added, so its size is bounded by the
 * bytes read rather than by any count declared in the file.
 */
final class LongList {

    private long[] values = new long[8];
    private int size;

    /** Appends a value. */
    void add(long value) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = value;
    }

    /**
     * Returns the number of values.
     *
     * @return the number of values
     */
    int size() {
        return size;
    }

    /**
     * Returns the value at an index.
     *
     * @return the value at an index
     */
    long get(int index) {
        return values[index];
    }

    /**
     * Returns a copy of the values.
     *
     * @return a copy of the values
     */
    long[] toArray() {
        return Arrays.copyOf(values, size);
    }
}
