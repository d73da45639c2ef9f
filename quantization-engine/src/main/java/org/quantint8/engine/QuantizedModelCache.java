package org.quantint8.engine;

import ai.djl.util.Utils;

import org.quantint8.onnx.OnnxFormatException;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelReader;
import org.quantint8.onnx.OnnxModelWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Quantized models kept on disk, so that the next load of the same model with the same settings
 * skips quantization. An entry is an ONNX file (runnable by any ONNX runtime) and a sidecar with
 * its SHA-256. Entries are written to a temporary file, flushed to disk and moved into place
 * atomically; an entry whose file does not match its sidecar, or does not parse, is deleted and
 * rebuilt.
 */
final class QuantizedModelCache {

    /**
     * The version of what the quantizer writes; part of every key, so that entries written by an
     * older quantizer (for example one that stored tied embedding tables twice) are not reused.
     * Raise it whenever the rewrite of a graph changes.
     */
    static final int FORMAT = 2;


    private static final Logger LOGGER = LoggerFactory.getLogger(QuantizedModelCache.class);
    private static final java.util.Map<String, byte[]> SOURCE_DIGESTS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private final Path dir;

    QuantizedModelCache(Path dir) {
        this.dir = dir;
    }

    /** The cache folder of the options, or DJL's cache folder by default. */
    static QuantizedModelCache of(QuantizationOptions options) {
        String dir = options.getCacheDir();
        return new QuantizedModelCache(
                dir != null ? Path.of(dir) : Utils.getCacheDir().resolve("quantint8"));
    }

    /**
     * Returns the key of a source model quantized under given settings.
     *
     * @param source the source model file
     * @param settings everything else that changes the result (options, calibration data)
     * @return a hexadecimal key
     * @throws IOException if the source cannot be read
     */
    static String key(Path source, String settings) throws IOException {
        MessageDigest digest = sha256();
        digest.update(sourceDigest(source));
        digest.update((QuantInt8Engine.VERSION + '\n' + FORMAT + '\n' + settings)
                .getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(digest.digest(), 0, 20);
    }

    /**
     * The SHA-256 of a source file, remembered for the process by path, file key, size and
     * modification time (to the file system's precision): hashing a 100 MB model costs more than
     * the rest of a cached load.
     */
    private static byte[] sourceDigest(Path source) throws IOException {
        Path file = source.toAbsolutePath().normalize();
        java.nio.file.attribute.BasicFileAttributes a =
                Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
        String stamp = file + "|" + a.fileKey() + "|" + a.size() + "|"
                + a.lastModifiedTime().toInstant();
        byte[] known = SOURCE_DIGESTS.get(stamp);
        if (known != null) {
            return known;
        }
        byte[] digest = digestOf(file).digest();
        SOURCE_DIGESTS.put(stamp, digest);
        return digest;
    }

    /** Returns the file of an entry. */
    Path modelFile(String key) {
        return dir.resolve(key + ".onnx");
    }

    /**
     * A cached quantized model with the report of its quantization.
     *
     * @param model the quantized model
     * @param reportText the report as a table
     * @param reportJson the report as JSON
     */
    record Entry(OnnxModel model, String reportText, String reportJson) {}

    /**
     * Reads an entry with its report, verifying the model first.
     *
     * @param key the key
     * @return the entry, or empty when there is no valid entry (a damaged one is deleted)
     */
    Optional<Entry> readEntry(String key) {
        Optional<OnnxModel> model = read(key);
        if (model.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Entry(model.get(),
                    Files.readString(dir.resolve(key + ".report.txt"), StandardCharsets.UTF_8),
                    Files.readString(dir.resolve(key + ".report.json"), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            LOGGER.warn("Quantized model cache entry {} has no report: rebuilding it", key);
            delete(key);
            return Optional.empty();
        }
    }

    /**
     * Writes an entry with its report; the report goes first, so that a verified model always
     * has one. A failure is logged, not thrown: the model is usable anyway.
     *
     * @param key the key
     * @param entry the entry
     */
    void writeEntry(String key, Entry entry) {
        try {
            Files.createDirectories(dir);
            writeAtomically(dir.resolve(key + ".report.txt"),
                    entry.reportText().getBytes(StandardCharsets.UTF_8));
            writeAtomically(dir.resolve(key + ".report.json"),
                    entry.reportJson().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            LOGGER.warn("Cannot write the quantized model cache entry {}: {}", key, e.getMessage());
            return;
        }
        write(key, entry.model());
    }

    /**
     * Reads an entry, verifying it first.
     *
     * @param key the key
     * @return the model, or empty when there is no valid entry (a damaged one is deleted)
     */
    Optional<OnnxModel> read(String key) {
        Path file = modelFile(key);
        Path sidecar = sidecar(key);
        if (!Files.exists(file) || !Files.exists(sidecar)) {
            return Optional.empty();
        }
        try {
            String expected = Files.readString(sidecar, StandardCharsets.US_ASCII).trim();
            if (!expected.equals(hash(file))) {
                LOGGER.warn("Quantized model cache entry {} does not match its checksum:"
                        + " rebuilding it", file);
                delete(key);
                return Optional.empty();
            }
            return Optional.of(OnnxModelReader.read(file));
        } catch (IOException | OnnxFormatException e) {
            LOGGER.warn("Quantized model cache entry {} is unreadable ({}): rebuilding it", file,
                    e.getMessage());
            delete(key);
            return Optional.empty();
        }
    }

    /**
     * Writes an entry atomically. A failure is logged, not thrown: the model is usable anyway.
     *
     * @param key the key
     * @param model the quantized model
     */
    void write(String key, OnnxModel model) {
        try {
            Files.createDirectories(dir);
            byte[] bytes = OnnxModelWriter.builder().build().toByteArray(model);
            writeAtomically(modelFile(key), bytes);
            String hash = HexFormat.of().formatHex(sha256().digest(bytes));
            writeAtomically(sidecar(key), (hash + '\n').getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            LOGGER.warn("Cannot write the quantized model cache entry {}: {}", modelFile(key),
                    e.getMessage());
        }
    }

    private static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void delete(String key) {
        try {
            Files.deleteIfExists(modelFile(key));
            Files.deleteIfExists(sidecar(key));
            Files.deleteIfExists(dir.resolve(key + ".report.txt"));
            Files.deleteIfExists(dir.resolve(key + ".report.json"));
        } catch (IOException e) {
            LOGGER.warn("Cannot delete the damaged cache entry {}: {}", modelFile(key),
                    e.getMessage());
        }
    }

    private Path sidecar(String key) {
        return dir.resolve(key + ".onnx.sha256");
    }

    private static String hash(Path file) throws IOException {
        return HexFormat.of().formatHex(digestOf(file).digest());
    }

    private static MessageDigest digestOf(Path file) throws IOException {
        MessageDigest digest = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return digest;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }
}
