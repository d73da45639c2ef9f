package org.quantint8.zoo;

import ai.djl.MalformedModelException;
import ai.djl.util.JsonUtils;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.quantize.PostTrainingQuantizer;
import org.quantint8.onnx.quantize.QuantizedOnnxModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Publishes zoo entries into a repository folder: the {@code fp32} artifact is the source's ONNX
 * model, the {@code int8} artifact the same model quantized by QuantInt8 (dynamic INT8, weights
 * per output channel; the same quantizer the engine runs at load time), a plain ONNX file that
 * ONNX Runtime runs too. Each artifact also holds the source's extra files (a vocabulary, a
 * tokenizer), and {@code metadata.json} records the artifacts' properties and every file's size
 * and SHA-256.
 *
 * <pre>{@code
 * ZooPublisher.builder().build()   // the folder of -Dquantint8.zoo.repository, or the default
 *         .publish(ZooEntry.GPT2, ModelSources.gpt2Random(42));
 * }</pre>
 *
 * <p>Publishing is atomic: the entry is built in {@code <repository>/.staging/}, forced to disk
 * and renamed into place, replacing the previous one; a failed publish leaves the previous state.
 */
public final class ZooPublisher {

    /** The version of the artifacts in {@code metadata.json}. */
    public static final String ARTIFACT_VERSION = "0.1.0";
    /** The folder, under the repository, where entries are built before they are moved in. */
    public static final String STAGING = ".staging";

    private static final Logger LOGGER = LoggerFactory.getLogger(ZooPublisher.class);

    private final ZooRepository repository;

    private ZooPublisher(Builder builder) {
        this.repository = builder.repository != null
                ? ZooRepository.of(builder.repository)
                : ZooRepository.fromSystemProperties();
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
     * Returns the repository published into.
     *
     * @return the repository
     */
    public ZooRepository getRepository() {
        return repository;
    }

    /**
     * Publishes an entry, replacing what was published for it before.
     *
     * @param entry the entry
     * @param source the FP32 model, the origin of its weights and the extra files
     * @return the entry's folder
     * @throws IOException if a file cannot be read or written; the previous state is kept
     * @throws MalformedModelException if the source's ONNX file is malformed
     * @throws IllegalArgumentException if the model cannot be quantized
     */
    public Path publish(ZooEntry entry, ModelSource source)
            throws IOException, MalformedModelException {
        long start = System.nanoTime();
        Path staging = repository.root().resolve(STAGING);
        Files.createDirectories(staging);
        Path folder = Files.createTempDirectory(staging, entry.artifactId() + '-');
        try {
            JsonArray artifacts = new JsonArray();
            // int8 first: DJL serves the first matching artifact when no precision is asked
            artifacts.add(writeArtifact(folder, entry, Precision.INT8, source));
            artifacts.add(writeArtifact(folder, entry, Precision.FP32, source));
            Files.writeString(folder.resolve(ZooRepository.METADATA),
                    JsonUtils.GSON_PRETTY.toJson(metadata(entry, artifacts)) + '\n',
                    StandardCharsets.UTF_8);
            AtomicFiles.fsyncTree(folder);
            Path target = repository.entryFolder(entry);
            AtomicFiles.replaceFolder(folder, target);
            LOGGER.info("Published {}:{} ({}) into {} in {} s", Int8ModelZoo.GROUP_ID,
                    entry.artifactId(), source.getWeights(), target,
                    (System.nanoTime() - start) / 1_000_000_000);
            return target;
        } finally {
            AtomicFiles.deleteRecursively(folder);
        }
    }

    private static JsonObject writeArtifact(Path entryFolder, ZooEntry entry, Precision precision,
            ModelSource source) throws IOException, MalformedModelException {
        String name = entry.artifactName(precision);
        String relative = ARTIFACT_VERSION + '/' + name + '/';
        Path folder = Files.createDirectories(entryFolder.resolve(relative));
        Path model = folder.resolve(name + ".onnx");
        if (precision == Precision.FP32) {
            source.writeModel(model);
        } else {
            QuantizationConfig config =
                    QuantizationConfig.builder().optMode(QuantizationMode.DYNAMIC).build();
            QuantizedOnnxModel quantized =
                    PostTrainingQuantizer.quantize(source.readModel(), config, List.of());
            OnnxModelWriter.builder().build().write(quantized.model(), model);
            Files.writeString(folder.resolve("quantization-report.txt"),
                    quantized.report().toText(), StandardCharsets.UTF_8);
        }
        for (Map.Entry<String, Path> file : source.getFiles().entrySet()) {
            Files.copy(file.getValue(), folder.resolve(file.getKey()));
        }
        JsonObject files = new JsonObject();
        try (var listing = Files.list(folder)) {
            for (Path file : listing.sorted().toList()) {
                String fileName = file.getFileName().toString();
                String key = fileName.equals(model.getFileName().toString()) ? "model" : fileName;
                files.add(key, item(relative + fileName, file));
            }
        }
        JsonObject properties = new JsonObject();
        properties.addProperty(Precision.PROPERTY, precision.value());
        properties.addProperty(ZooEntry.WEIGHTS, source.getWeights());
        JsonObject artifact = new JsonObject();
        artifact.addProperty("version", ARTIFACT_VERSION);
        artifact.addProperty("snapshot", false);
        artifact.addProperty("name", name);
        artifact.add("properties", properties);
        artifact.add("files", files);
        return artifact;
    }

    /** A file of an artifact as DJL's metadata describes one, with its SHA-256 added. */
    private static JsonObject item(String uri, Path file) throws IOException {
        String[] digests = AtomicFiles.digests(file, "SHA-1", "SHA-256");
        JsonObject item = new JsonObject();
        item.addProperty("uri", uri);
        item.addProperty("name", file.getFileName().toString());
        item.addProperty("size", Files.size(file));
        // sha1Hash lets DJL's own file:// repository verify its copy; the zoo checks SHA-256
        item.addProperty("sha1Hash", digests[0]);
        item.addProperty(ZooRepository.SHA256, digests[1]);
        return item;
    }

    private static JsonObject metadata(ZooEntry entry, JsonArray artifacts) {
        JsonObject metadata = new JsonObject();
        metadata.addProperty("metadataVersion", "0.2");
        metadata.addProperty("resourceType", "model");
        metadata.addProperty("application", entry.application().getPath());
        metadata.addProperty("groupId", Int8ModelZoo.GROUP_ID);
        metadata.addProperty("artifactId", entry.artifactId());
        metadata.addProperty("name", entry.artifactId());
        metadata.addProperty("description", "QuantInt8 zoo entry " + entry.artifactId()
                + ": FP32 and INT8 ONNX models; public FP32 weights: " + entry.publicWeights());
        metadata.add("artifacts", artifacts);
        return metadata;
    }

    /** Configures a {@link ZooPublisher}. */
    public static final class Builder {

        private Path repository;

        Builder() {}

        /**
         * Sets the repository folder.
         *
         * @param repository the folder; by default the one {@link
         *     ZooRepository#fromSystemProperties()} names
         * @return this builder
         */
        public Builder optRepository(Path repository) {
            this.repository = repository;
            return this;
        }

        /**
         * Builds the publisher.
         *
         * @return the publisher
         */
        public ZooPublisher build() {
            return new ZooPublisher(this);
        }
    }
}
