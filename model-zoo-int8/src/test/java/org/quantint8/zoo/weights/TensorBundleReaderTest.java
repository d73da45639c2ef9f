package org.quantint8.zoo.weights;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.testng.annotations.BeforeMethod;
import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Reads bundles written by {@link TensorBundleFixture}; corrupted ones fail clearly. */
public class TensorBundleReaderTest {

    private Path prefix;
    private List<CheckpointTensor> tensors;

    @BeforeMethod
    public void write() throws IOException {
        prefix = Files.createTempDirectory("bundle").resolve("variables");
        tensors = new ArrayList<>();
        for (int layer = 0; layer < 3; layer++) {
            String scope = "module/bert/encoder/layer_" + layer + "/attention/self/query/";
            tensors.add(tensor(scope + "kernel", layer, 4, 3));
            tensors.add(tensor(scope + "bias", layer + 10, 3));
        }
        tensors.add(tensor("module/cls/predictions/output_bias", 99, 5));
        tensors.add(new CheckpointTensor("global_step_scale", new long[0], new float[] {2.5f}));
        new TensorBundleFixture().write(prefix, tensors);
    }

    private static CheckpointTensor tensor(String name, int seed, long... shape) {
        float[] values = new float[(int) CheckpointTensor.elementCount(shape)];
        for (int i = 0; i < values.length; i++) {
            values[i] = seed + i / 8f;
        }
        return new CheckpointTensor(name, shape, values);
    }

    @Test
    public void readsEveryTensor() throws IOException {
        try (TensorBundleReader reader = TensorBundleReader.open(prefix)) {
            Map<String, CheckpointTensor> read = reader.readAll();
            assertEquals(read.size(), tensors.size());
            for (CheckpointTensor expected : tensors) {
                assertEquals(read.get(expected.name()), expected, expected.name());
            }
            assertEquals(reader.read("module/cls/predictions/output_bias").shape(), new long[] {5});
            expectThrows(IllegalArgumentException.class, () -> reader.read("no/such/tensor"));
        }
    }

    @Test
    public void corruptedTensorDataFailsItsChecksum() throws IOException {
        Path data = prefix.resolveSibling("variables.data-00000-of-00001");
        byte[] bytes = Files.readAllBytes(data);
        bytes[4 * 12 + 1] ^= 0x10; // inside the second tensor written, layer_0/.../query/bias
        Files.write(data, bytes);
        try (TensorBundleReader reader = TensorBundleReader.open(prefix)) {
            WeightFormatException e = expectThrows(WeightFormatException.class, reader::readAll);
            assertTrue(e.getMessage().contains("checksum mismatch for tensor"), e.getMessage());
            assertTrue(e.getMessage().contains(data.toString()), e.getMessage());
        }
    }

    @Test
    public void corruptedIndexBlockFailsItsChecksum() throws IOException {
        Path index = prefix.resolveSibling("variables.index");
        byte[] bytes = Files.readAllBytes(index);
        bytes[20] ^= 0x01;
        Files.write(index, bytes);
        WeightFormatException e = expectThrows(WeightFormatException.class,
                () -> TensorBundleReader.open(prefix));
        assertTrue(e.getMessage().contains("checksum mismatch in the data block"), e.getMessage());
    }

    @Test
    public void truncatedDataFileIsReportedBeforeAllocating() throws IOException {
        Path data = prefix.resolveSibling("variables.data-00000-of-00001");
        byte[] bytes = Files.readAllBytes(data);
        Files.write(data, Arrays.copyOf(bytes, bytes.length - 8));
        try (TensorBundleReader reader = TensorBundleReader.open(prefix)) {
            WeightFormatException e = expectThrows(WeightFormatException.class, reader::readAll);
            assertTrue(e.getMessage().contains("claims bytes"), e.getMessage());
        }
    }

    @Test
    public void badMagicAndShortFilesAreRejected() throws IOException {
        Path index = prefix.resolveSibling("variables.index");
        byte[] bytes = Files.readAllBytes(index);
        bytes[bytes.length - 1] = 0;
        Files.write(index, bytes);
        WeightFormatException e = expectThrows(WeightFormatException.class,
                () -> TensorBundleReader.open(prefix));
        assertTrue(e.getMessage().contains("bad magic number"), e.getMessage());
        Files.write(index, new byte[10]);
        expectThrows(WeightFormatException.class, () -> TensorBundleReader.open(prefix));
    }

    @Test
    public void compressedBlocksAreNamed() throws IOException {
        TensorBundleFixture snappy = new TensorBundleFixture();
        snappy.compressionType = 1;
        snappy.write(prefix, tensors);
        WeightFormatException e = expectThrows(WeightFormatException.class,
                () -> TensorBundleReader.open(prefix));
        assertTrue(e.getMessage().contains("Snappy"), e.getMessage());
    }

    @Test
    public void maskMatchesTheIndependentImplementation() {
        for (int crc : new int[] {0, 1, -1, 0x12345678, 0xe3069283}) {
            assertEquals(Crc32c.mask(crc), TensorBundleFixture.mask(crc));
        }
    }
}
