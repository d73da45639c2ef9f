package org.quantint8.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The real models that Maven dependencies carry as class-path resources ({@code <name>.onnx} and
 * {@code <name>-tokenizer.json}), copied into a folder of their own on first use.
 */
public final class ModelResources {

    private ModelResources() {}

    /**
     * Returns a folder holding the model's files, copying them from the class path if needed.
     * Copies are atomic, so an interrupted copy is never mistaken for a model.
     *
     * @param name the model name, for example {@code all-minilm-l6-v2}
     * @param root the folder under which the model gets a folder of its own
     * @return the model folder
     * @throws IllegalStateException if the model is not on the class path
     */
    public static synchronized Path extract(String name, Path root) {
        Path dir = root.resolve(name);
        try {
            Files.createDirectories(dir);
            for (String file : new String[] {name + ".onnx", name + "-tokenizer.json"}) {
                Path target = dir.resolve(file);
                if (Files.exists(target)) {
                    continue;
                }
                try (InputStream in = ModelResources.class.getClassLoader().getResourceAsStream(file)) {
                    if (in == null) {
                        throw new IllegalStateException(file + " is not on the class path: the"
                                + " model's Maven dependency is missing from integration-tests/pom.xml");
                    }
                    Path tmp = Files.createTempFile(dir, file, ".part");
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }
}
