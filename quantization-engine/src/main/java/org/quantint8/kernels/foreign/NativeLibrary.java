package org.quantint8.kernels.foreign;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Finds the native library in the class path (the build puts it at {@value #RESOURCE}), copies
 * it to a cache folder and loads it.
 *
 * <p>The copy is named by the SHA-256 of the library, so different versions never collide, and
 * is written atomically: to a temporary file in the same folder, forced to disk, then moved in
 * place with an atomic rename. A copy already there is reused only if its size and hash match;
 * a concurrent JVM doing the same thing renames an identical file over it, which is harmless.
 * The folder is {@code quantint8.native.cache} if set, else {@code ~/.cache/quantint8/native},
 * else the temporary folder.
 */
final class NativeLibrary {

    /** Where the build puts the library in the class path. */
    static final String RESOURCE = "/native/linux-x86_64/libquantint8.so";

    /** The system property naming the cache folder. */
    static final String CACHE_PROPERTY = "quantint8.native.cache";

    private NativeLibrary() {}

    /**
     * Extracts and loads the library for the life of the JVM.
     *
     * @return the library's symbols
     * @throws IOException if it cannot be extracted
     * @throws UnsupportedOperationException if there is no library for this platform
     */
    @SuppressWarnings("restricted") // native access is the point; the JVM warns once without the flag
    static SymbolLookup load() throws IOException {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new UnsupportedOperationException(
                    "no native kernels for " + os + "/" + arch + " (only linux-x86_64 is built)");
        }
        byte[] library;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new UnsupportedOperationException(
                        RESOURCE + " is not in the class path (no C compiler when it was built?)");
            }
            library = in.readAllBytes();
        }
        String hash = sha256(library);
        Path file;
        try {
            file = extract(cacheFolder(), library, hash);
        } catch (IOException e) {
            file = extract(Path.of(System.getProperty("java.io.tmpdir"), "quantint8-native-"
                    + System.getProperty("user.name", "user")), library, hash);
        }
        return SymbolLookup.libraryLookup(file, Arena.global());
    }

    private static Path cacheFolder() {
        String configured = System.getProperty(CACHE_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "quantint8", "native");
    }

    /**
     * Returns the cached copy of a library in a folder, writing it atomically if it is missing or
     * differs.
     *
     * @param folder the cache folder
     * @param library the library's bytes
     * @param hash their SHA-256, in hex
     * @return the file to load
     * @throws IOException if the folder cannot be written
     */
    static Path extract(Path folder, byte[] library, String hash) throws IOException {
        Files.createDirectories(folder);
        Path target = folder.resolve("libquantint8-" + hash.substring(0, 16) + ".so");
        if (Files.isRegularFile(target)
                && Files.size(target) == library.length
                && sha256(Files.readAllBytes(target)).equals(hash)) {
            return target;
        }
        Path temp = Files.createTempFile(folder, "libquantint8-", ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(library);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true); // on disk before the rename makes it visible
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
        return target;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }
}
