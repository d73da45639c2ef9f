package org.quantint8.zoo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * File operations that never leave anything half-written: content is built under a temporary
 * name on the same file system, forced to disk, then made visible by one atomic rename.
 */
public final class AtomicFiles {

    /** Fills a folder that becomes visible only once complete. */
    @FunctionalInterface
    public interface FolderWriter {

        /**
         * Writes the folder's content.
         *
         * @param folder the temporary folder to fill
         * @throws IOException if writing fails
         */
        void write(Path folder) throws IOException;
    }

    private AtomicFiles() {}

    /**
     * Returns a folder, creating it first if it does not exist: the content is written into a
     * temporary sibling, forced to disk and renamed atomically, so the folder is either absent or
     * complete. When another process creates it first, its folder is kept.
     *
     * @param folder the folder
     * @param writer fills the folder
     * @return the folder
     * @throws IOException if writing or the rename fails; nothing is left behind then
     */
    public static Path createFolder(Path folder, FolderWriter writer) throws IOException {
        if (Files.isDirectory(folder)) {
            return folder;
        }
        Path parent = folder.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path temporary = Files.createTempDirectory(parent, "." + folder.getFileName() + "-");
        try {
            writer.write(temporary);
            fsyncTree(temporary);
            Files.move(temporary, folder, StandardCopyOption.ATOMIC_MOVE);
            fsync(parent);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            // created by another process in the meantime: theirs is complete too
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("Cannot move " + temporary + " atomically to " + folder, e);
        } finally {
            deleteRecursively(temporary);
        }
        return folder;
    }

    /**
     * Replaces a folder by a complete one prepared on the same file system. The old folder is
     * first renamed aside, and renamed back if the new one cannot be moved in, so a failure
     * leaves the previous state; readers may find no folder only between the two renames.
     *
     * @param prepared the complete new folder, already forced to disk
     * @param target the folder to replace; it need not exist
     * @throws IOException if the renames fail
     */
    public static void replaceFolder(Path prepared, Path target) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path old = null;
        if (Files.exists(target)) {
            old = prepared.resolveSibling(prepared.getFileName() + ".replaced");
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        try {
            Files.move(prepared, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (old != null) {
                Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
            }
            throw e;
        }
        fsync(parent);
        if (old != null) {
            deleteRecursively(old);
        }
    }

    /**
     * Forces a file or folder to disk (a folder: its entries).
     *
     * @param path the file or folder
     * @throws IOException if a file cannot be forced
     */
    public static void fsync(Path path) throws IOException {
        boolean folder = Files.isDirectory(path);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            if (!folder) {
                throw e;
            }
            // some platforms (Windows) cannot open a folder; its entries are then durable anyway
        }
    }

    /**
     * Forces every file and folder under a folder to disk.
     *
     * @param folder the folder
     * @throws IOException if a file cannot be forced
     */
    public static void fsyncTree(Path folder) throws IOException {
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(folder)) {
            // deepest first, so that each folder is forced after its entries
            paths = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path path : paths) {
            fsync(path);
        }
    }

    /**
     * Deletes a file or a folder with everything in it; nothing happens if it does not exist.
     *
     * @param path the file or folder
     * @throws IOException if something cannot be deleted
     */
    public static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> files = Files.walk(path)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Returns the digest of a file's content as lowercase hex.
     *
     * @param file the file
     * @param algorithm a {@link MessageDigest} algorithm, e.g. {@code SHA-256}
     * @return the digest
     * @throws IOException if the file cannot be read
     */
    public static String digest(Path file, String algorithm) throws IOException {
        return digests(file, algorithm)[0];
    }

    /**
     * Returns several digests of a file's content, reading it once.
     *
     * @param file the file
     * @param algorithms {@link MessageDigest} algorithms, e.g. {@code SHA-256}
     * @return the digests as lowercase hex, in the order of the algorithms
     * @throws IOException if the file cannot be read
     */
    public static String[] digests(Path file, String... algorithms) throws IOException {
        MessageDigest[] digests = new MessageDigest[algorithms.length];
        for (int i = 0; i < algorithms.length; i++) {
            digests[i] = messageDigest(algorithms[i]);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                for (MessageDigest digest : digests) {
                    digest.update(buffer, 0, n);
                }
            }
        }
        String[] hex = new String[digests.length];
        for (int i = 0; i < digests.length; i++) {
            hex[i] = HexFormat.of().formatHex(digests[i].digest());
        }
        return hex;
    }

    /**
     * Returns a message digest.
     *
     * @param algorithm the algorithm, one every JDK has ({@code SHA-256}, {@code SHA-1})
     * @return the digest
     */
    static MessageDigest messageDigest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalArgumentException("Unknown digest algorithm " + algorithm, e);
        }
    }
}
