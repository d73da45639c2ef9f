package org.quantint8.zoo.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/** Writes small safetensors files, independently of the reader. */
final class SafetensorsFixture {

    private SafetensorsFixture() {}

    /** A tensor to write: its dtype and raw little-endian bytes. */
    record Raw(String name, String dtype, long[] shape, byte[] bytes) {}

    /**
     * Returns a tensor's values encoded in a float dtype.
     *
     * @param tensor the tensor
     * @param dtype {@code F32}, {@code F16} or {@code BF16}
     * @return the raw tensor
     */
    static Raw encode(CheckpointTensor tensor, String dtype) {
        float[] values = tensor.values();
        int width = dtype.equals("F32") ? 4 : 2;
        ByteBuffer bytes = ByteBuffer.allocate(width * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float value : values) {
            switch (dtype) {
                case "F32" -> bytes.putFloat(value);
                case "F16" -> bytes.putShort(Float.floatToFloat16(value));
                case "BF16" -> bytes.putShort((short) (Float.floatToRawIntBits(value) >>> 16));
                default -> throw new IllegalArgumentException(dtype);
            }
        }
        return new Raw(tensor.name(), dtype, tensor.shape(), bytes.array());
    }

    /**
     * Writes a file with the tensors stored one after the other, and optional metadata.
     *
     * @param file the file
     * @param tensors the tensors
     * @param metadataJson the {@code __metadata__} object's JSON, or {@code null}
     * @throws IOException if writing fails
     */
    static void write(Path file, List<Raw> tensors, String metadataJson) throws IOException {
        StringBuilder header = new StringBuilder("{");
        if (metadataJson != null) {
            header.append("\"__metadata__\":").append(metadataJson).append(',');
        }
        long offset = 0;
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Raw tensor : tensors) {
            String shape = Arrays.stream(tensor.shape()).mapToObj(Long::toString)
                    .collect(Collectors.joining(","));
            header.append(String.format("\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],"
                            + "\"data_offsets\":[%d,%d]},", tensor.name(), tensor.dtype(), shape,
                    offset, offset + tensor.bytes().length));
            offset += tensor.bytes().length;
            data.writeBytes(tensor.bytes());
        }
        header.setCharAt(header.length() - 1, '}');
        writeRaw(file, header.toString(), data.toByteArray());
    }

    /**
     * Writes a file from a header and data as given, padding the header to 8 bytes.
     *
     * @param file the file
     * @param header the JSON header
     * @param data the data
     * @throws IOException if writing fails
     */
    static void writeRaw(Path file, String header, byte[] data) throws IOException {
        StringBuilder padded = new StringBuilder(header);
        while (padded.length() % 8 != 0) {
            padded.append(' ');
        }
        byte[] json = padded.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + data.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json).put(data);
        Files.write(file, out.array());
    }
}
