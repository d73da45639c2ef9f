package org.quantint8.zoo.weights;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a Hugging Face {@code .safetensors} file: an 8-byte little-endian header length, a JSON
 * header mapping each tensor name to its {@code dtype}, {@code shape} and {@code data_offsets}
 * (relative to the end of the header) plus an optional {@code __metadata__} map of strings, then
 * the data.
 *
 * <pre>{@code
 * try (SafetensorsReader file = SafetensorsReader.open(path)) {
 *     Map<String, float[]> bert = BertWeights.fromHuggingFace(file.readAll());
 * }
 * }</pre>
 *
 * <p>The header is validated whole before any tensor is read: its length against the file (and at
 * most {@value #MAX_HEADER_BYTES} bytes), each tensor's byte range against its shape and dtype and
 * the data's size, and ranges must not overlap. {@code F32}, {@code F16}, {@code BF16} and {@code
 * F64} tensors are read as floats; other dtypes are listed but skipped by {@link #readAll()}.
 */
public final class SafetensorsReader implements AutoCloseable {

    /** The largest header accepted, as in the reference implementation. */
    public static final int MAX_HEADER_BYTES = 100_000_000;

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    /** A tensor's header entry; {@code type} is null for non-float dtypes. */
    private record Entry(String dtype, ElementType type, long[] shape, long begin, long end) {}

    private SafetensorsReader(Path file, FileChannel channel, long dataStart,
            Map<String, Entry> entries, Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Opens a file and validates its header.
     *
     * @param file the {@code .safetensors} file
     * @return the reader, to close
     * @throws WeightFormatException if the header is malformed or inconsistent with the file
     * @throws IOException if the file cannot be read
     */
    public static SafetensorsReader open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = channel.size();
            ByteBuffer prefix = FileRegions.read(channel, file, 0, 8, "header length");
            long headerLength = prefix.order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
                throw new WeightFormatException(file + ": header length " + headerLength
                        + " is invalid for a file of " + size + " bytes (limit "
                        + MAX_HEADER_BYTES + ")");
            }
            ByteBuffer header = FileRegions.read(channel, file, 8, headerLength, "header");
            String json = StandardCharsets.UTF_8.decode(header).toString();
            long dataStart = 8 + headerLength;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = parse(file, json, size - dataStart, metadata);
            return new SafetensorsReader(file, channel, dataStart, entries, metadata);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static Map<String, Entry> parse(Path file, String json, long dataSize,
            Map<String, String> metadata) throws WeightFormatException {
        JsonObject root;
        try {
            root = JsonParser.parseString(json).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new WeightFormatException(file + ": header is not a JSON object", e);
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : root.entrySet()) {
            try {
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().getAsJsonObject().entrySet().forEach(m ->
                            metadata.put(m.getKey(), m.getValue().getAsString()));
                } else {
                    entries.put(e.getKey(), entry(e.getValue().getAsJsonObject(), dataSize));
                }
            } catch (IllegalArgumentException | IllegalStateException
                    | UnsupportedOperationException | NullPointerException | ArithmeticException ex) {
                throw new WeightFormatException(file + ": tensor " + e.getKey() + ": "
                        + ex.getMessage(), ex);
            }
        }
        checkNoOverlap(file, entries);
        return entries;
    }

    private static Entry entry(JsonObject json, long dataSize) {
        String dtype = json.get("dtype").getAsString();
        JsonArray dims = json.get("shape").getAsJsonArray();
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = dims.get(i).getAsLong();
        }
        JsonArray offsets = json.get("data_offsets").getAsJsonArray();
        if (offsets.size() != 2) {
            throw new IllegalArgumentException("data_offsets must have two elements");
        }
        long begin = offsets.get(0).getAsLong();
        long end = offsets.get(1).getAsLong();
        if (begin < 0 || end < begin || end > dataSize) {
            throw new IllegalArgumentException("data_offsets [" + begin + ", " + end
                    + "] lie outside the " + dataSize + " bytes of data");
        }
        ElementType type = elementType(dtype);
        long width = type != null ? type.bytes() : bytesOfOtherType(dtype);
        long expected = Math.multiplyExact(CheckpointTensor.elementCount(shape), width);
        if (end - begin != expected) {
            throw new IllegalArgumentException(dtype + " " + Arrays.toString(shape)
                    + " needs " + expected + " bytes, data_offsets give " + (end - begin));
        }
        return new Entry(dtype, type, shape, begin, end);
    }

    private static void checkNoOverlap(Path file, Map<String, Entry> entries)
            throws WeightFormatException {
        List<Map.Entry<String, Entry>> sorted = new ArrayList<>(entries.entrySet());
        sorted.sort(Comparator.comparingLong(e -> e.getValue().begin()));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).getValue().begin() < sorted.get(i - 1).getValue().end()) {
                throw new WeightFormatException(file + ": tensors " + sorted.get(i - 1).getKey()
                        + " and " + sorted.get(i).getKey() + " overlap");
            }
        }
    }

    private static ElementType elementType(String dtype) {
        return switch (dtype) {
            case "F32" -> ElementType.F32;
            case "F16" -> ElementType.F16;
            case "BF16" -> ElementType.BF16;
            case "F64" -> ElementType.F64;
            default -> null;
        };
    }

    private static long bytesOfOtherType(String dtype) {
        return switch (dtype) {
            case "BOOL", "U8", "I8", "F8_E4M3", "F8_E5M2" -> 1;
            case "I16", "U16" -> 2;
            case "I32", "U32" -> 4;
            case "I64", "U64" -> 8;
            default -> throw new IllegalArgumentException("unknown dtype " + dtype);
        };
    }

    /**
     * Returns the tensor names, in header order.
     *
     * @return the names, unmodifiable
     */
    public Set<String> names() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    /**
     * Returns the {@code __metadata__} map.
     *
     * @return the metadata, empty if none; unmodifiable
     */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * Reads every floating-point tensor.
     *
     * @return the tensors by name, in header order
     * @throws IOException if reading fails
     */
    public Map<String, CheckpointTensor> readAll() throws IOException {
        Map<String, CheckpointTensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            if (e.getValue().type() != null) {
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
     * @throws IllegalArgumentException if the file has no such tensor
     * @throws WeightFormatException if its dtype is not floating point
     * @throws IOException if reading fails
     */
    public CheckpointTensor read(String name) throws IOException {
        Entry entry = entries.get(name);
        if (entry == null) {
            throw new IllegalArgumentException(file + " has no tensor " + name);
        }
        if (entry.type() == null) {
            throw new WeightFormatException(file + ": tensor " + name + " is " + entry.dtype()
                    + ", not a floating-point type");
        }
        ByteBuffer data = FileRegions.read(channel, file, dataStart + entry.begin(),
                entry.end() - entry.begin(), "tensor " + name);
        return new CheckpointTensor(name, entry.shape(), entry.type().toFloats(data));
    }

    /**
     * Closes the file.
     *
     * @throws IOException if closing fails
     */
    @Override
    public void close() throws IOException {
        channel.close();
    }
}
