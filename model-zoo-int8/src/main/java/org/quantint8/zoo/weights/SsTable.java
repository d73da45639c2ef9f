package org.quantint8.zoo.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads every entry of a LevelDB table file (SSTable), the format of TensorFlow's {@code .index}
 * files: data blocks of prefix-compressed entries with restart points, each followed by a
 * one-byte compression type and a masked CRC-32C; an index block pointing at the data blocks; and
 * a 48-byte footer with the metaindex and index block handles and a magic number.
 *
 * <p>Every block's checksum is verified. Only uncompressed blocks are supported (TensorFlow writes
 * its bundle index uncompressed); a Snappy-compressed block is reported as such.
 */
final class SsTable {

    /** The footer's magic number, little-endian in the last 8 bytes. */
    static final long MAGIC = 0xdb4775248b80fb57L;
    /** The footer: two block handles padded to 40 bytes, then the magic number. */
    static final int FOOTER_SIZE = 48;
    /** A block's trailer: the compression type and the masked CRC. */
    static final int TRAILER_SIZE = 5;

    private final ByteBuffer file;
    private final String source;

    private SsTable(ByteBuffer file, String source) {
        this.file = file.order(ByteOrder.LITTLE_ENDIAN);
        this.source = source;
    }

    /**
     * Reads all entries of a table, in key order.
     *
     * @param file the whole table file
     * @param source the file's name, for messages
     * @return the values by key (keys decoded as UTF-8)
     * @throws WeightFormatException if the file is malformed or a checksum fails
     */
    static Map<String, ByteBuffer> read(ByteBuffer file, String source)
            throws WeightFormatException {
        return new SsTable(file, source).entries();
    }

    private Map<String, ByteBuffer> entries() throws WeightFormatException {
        if (file.remaining() < FOOTER_SIZE) {
            throw new WeightFormatException(source + ": " + file.remaining()
                    + " bytes is shorter than a table footer (" + FOOTER_SIZE + ")");
        }
        int footerStart = file.limit() - FOOTER_SIZE;
        if (file.getLong(file.limit() - 8) != MAGIC) {
            throw new WeightFormatException(source + ": not a LevelDB table (bad magic number)");
        }
        ProtoFields footer = new ProtoFields(file.slice(footerStart, 40), source + " footer");
        blockHandle(footer, "metaindex");
        ByteBuffer index = block(footer, "index");
        Map<String, ByteBuffer> entries = new LinkedHashMap<>();
        for (ByteBuffer handle : blockEntries(index, "index block").values()) {
            ProtoFields fields = new ProtoFields(handle, source + " index entry");
            entries.putAll(blockEntries(block(fields, "data"), "data block"));
        }
        return entries;
    }

    /** Reads a block handle and returns the block's contents, checksum verified. */
    private ByteBuffer block(ProtoFields handle, String what) throws WeightFormatException {
        long[] offsetAndSize = blockHandle(handle, what);
        int offset = (int) offsetAndSize[0];
        int size = (int) offsetAndSize[1];
        ByteBuffer contents = file.slice(offset, size);
        int type = file.get(offset + size) & 0xff;
        int stored = file.getInt(offset + size + 1);
        int actual = Crc32c.mask(Crc32c.of(contents, type));
        if (stored != actual) {
            throw new WeightFormatException(String.format(
                    "%s: checksum mismatch in the %s block at byte %d (stored %08x, computed %08x)",
                    source, what, offset, stored, actual));
        }
        if (type != 0) {
            throw new WeightFormatException(source + ": the " + what + " block at byte " + offset
                    + " is compressed (type " + type + (type == 1 ? ", Snappy" : "")
                    + "); only uncompressed tables are supported");
        }
        return contents;
    }

    private long[] blockHandle(ProtoFields handle, String what) throws WeightFormatException {
        long offset = handle.varint();
        long size = handle.varint();
        long end = (long) file.limit() - FOOTER_SIZE;
        if (offset < 0 || size < 0 || offset > end || size + TRAILER_SIZE > end - offset) {
            throw new WeightFormatException(source + ": the " + what + " block handle [" + offset
                    + ", +" + size + "] lies outside the table's " + end + " bytes of blocks");
        }
        return new long[] {offset, size};
    }

    /** Decodes the prefix-compressed entries of a block, checking its restart array. */
    private Map<String, ByteBuffer> blockEntries(ByteBuffer block, String what)
            throws WeightFormatException {
        ByteBuffer le = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int size = le.remaining();
        if (size < 4) {
            throw new WeightFormatException(source + ": " + what + " of " + size + " bytes");
        }
        long restarts = Integer.toUnsignedLong(le.getInt(size - 4));
        if (restarts < 1 || restarts > (size - 4) / 4) {
            throw new WeightFormatException(source + ": " + what + " of " + size
                    + " bytes declares " + restarts + " restart points");
        }
        int entriesEnd = size - 4 - 4 * (int) restarts;
        ProtoFields fields = new ProtoFields(le.slice(0, entriesEnd), source + " " + what);
        Map<String, ByteBuffer> entries = new LinkedHashMap<>();
        byte[] key = new byte[0];
        List<Integer> offsets = new ArrayList<>();
        while (fields.hasRemaining()) {
            int entryStart = fields.position();
            int shared = (int) Math.min(fields.varint(), Integer.MAX_VALUE);
            int unshared = fields.length("key length");
            int valueLength = fields.length("value length");
            if (shared > key.length) {
                throw fields.error("entry shares " + shared + " bytes of a " + key.length
                        + "-byte previous key");
            }
            if (shared == 0) {
                offsets.add(entryStart);
            }
            byte[] next = Arrays.copyOf(key, shared + unshared);
            fields.bytes(unshared, "key").get(next, shared, unshared);
            key = next;
            entries.put(new String(key, StandardCharsets.UTF_8), fields.bytes(valueLength,
                    "value"));
        }
        checkRestarts(le, entriesEnd, (int) restarts, offsets, what);
        return entries;
    }

    /** Each restart point must be the offset of an entry that stores its whole key. */
    private void checkRestarts(ByteBuffer block, int restartsStart, int count,
            List<Integer> fullKeyOffsets, String what) throws WeightFormatException {
        boolean empty = restartsStart == 0;
        for (int i = 0; i < count && !empty; i++) {
            int restart = block.getInt(restartsStart + 4 * i);
            if (!fullKeyOffsets.contains(restart)) {
                throw new WeightFormatException(source + ": " + what + " restart point " + i
                        + " at " + restart + " is not the start of a full key");
            }
        }
    }
}
