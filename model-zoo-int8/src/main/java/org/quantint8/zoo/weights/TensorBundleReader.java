package org.quantint8.zoo.weights;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads a TensorFlow checkpoint (a tensor bundle: {@code <prefix>.index} and {@code
 * <prefix>.data-NNNNN-of-MMMMM}) without TensorFlow, for example the {@code variables/variables}
 * of a SavedModel.
 *
 * <pre>{@code
 * try (TensorBundleReader bundle = TensorBundleReader.open(savedModel.resolve("variables/variables"))) {
 *     Map<String, CheckpointTensor> tensors = bundle.readAll();
 * }
 * }</pre>
 *
 * <p>The index is a LevelDB table whose blocks' checksums are verified; its first entry (empty
 * key) is the {@code BundleHeaderProto}, the others are {@code BundleEntryProto}s by tensor name.
 * Each tensor's location is checked against its data file's size and its shape before any
 * allocation, and its bytes against its masked CRC-32C. Float, double, half and bfloat16 tensors
 * are read as floats; others (such as the string-valued object graph of TF2 checkpoints) are
 * listed by {@link #entryNames()} but skipped by {@link #readAll()}.
 */
public final class TensorBundleReader implements AutoCloseable {

    /** The largest index file accepted. */
    static final long MAX_INDEX_BYTES = 256L << 20;

    private final Path prefix;
    private final Path indexFile;
    private final Map<String, BundleEntry> entries;
    private final FileChannel[] shards;
    private final Path[] shardFiles;

    private TensorBundleReader(Path prefix, Path indexFile, Map<String, BundleEntry> entries,
            int numShards) {
        this.prefix = prefix;
        this.indexFile = indexFile;
        this.entries = entries;
        this.shards = new FileChannel[numShards];
        this.shardFiles = new Path[numShards];
    }

    /**
     * Opens a bundle and reads its index.
     *
     * @param prefix the path without {@code .index}, such as {@code .../variables/variables}
     * @return the reader, to close
     * @throws WeightFormatException if the index is malformed or fails a checksum
     * @throws IOException if it cannot be read
     */
    public static TensorBundleReader open(Path prefix) throws IOException {
        Path index = prefix.resolveSibling(prefix.getFileName() + ".index");
        long size = Files.size(index);
        if (size > MAX_INDEX_BYTES) {
            throw new WeightFormatException(index + ": index of " + size + " bytes exceeds the "
                    + MAX_INDEX_BYTES + "-byte limit");
        }
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(index));
        Map<String, ByteBuffer> table = SsTable.read(bytes, index.toString());
        ByteBuffer header = table.remove("");
        if (header == null) {
            throw new WeightFormatException(index + ": no bundle header (empty key)");
        }
        int numShards = numShards(header, index.toString());
        Map<String, BundleEntry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, ByteBuffer> e : table.entrySet()) {
            BundleEntry entry = BundleEntry.decode(e.getValue(), index + ", tensor " + e.getKey());
            if (entry.shardId() >= numShards) {
                throw new WeightFormatException(index + ": tensor " + e.getKey() + " is in shard "
                        + entry.shardId() + " of " + numShards);
            }
            entries.put(e.getKey(), entry);
        }
        return new TensorBundleReader(prefix, index, entries, numShards);
    }

    /** Decodes {@code BundleHeaderProto}: {@code num_shards} (1), {@code endianness} (2). */
    private static int numShards(ByteBuffer header, String source) throws WeightFormatException {
        ProtoFields fields = new ProtoFields(header, source + " header");
        long numShards = 1;
        while (fields.hasRemaining()) {
            long tag = fields.varint();
            if (tag >>> 3 == 1) {
                numShards = fields.varint();
            } else if (tag >>> 3 == 2 && fields.varint() != 0) {
                throw fields.error("big-endian bundles are not supported");
            } else if (tag >>> 3 != 2) {
                fields.skip((int) (tag & 7));
            }
        }
        if (numShards < 1 || numShards > 100_000) {
            throw fields.error("invalid number of shards " + numShards);
        }
        return (int) numShards;
    }

    /**
     * Returns the names of all tensors in the bundle, in key order.
     *
     * @return the names, unmodifiable
     */
    public Set<String> entryNames() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    /**
     * Reads every floating-point tensor.
     *
     * @return the tensors by name, in key order
     * @throws WeightFormatException if a location, size or checksum is wrong
     * @throws IOException if reading fails
     */
    public Map<String, CheckpointTensor> readAll() throws IOException {
        Map<String, CheckpointTensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, BundleEntry> e : entries.entrySet()) {
            if (elementType(e.getValue().dtype()) != null) {
                tensors.put(e.getKey(), read(e.getKey()));
            }
        }
        return tensors;
    }

    /**
     * Reads one tensor.
     *
     * @param name the tensor name
     * @return the tensor
     * @throws IllegalArgumentException if the bundle has no such tensor
     * @throws WeightFormatException if its type is not floating point, or its location, size or
     *     checksum is wrong
     * @throws IOException if reading fails
     */
    public CheckpointTensor read(String name) throws IOException {
        BundleEntry entry = entries.get(name);
        if (entry == null) {
            throw new IllegalArgumentException(indexFile + " has no tensor " + name);
        }
        ElementType type = elementType(entry.dtype());
        if (type == null) {
            throw new WeightFormatException(indexFile + ": tensor " + name + " has TensorFlow"
                    + " dtype " + entry.dtype() + ", not a floating-point type");
        }
        long expected = Math.multiplyExact(CheckpointTensor.elementCount(entry.shape()),
                type.bytes());
        if (entry.size() != expected) {
            throw new WeightFormatException(indexFile + ": tensor " + name + " of shape "
                    + Arrays.toString(entry.shape()) + " needs " + expected + " bytes, the entry"
                    + " says " + entry.size());
        }
        Path file = shardFile(entry.shardId());
        ByteBuffer data = FileRegions.read(shard(entry.shardId()), file, entry.offset(),
                entry.size(), "tensor " + name);
        int actual = Crc32c.mask(Crc32c.of(data, -1));
        if (actual != entry.maskedCrc32c()) {
            throw new WeightFormatException(String.format("%s: checksum mismatch for tensor %s"
                    + " (stored %08x, computed %08x)", file, name, entry.maskedCrc32c(), actual));
        }
        return new CheckpointTensor(name, entry.shape(), type.toFloats(data));
    }

    private static ElementType elementType(int dtype) {
        return switch (dtype) {
            case 1 -> ElementType.F32;
            case 2 -> ElementType.F64;
            case 14 -> ElementType.BF16;
            case 19 -> ElementType.F16;
            default -> null;
        };
    }

    private Path shardFile(int shard) {
        if (shardFiles[shard] == null) {
            shardFiles[shard] = prefix.resolveSibling(prefix.getFileName()
                    + String.format(".data-%05d-of-%05d", shard, shards.length));
        }
        return shardFiles[shard];
    }

    private FileChannel shard(int shard) throws IOException {
        if (shards[shard] == null) {
            Path file = shardFile(shard);
            if (!Files.isRegularFile(file)) {
                throw new NoSuchFileException(file.toString(), null,
                        "data shard of " + indexFile);
            }
            shards[shard] = FileChannel.open(file, StandardOpenOption.READ);
        }
        return shards[shard];
    }

    /**
     * Closes the data files.
     *
     * @throws IOException if closing fails
     */
    @Override
    public void close() throws IOException {
        for (FileChannel channel : shards) {
            if (channel != null) {
                channel.close();
            }
        }
    }
}
