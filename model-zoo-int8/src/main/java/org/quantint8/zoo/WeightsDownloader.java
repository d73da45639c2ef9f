package org.quantint8.zoo;

import ai.djl.training.util.ProgressBar;
import ai.djl.util.Progress;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Downloads public weights (see {@link ZooEntry#publicWeights()}) to a file, for users with
 * internet: with DJL's progress bar, verified against the SHA-256 the caller pins, and written
 * atomically (a temporary file, forced to disk, renamed), so the target is either absent or the
 * complete, verified file.
 *
 * <pre>{@code
 * Path weights = WeightsDownloader.builder().build().download(
 *         ZooEntry.GPT2.publicWeights().toURL(), "<sha256 from the file's page>",
 *         Paths.get("gpt2/model.safetensors"));
 * }</pre>
 *
 * <p>The digest is required: the zoo cannot know it offline, and never trusts a download without
 * one. Hugging Face shows it on the file's page (the Git LFS object id, {@code oid sha256:...}).
 */
public final class WeightsDownloader {

    private static final int TIMEOUT_MILLIS = 30_000;

    private final Progress progress;
    private final boolean quiet;

    private WeightsDownloader(Builder builder) {
        this.progress = builder.progress;
        this.quiet = builder.quiet;
    }

    /**
     * Returns a builder.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Downloads a file, unless the target already exists with the expected digest.
     *
     * @param url where the file is ({@code https:}, or any URL the JDK opens)
     * @param sha256 the expected SHA-256, 64 hex digits
     * @param target the file to write; its folder is created if needed
     * @return the target
     * @throws IOException naming the URL if the download fails, is incomplete or has another
     *     digest (expected and actual given); the target is then left as it was
     * @throws IllegalArgumentException if the digest is not 64 hex digits
     */
    public Path download(URL url, String sha256, Path target) throws IOException {
        String expected = sha256 == null ? "" : sha256.toLowerCase(Locale.ROOT);
        if (!expected.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("The SHA-256 of " + url + " must be 64 hex digits,"
                    + " got '" + sha256 + "'");
        }
        if (Files.isRegularFile(target) && AtomicFiles.digest(target, "SHA-256").equals(expected)) {
            return target;
        }
        Path folder = target.toAbsolutePath().getParent();
        Files.createDirectories(folder);
        Path temporary = Files.createTempFile(folder, "." + target.getFileName(), ".part");
        try {
            String actual = copy(url, temporary);
            long size = Files.size(temporary);
            if (!actual.equals(expected)) {
                throw new IOException("Download of " + url + " has SHA-256 " + actual + " ("
                        + size + " bytes), expected " + expected + "; nothing was kept");
            }
            AtomicFiles.fsync(temporary);
            try {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("Cannot move " + temporary + " atomically to " + target, e);
            }
            AtomicFiles.fsync(folder);
            return target;
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** Copies the URL's content into a file; returns its SHA-256. */
    private String copy(URL url, Path file) throws IOException {
        MessageDigest digest = AtomicFiles.messageDigest("SHA-256");
        long expectedLength;
        long copied = 0;
        Progress bar = quiet ? null : progress != null ? progress : new ProgressBar();
        try {
            URLConnection connection = url.openConnection();
            connection.setConnectTimeout(TIMEOUT_MILLIS);
            connection.setReadTimeout(TIMEOUT_MILLIS);
            try (InputStream in = connection.getInputStream();
                    OutputStream out = Files.newOutputStream(file)) {
                expectedLength = connection.getContentLengthLong();
                if (bar != null) {
                    bar.reset("Downloading " + url, Math.max(expectedLength, 1));
                }
                byte[] buffer = new byte[1 << 16];
                for (int n; (n = in.read(buffer)) > 0; ) {
                    digest.update(buffer, 0, n);
                    out.write(buffer, 0, n);
                    copied += n;
                    if (bar != null && expectedLength > 0) {
                        bar.increment(n);
                    }
                }
            }
        } catch (IOException e) {
            throw new IOException("Download of " + url + " failed after " + copied + " bytes: "
                    + e.getMessage(), e);
        } finally {
            if (bar != null) {
                bar.end();
            }
        }
        if (expectedLength >= 0 && copied != expectedLength) {
            throw new IOException("Download of " + url + " is incomplete: " + copied + " of "
                    + expectedLength + " bytes");
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Configures a {@link WeightsDownloader}. */
    public static final class Builder {

        private Progress progress;
        private boolean quiet;

        Builder() {}

        /**
         * Sets the progress to report to.
         *
         * @param progress the progress; DJL's {@link ProgressBar} by default
         * @return this builder
         */
        public Builder optProgress(Progress progress) {
            this.progress = progress;
            return this;
        }

        /**
         * Turns the progress bar off.
         *
         * @param quiet {@code true} for no progress output
         * @return this builder
         */
        public Builder optQuiet(boolean quiet) {
            this.quiet = quiet;
            return this;
        }

        /**
         * Builds the downloader.
         *
         * @return the downloader
         */
        public WeightsDownloader build() {
            return new WeightsDownloader(this);
        }
    }
}
