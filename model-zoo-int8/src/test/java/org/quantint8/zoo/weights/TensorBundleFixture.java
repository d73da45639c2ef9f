package org.quantint8.zoo.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Writes a minimal single-shard TensorFlow tensor bundle of float tensors, independently of the
 * reader: a LevelDB table with small data blocks (so that there are several), prefix-compressed
 * keys with a restart every two entries, an index block, an empty metaindex block and the footer.
 */
final class TensorBundleFixture {

    /** The block size after which a data block is closed. */
    private static final int BLOCK_SIZE = 96;
    private static final int RESTART_INTERVAL = 2;

    /** The compression type written in block trailers; tests set 1 to fake Snappy. */
    int compressionType;

    /**
     * Writes {@code prefix.index} and {@code prefix.data-00000-of-00001}.
     *
     * @param prefix the bundle prefix
     * @param tensors the tensors
     * @throws IOException if writing fails
     */
    void write(Path prefix, List<CheckpointTensor> tensors) throws IOException {
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        TreeMap<String, byte[]> entries = new TreeMap<>();
        entries.put("", header());
        for (CheckpointTensor tensor : tensors) {
            ByteBuffer bytes = ByteBuffer.allocate(4 * tensor.values().length)
                    .order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(tensor.values());
            entries.put(tensor.name(), entry(tensor.shape(), data.size(), bytes.array()));
            data.write(bytes.array());
        }
        Files.write(prefix.resolveSibling(prefix.getFileName() + ".data-00000-of-00001"),
                data.toByteArray());
        Files.write(prefix.resolveSibling(prefix.getFileName() + ".index"), table(entries));
    }

    private static byte[] header() {
        Proto header = new Proto();
        header.varintField(1, 1);
        Proto version = new Proto();
        version.varintField(1, 1);
        header.bytesField(3, version.toByteArray());
        return header.toByteArray();
    }

    private static byte[] entry(long[] shape, long offset, byte[] bytes) {
        Proto dims = new Proto();
        for (long dim : shape) {
            Proto d = new Proto();
            d.varintField(1, dim);
            dims.bytesField(2, d.toByteArray());
        }
        Proto entry = new Proto();
        entry.varintField(1, 1);
        entry.bytesField(2, dims.toByteArray());
        entry.varintField(4, offset);
        entry.varintField(5, bytes.length);
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        entry.tag(6, 5);
        entry.fixed32(mask((int) crc.getValue()));
        return entry.toByteArray();
    }

    private byte[] table(TreeMap<String, byte[]> entries) {
        Proto file = new Proto();
        TreeMap<String, byte[]> index = new TreeMap<>();
        List<Map.Entry<String, byte[]>> pending = new ArrayList<>();
        int pendingSize = 0;
        for (Map.Entry<String, byte[]> entry : entries.entrySet()) {
            pending.add(entry);
            pendingSize += entry.getKey().length() + entry.getValue().length;
            if (pendingSize >= BLOCK_SIZE || entry.getKey().equals(entries.lastKey())) {
                index.put(entry.getKey(), writeBlock(file, pending, RESTART_INTERVAL));
                pending.clear();
                pendingSize = 0;
            }
        }
        byte[] metaindexHandle = writeBlock(file, List.of(), 1);
        byte[] indexHandle = writeBlock(file, new ArrayList<>(index.entrySet()), 1);
        Proto footer = new Proto();
        footer.raw(metaindexHandle);
        footer.raw(indexHandle);
        while (footer.size() < 40) {
            footer.raw(new byte[] {0});
        }
        footer.fixed32(0x8b80fb57);
        footer.fixed32(0xdb477524);
        file.raw(footer.toByteArray());
        return file.toByteArray();
    }

    /** Appends a block and its trailer; returns its handle. */
    private byte[] writeBlock(Proto file, List<Map.Entry<String, byte[]>> entries, int interval) {
        Proto block = new Proto();
        List<Integer> restarts = new ArrayList<>();
        byte[] previous = new byte[0];
        for (int i = 0; i < entries.size(); i++) {
            byte[] key = entries.get(i).getKey().getBytes(StandardCharsets.UTF_8);
            int shared = 0;
            if (i % interval == 0) {
                restarts.add(block.size());
            } else {
                while (shared < key.length && shared < previous.length
                        && key[shared] == previous[shared]) {
                    shared++;
                }
            }
            block.varint(shared);
            block.varint(key.length - shared);
            block.varint(entries.get(i).getValue().length);
            block.raw(Arrays.copyOfRange(key, shared, key.length));
            block.raw(entries.get(i).getValue());
            previous = key;
        }
        if (restarts.isEmpty()) {
            restarts.add(0);
        }
        restarts.forEach(block::fixed32);
        block.fixed32(restarts.size());
        byte[] contents = block.toByteArray();
        Proto handle = new Proto();
        handle.varint(file.size());
        handle.varint(contents.length);
        file.raw(contents);
        file.raw(new byte[] {(byte) compressionType});
        CRC32C crc = new CRC32C();
        crc.update(contents);
        crc.update(compressionType);
        file.fixed32(mask((int) crc.getValue()));
        return handle.toByteArray();
    }

    static int mask(int crc) {
        return Integer.rotateRight(crc, 15) + 0xa282ead8;
    }

    /** A byte sink with protobuf and LevelDB encodings. */
    static final class Proto {

        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void varint(long value) {
            while ((value & ~0x7fL) != 0) {
                out.write((int) ((value & 0x7f) | 0x80));
                value >>>= 7;
            }
            out.write((int) value);
        }

        void tag(int field, int wireType) {
            varint((long) field << 3 | wireType);
        }

        void varintField(int field, long value) {
            tag(field, 0);
            varint(value);
        }

        void bytesField(int field, byte[] bytes) {
            tag(field, 2);
            varint(bytes.length);
            raw(bytes);
        }

        void fixed32(int value) {
            for (int i = 0; i < 4; i++) {
                out.write(value >>> (8 * i));
            }
        }

        void raw(byte[] bytes) {
            out.writeBytes(bytes);
        }

        int size() {
            return out.size();
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }
}
