package org.quantint8.zoo;

import ai.djl.MalformedModelException;

import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelReader;
import org.quantint8.onnx.OnnxModelWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link ZooPublisher} publishes for an entry: the FP32 ONNX model, where its weights come
 * from (the artifacts' {@value ZooEntry#WEIGHTS} property), and files that go into both artifacts
 * next to the model (a vocabulary, a {@code tokenizer.json}). {@link ModelSources} makes the
 * sources of the zoo's entries.
 */
public final class ModelSource {

    private final OnnxModel model;
    private final Path file;
    private final String weights;
    private final Map<String, Path> files;

    private ModelSource(OnnxModel model, Path file, String weights, Map<String, Path> files) {
        if (weights == null || weights.isBlank()) {
            throw new IllegalArgumentException(
                    "The origin of the weights is required, e.g. 'random seed 42'");
        }
        this.model = model;
        this.file = file;
        this.weights = weights;
        this.files = files;
    }

    /**
     * Returns the source of a model built in memory (an architecture builder's).
     *
     * @param model the FP32 model
     * @param weights where its weights come from, e.g. {@code google bert-base-uncased} or
     *     {@code random seed 42}; never present random weights as trained ones
     * @return the source
     */
    public static ModelSource of(OnnxModel model, String weights) {
        return new ModelSource(model, null, weights, Map.of());
    }

    /**
     * Returns the source of an ONNX file, published byte for byte as the FP32 artifact.
     *
     * @param onnxFile the FP32 model file
     * @param weights where its weights come from
     * @return the source
     */
    public static ModelSource ofFile(Path onnxFile, String weights) {
        return new ModelSource(null, onnxFile, weights, Map.of());
    }

    /**
     * Returns this source with one more file for both artifacts.
     *
     * @param name the file's name in the artifact, e.g. {@code vocab.txt}
     * @param source the file to copy
     * @return a new source
     * @throws IllegalArgumentException if the name is not a plain file name, or already used
     */
    public ModelSource withFile(String name, Path source) {
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")
                || name.endsWith(".onnx") || files.containsKey(name)) {
            throw new IllegalArgumentException("Invalid or repeated artifact file name '" + name
                    + "': a plain file name, not hidden, not .onnx, once");
        }
        Map<String, Path> more = new LinkedHashMap<>(files);
        more.put(name, source);
        return new ModelSource(model, file, weights, Collections.unmodifiableMap(more));
    }

    /**
     * Returns where the weights come from.
     *
     * @return the origin
     */
    public String getWeights() {
        return weights;
    }

    /**
     * Returns the files that go next to the model, by name.
     *
     * @return the files
     */
    public Map<String, Path> getFiles() {
        return files;
    }

    /**
     * Returns the FP32 model, read from the file if the source is one.
     *
     * @return the model
     * @throws IOException if the file cannot be read
     * @throws MalformedModelException if the file is not valid ONNX
     */
    public OnnxModel readModel() throws IOException, MalformedModelException {
        return model != null ? model : OnnxModelReader.read(file);
    }

    /**
     * Writes the FP32 model file.
     *
     * @param target the file to write
     * @throws IOException if writing fails
     */
    void writeModel(Path target) throws IOException {
        if (model != null) {
            OnnxModelWriter.builder().build().write(model, target);
        } else {
            Files.copy(file, target);
        }
    }
}
