package org.quantint8.zoo;

import ai.djl.repository.Artifact;
import ai.djl.repository.LocalRepository;
import ai.djl.repository.MRL;
import ai.djl.util.JsonUtils;
import ai.djl.util.Progress;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

/**
 * The folder the zoo serves, a DJL {@code file://} repository: one {@code metadata.json} per
 * entry at {@code model/<application>/org/quantint8/zoo/<artifactId>/}, and each artifact's files
 * in {@code <version>/<artifact name>/} next to it.
 *
 * <p>The folder is {@code ~/.cache/quantint8/zoo} unless the system property {@value #PROPERTY}
 * names another one (a path or a {@code file:} URL). Unlike DJL's {@link LocalRepository}, which
 * copies an artifact into DJL's cache before use, this repository serves the files where they are
 * (they are local already, and can be hundreds of megabytes), and checks each file's size and
 * SHA-256 against {@code metadata.json} every time an artifact is prepared for loading.
 */
public final class ZooRepository extends LocalRepository {

    /** The system property naming the repository folder. */
    public static final String PROPERTY = "quantint8.zoo.repository";
    /** The name of the entry's metadata file, as DJL's repositories name it. */
    public static final String METADATA = "metadata.json";
    /** The extra {@code files} field of {@code metadata.json} holding a file's SHA-256. */
    public static final String SHA256 = "sha256";

    private final Path root;

    private ZooRepository(Path root) {
        super("quantint8-zoo", root.toUri(), root);
        this.root = root;
    }

    /**
     * Returns the repository of a folder.
     *
     * @param root the folder; it need not exist yet
     * @return the repository
     */
    public static ZooRepository of(Path root) {
        return new ZooRepository(root.toAbsolutePath().normalize());
    }

    /**
     * Returns the repository the system property {@value #PROPERTY} names, read now, or the
     * default one.
     *
     * @return the repository
     * @throws IllegalArgumentException if the property is a URL other than {@code file:}
     */
    public static ZooRepository fromSystemProperties() {
        return of(configuredRoot());
    }

    /**
     * Returns the folder the system property {@value #PROPERTY} names, or the default {@code
     * ~/.cache/quantint8/zoo}.
     *
     * @return the folder
     * @throws IllegalArgumentException if the property is a URL other than {@code file:}
     */
    public static Path configuredRoot() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            return Paths.get(System.getProperty("user.home"), ".cache", "quantint8", "zoo");
        }
        value = value.trim();
        if (value.regionMatches(true, 0, "file:", 0, 5)) {
            return Paths.get(URI.create(value));
        }
        if (value.matches("[a-zA-Z][a-zA-Z0-9+.-]+:.*") && !Files.exists(Paths.get(value))) {
            throw new IllegalArgumentException("System property " + PROPERTY + " is " + value
                    + ": the zoo serves a local folder, give a path or a file: URL");
        }
        return Paths.get(value);
    }

    /**
     * Returns the repository folder.
     *
     * @return the folder
     */
    public Path root() {
        return root;
    }

    /**
     * Returns the location of an entry.
     *
     * @param entry the entry
     * @param artifactName the artifact to select, or {@code null} to select by filters
     * @return the location
     */
    public MRL mrl(ZooEntry entry, String artifactName) {
        return model(entry.application(), Int8ModelZoo.GROUP_ID, entry.artifactId(), null,
                artifactName);
    }

    /**
     * Returns the folder of an entry, holding its {@value #METADATA}.
     *
     * @param entry the entry
     * @return the folder
     */
    public Path entryFolder(ZooEntry entry) {
        return root.resolve(mrl(entry, null).toURI().getPath());
    }

    /** {@inheritDoc} The artifact is served from the repository folder, never copied. */
    @Override
    public Path getResourceDirectory(Artifact artifact) {
        return root.resolve(artifact.getResourceUri().getPath());
    }

    /** {@inheritDoc} */
    @Override
    public Path getCacheDirectory() {
        return root;
    }

    /**
     * Checks that every file of the artifact is present with the size and SHA-256 that {@code
     * metadata.json} records.
     *
     * @param artifact the artifact
     * @param progress ignored: nothing is downloaded
     * @throws IOException naming the file if one is missing, or has another size or digest
     */
    @Override
    public void prepare(Artifact artifact, Progress progress) throws IOException {
        Path folder = getResourceDirectory(artifact);
        Path metadata = root.resolve(artifact.getMetadata().getRepositoryUri().getPath())
                .resolve(METADATA);
        Map<String, JsonElement> files = recordedFiles(metadata, artifact.getName());
        for (Map.Entry<String, JsonElement> item : files.entrySet()) {
            JsonObject recorded = item.getValue().getAsJsonObject();
            Path file = folder.resolve(recorded.get("name").getAsString());
            if (!Files.isRegularFile(file)) {
                throw new IOException("Zoo artifact " + artifact.getName() + " lacks its file "
                        + file + " (" + item.getKey() + " in " + metadata + ")");
            }
            long size = Files.size(file);
            long expectedSize = recorded.get("size").getAsLong();
            String expected = recorded.get(SHA256).getAsString();
            String actual = size == expectedSize ? AtomicFiles.digest(file, "SHA-256") : "(not read)";
            if (size != expectedSize || !actual.equalsIgnoreCase(expected)) {
                throw new IOException("Zoo artifact file " + file + " is damaged: " + size
                        + " bytes, SHA-256 " + actual + "; " + metadata + " records " + expectedSize
                        + " bytes, SHA-256 " + expected + ". Publish the entry again");
            }
        }
    }

    private static Map<String, JsonElement> recordedFiles(Path metadata, String artifactName)
            throws IOException {
        JsonObject root;
        try (Reader reader = Files.newBufferedReader(metadata)) {
            root = JsonUtils.GSON.fromJson(reader, JsonObject.class);
        } catch (JsonParseException e) {
            throw new IOException(metadata + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonElement artifacts = root == null ? null : root.get("artifacts");
        if (artifacts == null || !artifacts.isJsonArray()) {
            throw new IOException(metadata + " has no artifacts array");
        }
        for (JsonElement artifact : artifacts.getAsJsonArray()) {
            JsonObject object = artifact.getAsJsonObject();
            JsonElement name = object.get("name");
            if (name != null && artifactName.equals(name.getAsString())) {
                JsonElement files = object.get("files");
                if (files == null || !files.isJsonObject()) {
                    throw new IOException(metadata + ": artifact " + artifactName + " has no files");
                }
                for (Map.Entry<String, JsonElement> file : files.getAsJsonObject().entrySet()) {
                    JsonElement item = file.getValue();
                    if (!item.isJsonObject() || !item.getAsJsonObject().has("name")
                            || !item.getAsJsonObject().has("size")
                            || !item.getAsJsonObject().has(SHA256)) {
                        throw new IOException(metadata + ": file " + file.getKey() + " of "
                                + artifactName + " lacks its name, size or " + SHA256);
                    }
                }
                return files.getAsJsonObject().asMap();
            }
        }
        throw new IOException(metadata + " has no artifact " + artifactName);
    }
}
