package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.testng.annotations.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** The IDX reader on small files written here: the data back, and each malformation named. */
public class FashionMnistTest {

    @Test
    public void readsTheDataOfAWellFormedFile() throws IOException {
        Path file = idx(0x0803, new int[] {2, 2, 3}, 12);
        byte[] data = FashionMnist.readIdx(file, 2, 2, 3);
        assertEquals(data.length, 12);
        assertEquals(data[11], (byte) 11);
    }

    @Test
    public void rejectsAnotherElementTypeOrRank() throws IOException {
        Path floats = idx(0x0D03, new int[] {2, 2, 3}, 12);
        IOException e = expectThrows(IOException.class, () -> FashionMnist.readIdx(floats, 2, 2, 3));
        assertEquals(e.getMessage(), floats + ": IDX magic 0x00000d03, expected 0x00000803"
                + " (unsigned bytes, 3 dimensions)");
    }

    @Test
    public void rejectsDimensionsOtherThanExpected() throws IOException {
        Path file = idx(0x0803, new int[] {2, 2, 3}, 12);
        IOException e = expectThrows(IOException.class, () -> FashionMnist.readIdx(file, 2, 3, 2));
        assertEquals(e.getMessage(), file + ": dimension 1 is 2, expected 3");
    }

    @Test
    public void rejectsATruncatedOrPaddedFile() throws IOException {
        Path truncated = idx(0x0801, new int[] {5}, 4);
        IOException e = expectThrows(IOException.class, () -> FashionMnist.readIdx(truncated, 5));
        assertEquals(e.getMessage(),
                truncated + ": 4 bytes of data, the header's dimensions need 5");
        Path padded = idx(0x0801, new int[] {5}, 6);
        expectThrows(IOException.class, () -> FashionMnist.readIdx(padded, 5));
    }

    @Test
    public void namesTheScriptWhenAFileIsMissing() throws IOException {
        Path missing = Files.createTempDirectory("idx").resolve("t10k-labels-idx1-ubyte.gz");
        IOException e = expectThrows(IOException.class, () -> FashionMnist.readIdx(missing, 1));
        assertTrue(e.getMessage().startsWith(missing + " is missing: run"
                + " integration-tests/fetch-data.sh"), e.getMessage());
    }

    private static Path idx(int magic, int[] dims, int dataBytes) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(4 + 4 * dims.length).putInt(magic);
        for (int dim : dims) {
            header.putInt(dim);
        }
        Path file = Files.createTempFile("idx", ".gz");
        file.toFile().deleteOnExit();
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(header.array());
            for (int i = 0; i < dataBytes; i++) {
                out.write(i);
            }
        }
        return file;
    }
}
