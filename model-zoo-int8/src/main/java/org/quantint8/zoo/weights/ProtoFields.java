package org.quantint8.zoo.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A bounded reader of protobuf wire-format fields and of LevelDB's varints, over a buffer. Every
 * length is checked against the bytes left before it is used; failures name the source.
 */
final class ProtoFields {

    /** Wire type of varints. */
    static final int VARINT = 0;
    /** Wire type of 64-bit fixed fields. */
    static final int FIXED64 = 1;
    /** Wire type of length-delimited fields. */
    static final int LENGTH_DELIMITED = 2;
    /** Wire type of 32-bit fixed fields. */
    static final int FIXED32 = 5;

    private final ByteBuffer buffer;
    private final String source;

    /**
     * Creates a reader.
     *
     * @param buffer the bytes, from position to limit; the reader advances its own view
     * @param source what the bytes are, for messages
     */
    ProtoFields(ByteBuffer buffer, String source) {
        this.buffer = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.source = source;
    }

    /**
     * Tells whether bytes remain.
     *
     * @return {@code true} if another field or value follows
     */
    boolean hasRemaining() {
        return buffer.hasRemaining();
    }

    /**
     * Returns the reading position.
     *
     * @return the number of bytes consumed
     */
    int position() {
        return buffer.position();
    }

    /**
     * Reads a varint of up to 64 bits.
     *
     * @return the value
     * @throws WeightFormatException if it is truncated or longer than 10 bytes
     */
    long varint() throws WeightFormatException {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!buffer.hasRemaining()) {
                throw error("truncated varint");
            }
            byte b = buffer.get();
            value |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return value;
            }
        }
        throw error("varint longer than 10 bytes");
    }

    /**
     * Reads a varint that must fit a non-negative {@code int} (a length or a count).
     *
     * @param what what the value is, for messages
     * @return the value
     * @throws WeightFormatException if it is malformed or out of range
     */
    int length(String what) throws WeightFormatException {
        long value = varint();
        if (value < 0 || value > buffer.remaining()) {
            throw error(what + " of " + value + " exceeds the " + buffer.remaining()
                    + " bytes left");
        }
        return (int) value;
    }

    /**
     * Reads a little-endian 32-bit value.
     *
     * @return the value
     * @throws WeightFormatException if it is truncated
     */
    int fixed32() throws WeightFormatException {
        require(4, "fixed32");
        return buffer.getInt();
    }

    /**
     * Reads bytes.
     *
     * @param count how many
     * @param what what they are, for messages
     * @return a view of them
     * @throws WeightFormatException if fewer remain
     */
    ByteBuffer bytes(int count, String what) throws WeightFormatException {
        require(count, what);
        ByteBuffer slice = buffer.slice(buffer.position(), count);
        buffer.position(buffer.position() + count);
        return slice;
    }

    /**
     * Reads a length-delimited field's contents.
     *
     * @return a view of them
     * @throws WeightFormatException if malformed
     */
    ByteBuffer delimited() throws WeightFormatException {
        return bytes(length("field length"), "field");
    }

    /**
     * Skips the value of a field.
     *
     * @param wireType the field's wire type
     * @throws WeightFormatException if malformed or of a group type
     */
    void skip(int wireType) throws WeightFormatException {
        switch (wireType) {
            case VARINT -> varint();
            case FIXED64 -> bytes(8, "fixed64");
            case LENGTH_DELIMITED -> delimited();
            case FIXED32 -> bytes(4, "fixed32");
            default -> throw error("unsupported wire type " + wireType);
        }
    }

    /**
     * Returns an exception naming the source and position.
     *
     * @param message what is wrong
     * @return the exception
     */
    WeightFormatException error(String message) {
        return new WeightFormatException(source + ": " + message + " at byte " + position());
    }

    private void require(int count, String what) throws WeightFormatException {
        if (count < 0 || count > buffer.remaining()) {
            throw error(what + " needs " + count + " bytes, " + buffer.remaining() + " left");
        }
    }
}
