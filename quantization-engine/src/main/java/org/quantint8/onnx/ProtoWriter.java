package org.quantint8.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds a protobuf wire-format message as a list of chunks.
 *
 * <p>Large payloads (tensor data) and nested messages are appended by reference, not copied, so
 * that writing a model of several hundred megabytes does not duplicate its weights at every level
 * of nesting; the bytes are only gathered in {@link #writeTo(WritableByteChannel)}. A nested
 * message's length prefix is known because the child writer is complete before it is appended.
 */
final class ProtoWriter {

    private static final int SCRATCH_SIZE = 256;

    private final List<ByteBuffer> chunks = new ArrayList<>();
    private final byte[] scratch = new byte[SCRATCH_SIZE];
    private int scratchSize;
    private long flushedSize;

    /**
     * Returns the number of bytes written so far.
     *
     * @return the number of bytes written so far
     */
    long size() {
        return flushedSize + scratchSize;
    }

    /** Writes a field tag. */
    void writeTag(int fieldNumber, int wireType) {
        writeVarint(ProtoReader.tag(fieldNumber, wireType));
    }

    /** Writes a varint, negative values as ten bytes like protobuf does. */
    void writeVarint(long value) {
        ensureScratch(10);
        while ((value & ~0x7FL) != 0) {
            scratch[scratchSize++] = (byte) ((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        scratch[scratchSize++] = (byte) value;
    }

    /** Writes a little-endian 32-bit value. */
    void writeFixed32(int value) {
        ensureScratch(4);
        for (int i = 0; i < 4; i++) {
            scratch[scratchSize++] = (byte) (value >>> (8 * i));
        }
    }

    /** Writes a little-endian 64-bit value. */
    void writeFixed64(long value) {
        ensureScratch(8);
        for (int i = 0; i < 8; i++) {
            scratch[scratchSize++] = (byte) (value >>> (8 * i));
        }
    }

    /** Writes a varint field. */
    void writeVarintField(int fieldNumber, long value) {
        writeTag(fieldNumber, ProtoReader.VARINT);
        writeVarint(value);
    }

    /** Writes a string field. */
    void writeStringField(int fieldNumber, String value) {
        writeBytesField(fieldNumber, ByteBuffer.wrap(value.getBytes(StandardCharsets.UTF_8)));
    }

    /** Writes a string field unless the string is null or empty, ONNX's "not set". */
    void writeStringFieldIfSet(int fieldNumber, String value) {
        if (value != null && !value.isEmpty()) {
            writeStringField(fieldNumber, value);
        }
    }

    /**
     * Writes a length-delimited field whose payload is appended by reference.
     *
     * @param fieldNumber the field number
     * @param payload the remaining bytes of this buffer; it must not change until written out
     */
    void writeBytesField(int fieldNumber, ByteBuffer payload) {
        writeTag(fieldNumber, ProtoReader.LEN);
        writeVarint(payload.remaining());
        if (payload.remaining() <= SCRATCH_SIZE) {
            ensureScratch(payload.remaining());
            payload.duplicate().get(scratch, scratchSize, payload.remaining());
            scratchSize += payload.remaining();
        } else {
            flushScratch();
            chunks.add(payload.duplicate());
            flushedSize += payload.remaining();
        }
    }

    /**
     * Writes a length-delimited field whose payload is a complete child message or packed run.
     *
     * @param fieldNumber the field number
     * @param child the child's content; it must not be written to afterwards
     */
    void writeMessageField(int fieldNumber, ProtoWriter child) {
        writeTag(fieldNumber, ProtoReader.LEN);
        writeVarint(child.size());
        flushScratch();
        child.flushScratch();
        chunks.addAll(child.chunks);
        flushedSize += child.flushedSize;
    }

    /** Writes a repeated varint field, packed; nothing if there are no values. */
    void writePackedVarints(int fieldNumber, long[] values) {
        if (values.length > 0) {
            ProtoWriter packed = new ProtoWriter();
            for (long value : values) {
                packed.writeVarint(value);
            }
            writeMessageField(fieldNumber, packed);
        }
    }

    /**
     * Writes the message to a channel.
     *
     * @param channel the destination
     * @throws IOException if writing fails
     */
    void writeTo(WritableByteChannel channel) throws IOException {
        flushScratch();
        for (ByteBuffer chunk : chunks) {
            ByteBuffer pending = chunk.duplicate();
            while (pending.hasRemaining()) {
                channel.write(pending);
            }
        }
    }

    /**
     * Returns the message as one array.
     *
     * @return the encoded bytes
     * @throws IllegalStateException if the message is larger than an array can hold
     */
    byte[] toByteArray() {
        flushScratch();
        if (flushedSize > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("Message of " + flushedSize + " bytes is too large");
        }
        ByteBuffer all = ByteBuffer.allocate((int) flushedSize);
        for (ByteBuffer chunk : chunks) {
            all.put(chunk.duplicate());
        }
        return all.array();
    }

    private void ensureScratch(int count) {
        if (scratchSize + count > scratch.length) {
            flushScratch();
        }
    }

    private void flushScratch() {
        if (scratchSize > 0) {
            chunks.add(ByteBuffer.wrap(Arrays.copyOf(scratch, scratchSize)));
            flushedSize += scratchSize;
            scratchSize = 0;
        }
    }
}
