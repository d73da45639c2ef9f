package org.quantint8.zoo;

import org.testng.Assert;
import org.testng.annotations.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URL;
import java.net.URLConnection;
import java.net.URLStreamHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;

/** Downloads are verified and atomic: the target is complete and matches, or left as it was. */
public class WeightsDownloaderTest {

    private final WeightsDownloader downloader = WeightsDownloader.builder().optQuiet(true).build();

    @Test
    public void downloadsAndVerifiesTheDigest() throws Exception {
        Path dir = Files.createTempDirectory("zoo-download");
        Path source = writeRandom(dir.resolve("remote.safetensors"), 300_000);
        Path target = dir.resolve("local/model.safetensors");
        String sha256 = AtomicFiles.digest(source, "SHA-256");

        Assert.assertEquals(downloader.download(source.toUri().toURL(), sha256, target), target);
        Assert.assertEquals(Files.readAllBytes(target), Files.readAllBytes(source));
        Assert.assertEquals(leftovers(target.getParent()), 1, "only the target, no temporary file");
    }

    @Test
    public void mismatchingDigestKeepsNothing() throws Exception {
        Path dir = Files.createTempDirectory("zoo-download");
        Path source = writeRandom(dir.resolve("remote.bin"), 10_000);
        Path target = dir.resolve("out/model.bin");
        String wrong = "0".repeat(64);

        IOException e = Assert.expectThrows(IOException.class,
                () -> downloader.download(source.toUri().toURL(), wrong, target));
        String message = e.getMessage();
        Assert.assertTrue(message.contains(source.toUri().toURL().toString()), message);
        Assert.assertTrue(message.contains(wrong), message);
        Assert.assertTrue(message.contains(AtomicFiles.digest(source, "SHA-256")), message);
        Assert.assertTrue(message.contains("10000 bytes"), message);
        Assert.assertFalse(Files.exists(target));
        Assert.assertEquals(leftovers(target.getParent()), 0);
    }

    @Test
    public void failedTransferKeepsThePreviousFile() throws Exception {
        Path dir = Files.createTempDirectory("zoo-download");
        Path target = dir.resolve("model.bin");
        Files.writeString(target, "previous");
        byte[] content = new byte[50_000];
        URL broken = URL.of(URI.create("https://example.invalid/model.bin"),
                new BrokenHandler(content, 20_000));

        IOException e = Assert.expectThrows(IOException.class,
                () -> downloader.download(broken, "a".repeat(64), target));
        Assert.assertTrue(e.getMessage().contains("https://example.invalid/model.bin"), e.getMessage());
        Assert.assertTrue(e.getMessage().contains("20000 bytes"), e.getMessage());
        Assert.assertEquals(Files.readString(target), "previous");
        Assert.assertEquals(leftovers(dir), 1, "no partial file left");
    }

    @Test
    public void truncatedTransferIsRejected() throws Exception {
        Path dir = Files.createTempDirectory("zoo-download");
        Path target = dir.resolve("model.bin");
        // the server announces 50000 bytes and closes the connection after 20000
        URL truncated = URL.of(URI.create("https://example.invalid/short.bin"),
                new BrokenHandler(new byte[50_000], -20_000));

        IOException e = Assert.expectThrows(IOException.class,
                () -> downloader.download(truncated, "a".repeat(64), target));
        Assert.assertTrue(e.getMessage().contains("incomplete: 20000 of 50000"), e.getMessage());
        Assert.assertEquals(leftovers(dir), 0);
    }

    @Test
    public void digestIsRequired() {
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> downloader.download(new URL("https://example.invalid/x"), "abc",
                        Path.of("x")));
        Assert.assertTrue(e.getMessage().contains("64 hex digits"), e.getMessage());
    }

    private static Path writeRandom(Path file, int size) throws IOException {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return Files.write(file, bytes);
    }

    private static long leftovers(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.count();
        }
    }

    /**
     * Serves content that stops after {@code failAfter} bytes: with an error if positive, by a
     * clean end of stream if negative.
     */
    private static final class BrokenHandler extends URLStreamHandler {

        private final byte[] content;
        private final int failAfter;

        BrokenHandler(byte[] content, int failAfter) {
            this.content = content;
            this.failAfter = failAfter;
        }

        @Override
        protected URLConnection openConnection(URL url) {
            return new URLConnection(url) {
                @Override
                public void connect() {}

                @Override
                public long getContentLengthLong() {
                    return content.length;
                }

                @Override
                public InputStream getInputStream() {
                    int served = Math.abs(failAfter);
                    return new InputStream() {
                        private int position;

                        @Override
                        public int read() throws IOException {
                            byte[] one = new byte[1];
                            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
                        }

                        @Override
                        public int read(byte[] b, int off, int len) throws IOException {
                            if (position == served) {
                                if (failAfter > 0) {
                                    throw new IOException("connection reset");
                                }
                                return -1;
                            }
                            int n = Math.min(len, served - position);
                            System.arraycopy(content, position, b, off, n);
                            position += n;
                            return n;
                        }
                    };
                }
            };
        }
    }
}
