package org.quantint8.engine;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds the {@code .onnx} file of a model path, as DJL's OnnxRuntime engine does: the path itself
 * if it is a file; otherwise, in the folder, the file named by the prefix, by the model name, by
 * the folder name or {@code model.onnx} (each with or without the extension), and failing those
 * the folder's only {@code .onnx} file.
 */
final class ModelFiles {

    private static final String EXTENSION = ".onnx";

    private ModelFiles() {}

    /**
     * Finds the model file.
     *
     * @param modelPath a folder or a file
     * @param names candidate names in order of preference; {@code null} entries are skipped
     * @return the file
     * @throws FileNotFoundException if there is no such file, or several candidates and no name
     *     picks one
     * @throws IOException if the folder cannot be listed
     */
    static Path find(Path modelPath, String... names) throws IOException {
        if (Files.isRegularFile(modelPath)) {
            return modelPath;
        }
        if (!Files.isDirectory(modelPath)) {
            throw new FileNotFoundException("Model path not found: " + modelPath);
        }
        Set<String> candidates = new LinkedHashSet<>();
        for (String name : names) {
            if (name != null && !name.isEmpty()) {
                candidates.add(name);
                candidates.add(name + EXTENSION);
            }
        }
        candidates.add("model" + EXTENSION);
        for (String candidate : candidates) {
            Path file = modelPath.resolve(candidate);
            if (candidate.endsWith(EXTENSION) && Files.isRegularFile(file)) {
                return file;
            }
        }
        List<Path> onnxFiles = new ArrayList<>();
        try (Stream<Path> files = Files.list(modelPath)) {
            files.filter(f -> f.getFileName().toString().endsWith(EXTENSION))
                    .filter(Files::isRegularFile)
                    .forEach(onnxFiles::add);
        }
        if (onnxFiles.size() == 1) {
            return onnxFiles.get(0);
        }
        throw new FileNotFoundException(
                (onnxFiles.isEmpty() ? "No .onnx file in " : "Several .onnx files in ")
                        + modelPath
                        + "; looked for "
                        + candidates);
    }

    /**
     * Returns a file name without its {@code .onnx} extension.
     *
     * @param file the file
     * @return the model name
     */
    static String modelName(Path file) {
        String name = file.getFileName().toString();
        return name.endsWith(EXTENSION) ? name.substring(0, name.length() - EXTENSION.length()) : name;
    }
}
