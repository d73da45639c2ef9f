package org.quantint8.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** How the integer codes of a quantized tensor are stored, and their range. */
public enum QuantizedStorage {
    /** Signed 8-bit codes. */
    INT8(1, Byte.MIN_VALUE, Byte.MAX_VALUE),
    /** Unsigned 8-bit codes. */
    UINT8(1, 0, 255),
    /** Signed 32-bit codes, as used for quantized biases and accumulators. */
    INT32(4, Integer.MIN_VALUE, Integer.MAX_VALUE);

    private final int bytes;
    private final int min;
    private final int max;

    QuantizedStorage(int bytes, int min, int max) {
        this.bytes = bytes;
        this.min = min;
        this.max = max;
    }

    /**
     * Returns the bytes per code.
     *
     * @return 1 or 4
     */
    public int bytes() {
        return bytes;
    }

    /**
     * Returns the smallest code.
     *
     * @return the minimum
     */
    public int min() {
        return min;
    }

    /**
     * Returns the largest code.
     *
     * @return the maximum
     */
    public int max() {
        return max;
    }

    /**
     * Reads the code at an element index.
     *
     * @param data the memory
     * @param index the element index
     * @return the code
     */
    public int get(MemorySegment data, long index) {
        return switch (this) {
            case INT8 -> data.get(ValueLayout.JAVA_BYTE, index);
            case UINT8 -> data.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
            case INT32 -> data.get(ValueLayout.JAVA_INT_UNALIGNED, index * 4);
        };
    }

    /**
     * Writes a code, which must already lie in range, at an element index.
     *
     * @param data the memory
     * @param index the element index
     * @param code the code
     */
    public void set(MemorySegment data, long index, int code) {
        switch (this) {
            case INT8, UINT8 -> data.set(ValueLayout.JAVA_BYTE, index, (byte) code);
            case INT32 -> data.set(ValueLayout.JAVA_INT_UNALIGNED, index * 4, code);
        }
    }
}
