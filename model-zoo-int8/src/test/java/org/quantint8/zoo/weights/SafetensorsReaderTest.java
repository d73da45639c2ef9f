package org.quantint8.zoo.weights;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads safetensors files of every float dtype and rejects inconsistent headers. */
public class SafetensorsReaderTest {

    private static final CheckpointTensor MATRIX = new CheckpointTensor("h.0.mlp.c_fc.weight",
            new long[] {2, 3}, new float[] {0.5f, -1.25f, 3f, 1024f, -0.0625f, 7.5f});

    @Test
    public void readsF32F16Bf16AndMetadata() throws IOException {
        Path file = Files.createTempFile("tensors", ".safetensors");
        byte[] ids = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(7).putLong(9)
                .array();
        SafetensorsFixture.write(file, List.of(
                SafetensorsFixture.encode(MATRIX, "F32"),
                SafetensorsFixture.encode(rename(MATRIX, "half"), "F16"),
                SafetensorsFixture.encode(rename(MATRIX, "brain"), "BF16"),
                new SafetensorsFixture.Raw("position_ids", "I64", new long[] {2}, ids)),
                "{\"format\":\"pt\"}");
        try (SafetensorsReader reader = SafetensorsReader.open(file)) {
            assertEquals(reader.metadata(), Map.of("format", "pt"));
            assertEquals(reader.names().size(), 4);
            Map<String, CheckpointTensor> tensors = reader.readAll();
            assertEquals(tensors.keySet(), Set.of(MATRIX.name(), "half", "brain"));
            assertEquals(tensors.get(MATRIX.name()), MATRIX);
            // these values are exact in half and bfloat16
            assertEquals(tensors.get("half").values(), MATRIX.values());
            assertEquals(tensors.get("brain").values(), MATRIX.values());
            WeightFormatException e = expectThrows(WeightFormatException.class,
                    () -> reader.read("position_ids"));
            assertTrue(e.getMessage().contains("I64"), e.getMessage());
        }
    }

    @Test
    public void rejectsInconsistentHeaders() throws IOException {
        assertRejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24,
                "needs 24 bytes");
        assertRejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
                "lie outside");
        assertRejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlap");
        assertRejected("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1,
                "unknown dtype");
        assertRejected("[1, 2]", 0, "not a JSON object");
        assertRejected("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor a");
    }

    @Test
    public void rejectsHeaderLengthsBeyondTheFile() throws IOException {
        Path file = Files.createTempFile("tensors", ".safetensors");
        Files.write(file, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(1L << 40).array());
        WeightFormatException e = expectThrows(WeightFormatException.class,
                () -> SafetensorsReader.open(file));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
        Files.write(file, new byte[5]);
        expectThrows(WeightFormatException.class, () -> SafetensorsReader.open(file));
    }

    private static void assertRejected(String header, int dataBytes, String message)
            throws IOException {
        Path file = Files.createTempFile("bad", ".safetensors");
        SafetensorsFixture.writeRaw(file, header, new byte[dataBytes]);
        WeightFormatException e = expectThrows(WeightFormatException.class,
                () -> SafetensorsReader.open(file));
        assertTrue(e.getMessage().contains(message), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    private static CheckpointTensor rename(CheckpointTensor tensor, String name) {
        return new CheckpointTensor(name, tensor.shape(), tensor.values());
    }
}
