package org.quantint8.it.accuracy;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Locale;

/**
 * The file the accuracy suites cache trained parameters in, so that a rerun skips training: a
 * magic number naming the model family, the configuration key, the training time, the length and
 * SHA-256 of the payload (DJL's {@code saveParameters} bytes), then the payload. Written
 * atomically (temporary file, fsync, atomic move); read back only when every field checks out.
 * Parameters with a NaN or an infinity are never written, and a file that holds some is trained
 * over: a diverged or corrupted run fails where it happened, not in every later run.
 */
final class TrainedParameterCache {

    /**
     * A cache file's content.
     *
     * @param trainingSeconds how long training took when the file was written
     * @param payload the parameters as DJL saved them
     */
    record Entry(double trainingSeconds, byte[] payload) {}

    /**
     * Where a block's parameters came from.
     *
     * @param fromCache {@code true} when training was skipped
     * @param trainingSeconds how long training took, measured now or when the file was written
     */
    record Outcome(boolean fromCache, double trainingSeconds) {}

    private TrainedParameterCache() {}

    /**
     * Loads a block's parameters from its cache file or, when there is none or it is unusable
     * (said on standard error), trains the block and writes the file.
     *
     * @param file the cache file
     * @param magic the model family's magic number
     * @param key the configuration key
     * @param block the block, uninitialized
     * @param manager the manager of the block's parameters
     * @param inputShape an input shape to initialize the block with before loading
     * @param train trains the (initialized or not) block in place
     * @return where the parameters came from
     * @throws IOException if the cache file cannot be written
     * @throws IllegalStateException if training leaves a parameter that is not finite
     */
    static Outcome loadOrTrain(Path file, int magic, String key, Block block, NDManager manager,
            Shape inputShape, Runnable train) throws IOException {
        if (Files.exists(file)) {
            try {
                Entry entry = read(file, magic, key);
                block.initialize(manager, DataType.FLOAT32, inputShape);
                block.loadParameters(manager,
                        new DataInputStream(new ByteArrayInputStream(entry.payload())));
                requireFinite(block, key);
                return new Outcome(true, entry.trainingSeconds());
            } catch (IOException | RuntimeException | MalformedModelException e) {
                System.err.println("cache " + file + " is unusable (" + e.getMessage()
                        + "); training again");
                // Training initializes only parameters that hold nothing: drop what was loaded.
                block.clear();
            }
        }
        long start = System.nanoTime();
        train.run();
        double seconds = (System.nanoTime() - start) / 1e9;
        requireFinite(block, key);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            block.saveParameters(out);
        }
        write(file, magic, key, new Entry(seconds, bytes.toByteArray()));
        return new Outcome(false, seconds);
    }

    /**
     * Checks that every FP32 parameter of a block is finite.
     *
     * @param block the block, initialized
     * @param key the configuration key, for the message
     * @throws IllegalStateException naming the first parameter with a NaN or an infinity, how
     *     many it has and where the first is, and the machine
     */
    static void requireFinite(Block block, String key) {
        for (Pair<String, Parameter> named : block.getParameters()) {
            NDArray array = named.getValue().getArray();
            if (array.getDataType() != DataType.FLOAT32) {
                continue;
            }
            float[] values = array.toFloatArray();
            int nan = 0;
            int infinite = 0;
            int first = -1;
            for (int i = 0; i < values.length; i++) {
                if (!Float.isFinite(values[i])) {
                    nan += Float.isNaN(values[i]) ? 1 : 0;
                    infinite += Float.isInfinite(values[i]) ? 1 : 0;
                    first = first < 0 ? i : first;
                }
            }
            if (first >= 0) {
                throw new IllegalStateException(String.format(Locale.ROOT, "%s: parameter '%s'"
                        + " %s holds %d NaN and %d infinite of %d values, the first at flat"
                        + " index %d. %s", key, named.getKey(), array.getShape(), nan, infinite,
                        values.length, first, AccuracyReport.provenance()));
            }
        }
    }

    /**
     * Writes a cache file atomically, creating its folder.
     *
     * @param file the file
     * @param magic the model family's magic number
     * @param key the configuration key
     * @param entry the content
     * @throws IOException if the file cannot be written
     */
    static void write(Path file, int magic, String key, Entry entry) throws IOException {
        Files.createDirectories(file.getParent());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(magic);
            out.writeUTF(key);
            out.writeDouble(entry.trainingSeconds());
            out.writeInt(entry.payload().length);
            out.write(sha256(entry.payload()));
            out.write(entry.payload());
        }
        Path temporary = Files.createTempFile(file.getParent(), ".trained-", ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes.toByteArray());
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /**
     * Reads a cache file and checks it.
     *
     * @param file the file
     * @param magic the model family's magic number
     * @param key the configuration key the file must carry
     * @return the content
     * @throws IOException if the file is of another family or configuration, truncated, longer
     *     than its header says, or fails its SHA-256
     */
    static Entry read(Path file, int magic, String key) throws IOException {
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            if (in.readInt() != magic) {
                throw new IOException(file + " is not a trained-parameters file of this model");
            }
            String stored = in.readUTF();
            if (!stored.equals(key)) {
                throw new IOException(file + " was trained for " + stored + ", not " + key);
            }
            double trainingSeconds = in.readDouble();
            int length = in.readInt();
            if (length < 0 || length > Files.size(file)) {
                throw new IOException(file + ": the header gives " + length + " bytes of"
                        + " parameters, the file has " + Files.size(file));
            }
            byte[] digest = in.readNBytes(32);
            byte[] payload = in.readNBytes(length);
            if (payload.length != length || in.read() != -1) {
                throw new IOException(file + ": length differs from the header's " + length
                        + " bytes");
            }
            if (!Arrays.equals(digest, sha256(payload))) {
                throw new IOException(file + ": SHA-256 mismatch");
            }
            return new Entry(trainingSeconds, payload);
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
