package org.quantint8.zoo.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The floating-point element types the importers convert to {@code float}. */
enum ElementType {
    /** IEEE single precision. */
    F32(4),
    /** IEEE half precision. */
    F16(2),
    /** bfloat16: the upper half of a single. */
    BF16(2),
    /** IEEE double precision, rounded to single. */
    F64(8);

    private final int bytes;

    ElementType(int bytes) {
        this.bytes = bytes;
    }

    /**
     * Returns the size of one element.
     *
     * @return the number of bytes per element
     */
    int bytes() {
        return bytes;
    }

    /**
     * Converts little-endian elements to floats.
     *
     * @param data the elements, from position to limit
     * @return the values
     */
    float[] toFloats(ByteBuffer data) {
        ByteBuffer le = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[le.remaining() / bytes];
        switch (this) {
            case F32 -> le.asFloatBuffer().get(values);
            case F16 -> {
                for (int i = 0; i < values.length; i++) {
                    values[i] = Float.float16ToFloat(le.getShort(2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < values.length; i++) {
                    values[i] = Float.intBitsToFloat(le.getShort(2 * i) << 16);
                }
            }
            case F64 -> {
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) le.getDouble(8 * i);
                }
            }
        }
        return values;
    }
}
