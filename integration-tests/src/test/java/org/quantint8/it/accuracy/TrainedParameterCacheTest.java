package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The trained-parameters cache file: written and read back, and each damage named. */
public class TrainedParameterCacheTest {

    private static final int MAGIC = 0x54455354;

    @Test
    public void readsBackWhatWasWritten() throws IOException {
        Path file = written("k1", new byte[] {1, 2, 3});
        TrainedParameterCache.Entry entry = TrainedParameterCache.read(file, MAGIC, "k1");
        assertEquals(entry.payload(), new byte[] {1, 2, 3});
        assertEquals(entry.trainingSeconds(), 12.5);
        try (var files = Files.list(file.getParent())) {
            assertEquals(files.count(), 1L, "no temporary file is left behind");
        }
    }

    @Test
    public void rejectsAnotherConfigurationOrFamily() throws IOException {
        Path file = written("k1", new byte[] {1, 2, 3});
        IOException key = expectThrows(IOException.class,
                () -> TrainedParameterCache.read(file, MAGIC, "k2"));
        assertEquals(key.getMessage(), file + " was trained for k1, not k2");
        IOException magic = expectThrows(IOException.class,
                () -> TrainedParameterCache.read(file, MAGIC + 1, "k1"));
        assertTrue(magic.getMessage().contains("not a trained-parameters file"),
                magic.getMessage());
    }

    @Test
    public void rejectsADamagedOrTruncatedPayload() throws IOException {
        Path file = written("k1", new byte[] {1, 2, 3, 4});
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 1;
        Files.write(file, bytes);
        IOException flipped = expectThrows(IOException.class,
                () -> TrainedParameterCache.read(file, MAGIC, "k1"));
        assertEquals(flipped.getMessage(), file + ": SHA-256 mismatch");
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 1));
        IOException truncated = expectThrows(IOException.class,
                () -> TrainedParameterCache.read(file, MAGIC, "k1"));
        assertEquals(truncated.getMessage(), file + ": length differs from the header's 4 bytes");
    }

    private static Path written(String key, byte[] payload) throws IOException {
        Path file = Files.createTempDirectory("trained-cache").resolve("sub").resolve("x.params");
        TrainedParameterCache.write(file, MAGIC, key,
                new TrainedParameterCache.Entry(12.5, payload));
        return file;
    }
}
