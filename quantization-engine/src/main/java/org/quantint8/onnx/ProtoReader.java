package org.quantint8.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A bounded cursor over protobuf wire-format bytes.
 *
 * <p>Nested messages are read in place: {@link #enterMessage()} reads a length, checks it against
 * the bytes that remain in the enclosing message and narrows the limit to it, so no declared size
 * can make the reader look or allocate past the data actually present. Length-delimited payloads
 * are returned as views of the underlying buffer, never copied.
 *
 * <p>Errors name the file, the element being decoded (from the shared {@link DecodeContext}) and
 * the byte offset.
 */
final class ProtoReader {

    /** Wire type of varints. */
    static final int VARINT = 0;

    /** Wire type of little-endian 64-bit values. */
    static final int FIXED64 = 1;

    /** Wire type of length-delimited payloads: bytes, strings, messages, packed scalars. */
    static final int LEN = 2;

    /** Wire type of the deprecated group start. */
    static final int START_GROUP = 3;

    /** Wire type of the deprecated group end. */
    static final int END_GROUP = 4;

    /** Wire type of little-endian 32-bit values. */
    static final int FIXED32 = 5;

    /** Protobuf's own default: deep enough for any real model, shallow enough for the stack. */
    static final int MAX_MESSAGE_DEPTH = 100;

    private static final String[] WIRE_TYPE_NAMES = {
        "varint", "fixed64", "length-delimited", "start-group", "end-group", "fixed32", "6", "7"
    };

    private final ByteBuffer buffer;
    private final DecodeContext context;
    private final CharsetDecoder utf8 =
            StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
    private int position;
    private int tagPosition;
    private int limit;
    private int depth;

    /**
     * Creates a reader over all remaining bytes of a buffer.
     *
     * @param bytes the encoded message; its position and limit are left untouched
     * @param context where decoding is, for error messages
     */
    ProtoReader(ByteBuffer bytes, DecodeContext context) {
        this.buffer = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.context = context;
        this.limit = buffer.limit();
    }

    /**
     * Returns the context shared with the decoders.
     *
     * @return the context shared with the decoders
     */
    DecodeContext context() {
        return context;
    }

    /**
     * Returns the offset of the next byte to read.
     *
     * @return the offset of the next byte to read
     */
    int position() {
        return position;
    }

    /** Tells whether the current message has bytes left. */
    boolean hasMore() {
        return position < limit;
    }

    /**
     * Reads a field tag.
     *
     * @return the tag: field number shifted left by three, or'ed with the wire type
     * @throws OnnxFormatException if the tag is malformed
     */
    int readTag() throws OnnxFormatException {
        tagPosition = position;
        long tag = readVarint();
        if (tag >>> 3 == 0 || tag >>> 3 > 0x1FFF_FFFF || wireType((int) tag) > FIXED32) {
            throw error("invalid field tag " + Long.toUnsignedString(tag));
        }
        return (int) tag;
    }

    /**
     * Returns the field number of a tag.
     *
     * @return the field number of a tag
     */
    static int fieldNumber(int tag) {
        return tag >>> 3;
    }

    /**
     * Returns the wire type of a tag.
     *
     * @return the wire type of a tag
     */
    static int wireType(int tag) {
        return tag & 7;
    }

    /**
     * Returns a tag built from a field number and a wire type.
     *
     * @return a tag built from a field number and a wire type
     */
    static int tag(int fieldNumber, int wireType) {
        return fieldNumber << 3 | wireType;
    }

    /**
     * Checks that a field has the wire type its declaration implies.
     *
     * @param tag the tag just read
     * @param expected the wire type required
     * @param field the field's name, for the message
     * @throws OnnxFormatException if the wire type differs
     */
    void expectWireType(int tag, int expected, String field) throws OnnxFormatException {
        if (wireType(tag) != expected) {
            // Point at the field's tag, not at the value that follows it.
            throw context.errorAt(
                    "field '"
                            + field
                            + "' has wire type "
                            + WIRE_TYPE_NAMES[wireType(tag)]
                            + ", expected "
                            + WIRE_TYPE_NAMES[expected],
                    tagPosition);
        }
    }

    /**
     * Reads a varint of at most ten bytes.
     *
     * @return the value, as an unsigned 64-bit pattern
     * @throws OnnxFormatException if the varint is truncated or too long
     */
    long readVarint() throws OnnxFormatException {
        int start = position;
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position >= limit) {
                position = start;
                throw error("truncated varint");
            }
            byte b = buffer.get(position++);
            value |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return value;
            }
        }
        position = start;
        throw error("varint longer than 10 bytes");
    }

    /** Reads a little-endian 32-bit value. */
    int readFixed32() throws OnnxFormatException {
        require(4, "fixed32 value");
        int value = buffer.getInt(position);
        position += 4;
        return value;
    }

    /** Reads a little-endian 64-bit value. */
    long readFixed64() throws OnnxFormatException {
        require(8, "fixed64 value");
        long value = buffer.getLong(position);
        position += 8;
        return value;
    }

    /**
     * Reads a length-delimited payload as a view of the underlying bytes.
     *
     * @return a read-only little-endian view, position 0
     * @throws OnnxFormatException if the length exceeds the bytes left in the message
     */
    ByteBuffer readBytes() throws OnnxFormatException {
        int length = readLength();
        ByteBuffer view = buffer.slice(position, length).asReadOnlyBuffer();
        position += length;
        return view.order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Reads a length-delimited UTF-8 string.
     *
     * @return the string
     * @throws OnnxFormatException if the length is out of bounds or the bytes are not UTF-8
     */
    String readString() throws OnnxFormatException {
        int start = position;
        ByteBuffer bytes = readBytes();
        try {
            return utf8.reset().decode(bytes).toString();
        } catch (CharacterCodingException e) {
            position = start;
            throw error("string is not valid UTF-8");
        }
    }

    /**
     * Reads a scalar varint field.
     *
     * @param tag the tag just read
     * @param field the field's name, for error messages
     * @return the value, as an unsigned 64-bit pattern
     * @throws OnnxFormatException if the wire type is wrong or the varint malformed
     */
    long readVarint(int tag, String field) throws OnnxFormatException {
        expectWireType(tag, VARINT, field);
        return readVarint();
    }

    /**
     * Reads a string field.
     *
     * @param tag the tag just read
     * @param field the field's name, for error messages
     * @return the string
     * @throws OnnxFormatException if the wire type is wrong, the length out of bounds or the
     *     bytes not UTF-8
     */
    String readString(int tag, String field) throws OnnxFormatException {
        expectWireType(tag, LEN, field);
        return readString();
    }

    /**
     * Reads a bytes field as a view of the underlying bytes.
     *
     * @param tag the tag just read
     * @param field the field's name, for error messages
     * @return a read-only little-endian view
     * @throws OnnxFormatException if the wire type is wrong or the length out of bounds
     */
    ByteBuffer readBytes(int tag, String field) throws OnnxFormatException {
        expectWireType(tag, LEN, field);
        return readBytes();
    }

    /**
     * Enters a nested-message field; see {@link #enterMessage()}.
     *
     * @param tag the tag just read
     * @param field the field's name, for error messages
     * @return the enclosing limit, to pass to {@link #exitMessage(int)}
     * @throws OnnxFormatException if the wire type is wrong or the length out of bounds
     */
    int enterMessage(int tag, String field) throws OnnxFormatException {
        expectWireType(tag, LEN, field);
        return enterMessage();
    }

    /**
     * Reads one varint, or a packed run of them, of a repeated scalar field.
     *
     * @param tag the tag just read; wire type varint (one value) or length-delimited (packed)
     * @param out receives the values
     * @param field the field's name, for error messages
     * @throws OnnxFormatException if the encoding is malformed
     */
    void readVarints(int tag, LongList out, String field) throws OnnxFormatException {
        if (wireType(tag) == LEN) {
            int enclosingLimit = enterMessage();
            while (hasMore()) {
                out.add(readVarint());
            }
            exitMessage(enclosingLimit);
        } else {
            expectWireType(tag, VARINT, field);
            out.add(readVarint());
        }
    }

    /**
     * Reads one fixed-width value, or a packed run of them, of a repeated scalar field.
     *
     * @param tag the tag just read; wire type fixed32/fixed64 (one value) or length-delimited
     * @param wide {@code true} for 64-bit values, {@code false} for 32-bit ones
     * @param out receives the values, 32-bit ones zero-extended
     * @param field the field's name, for error messages
     * @throws OnnxFormatException if the encoding is malformed
     */
    void readFixeds(int tag, boolean wide, LongList out, String field) throws OnnxFormatException {
        if (wireType(tag) == LEN) {
            int enclosingLimit = enterMessage();
            if ((limit - position) % (wide ? 8 : 4) != 0) {
                throw error("packed field '" + field + "' length is not a multiple of its width");
            }
            while (hasMore()) {
                out.add(wide ? readFixed64() : Integer.toUnsignedLong(readFixed32()));
            }
            exitMessage(enclosingLimit);
        } else {
            expectWireType(tag, wide ? FIXED64 : FIXED32, field);
            out.add(wide ? readFixed64() : Integer.toUnsignedLong(readFixed32()));
        }
    }

    /**
     * Reads the length of a nested message and narrows the limit to it.
     *
     * @return the enclosing limit, to pass to {@link #exitMessage(int)}
     * @throws OnnxFormatException if the length is out of bounds or nesting is too deep
     */
    int enterMessage() throws OnnxFormatException {
        if (depth >= MAX_MESSAGE_DEPTH) {
            throw error("messages nested deeper than " + MAX_MESSAGE_DEPTH + " levels");
        }
        int length = readLength();
        int enclosingLimit = limit;
        limit = position + length;
        depth++;
        return enclosingLimit;
    }

    /**
     * Leaves a nested message entered with {@link #enterMessage()}.
     *
     * @param enclosingLimit the value {@code enterMessage} returned
     */
    void exitMessage(int enclosingLimit) {
        position = limit;
        limit = enclosingLimit;
        depth--;
    }

    /**
     * Skips the value of a field this reader does not use.
     *
     * @param tag the field's tag
     * @throws OnnxFormatException if the value is malformed
     */
    void skipField(int tag) throws OnnxFormatException {
        switch (wireType(tag)) {
            case VARINT -> readVarint();
            case FIXED64 -> skip(8, "fixed64 value");
            case LEN -> skip(readLength(), "payload");
            case FIXED32 -> skip(4, "fixed32 value");
            case START_GROUP -> skipGroup(fieldNumber(tag));
            default -> throw error("unexpected end-group tag for field " + fieldNumber(tag));
        }
    }

    /**
     * Returns an exception for a problem at the current byte offset.
     *
     * @param problem what is wrong
     * @return the exception, to throw
     */
    OnnxFormatException error(String problem) {
        return context.errorAt(problem, position);
    }

    private int readLength() throws OnnxFormatException {
        int start = position;
        long length = readVarint();
        int remaining = limit - position;
        if (length < 0 || length > remaining) {
            position = start;
            throw error(
                    "declared length "
                            + Long.toUnsignedString(length)
                            + " exceeds the "
                            + remaining
                            + " bytes remaining");
        }
        return (int) length;
    }

    private void require(int count, String what) throws OnnxFormatException {
        if (count > limit - position) {
            throw error("truncated " + what);
        }
    }

    private void skip(int count, String what) throws OnnxFormatException {
        require(count, what);
        position += count;
    }

    private void skipGroup(int fieldNumber) throws OnnxFormatException {
        // Iterative, counting open groups, so that nested groups cannot exhaust the stack.
        int open = 1;
        while (open > 0) {
            if (open > MAX_MESSAGE_DEPTH) {
                throw error("groups nested deeper than " + MAX_MESSAGE_DEPTH + " levels");
            }
            if (!hasMore()) {
                throw error("truncated group of field " + fieldNumber);
            }
            int tag = readTag();
            switch (wireType(tag)) {
                case START_GROUP -> open++;
                case END_GROUP -> open--;
                default -> skipField(tag);
            }
        }
    }
}
