package org.quantint8.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Finds the bytes of tensors stored outside the model file ({@code data_location = EXTERNAL}).
 *
 * <p>A location is trusted only as far as the model's folder: it must be a relative path that,
 * once normalized and with symbolic links resolved, stays inside that folder; an untrusted model
 * must not make the reader open arbitrary files. The region is checked against the file's actual
 * size before it is mapped, read-only and without copying.
 */
final class ExternalDataResolver {

    static final String LOCATION = "location";
    static final String OFFSET = "offset";
    static final String LENGTH = "length";
    static final String CHECKSUM = "checksum";

    private final Path modelFolder;
    private final DecodeContext context;
    private Path realModelFolder;

    /**
     * Creates a resolver.
     *
     * @param modelFolder the folder of the model file, or {@code null} if the model was not read
     *     from a file, in which case every external reference is an error
     * @param context where decoding is, for error messages
     */
    ExternalDataResolver(Path modelFolder, DecodeContext context) {
        this.modelFolder = modelFolder == null ? null : modelFolder.toAbsolutePath().normalize();
        this.context = context;
    }

    /**
     * Describes what is wrong with a location, if anything, before touching the file system.
     *
     * @param location the {@code location} entry
     * @return the problem, or {@code null} if the location is a relative path inside its folder
     */
    static String checkRelative(String location) {
        if (location.isEmpty()) {
            return "external data has no location";
        }
        Path path;
        try {
            path = Path.of(location);
        } catch (InvalidPathException e) {
            return "external data location '" + location + "' is not a valid path";
        }
        if (path.isAbsolute() || location.startsWith("/") || location.startsWith("\\")) {
            return "external data location '" + location + "' is absolute";
        }
        Path normalized = path.normalize();
        if (normalized.startsWith("..") || normalized.toString().isEmpty()) {
            return "external data location '" + location + "' is outside the model's folder";
        }
        return null;
    }

    /**
     * Maps the data of a tensor.
     *
     * @param entries the tensor's {@code external_data} entries
     * @param expectedBytes the size of the tensor's data, from its type and shape
     * @return a read-only little-endian view of the data
     * @throws OnnxFormatException if the description is invalid, the file escapes the model's
     *     folder or does not hold the region
     */
    ByteBuffer resolve(List<StringEntry> entries, long expectedBytes) throws OnnxFormatException {
        if (modelFolder == null) {
            throw context.error(
                    "external data needs a model file; this model was read from memory");
        }
        String location = "";
        long offset = 0;
        long length = -1;
        for (StringEntry entry : entries) {
            switch (entry.key()) {
                case LOCATION -> location = entry.value();
                case OFFSET -> offset = parseNonNegative(entry);
                case LENGTH -> length = parseNonNegative(entry);
                default -> {} // "checksum" and unknown keys: informative only
            }
        }
        String problem = checkRelative(location);
        if (problem != null) {
            throw context.error(problem);
        }
        Path file = resolveInsideFolder(location);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (offset > size || (length >= 0 && length > size - offset)) {
                throw context.error(
                        "external data region offset "
                                + offset
                                + ", length "
                                + length
                                + " exceeds the "
                                + size
                                + " bytes of '"
                                + location
                                + "'");
            }
            long actualLength = length >= 0 ? length : size - offset;
            if (actualLength != expectedBytes) {
                throw context.error(
                        "external data holds "
                                + actualLength
                                + " bytes, the tensor's type and shape need "
                                + expectedBytes);
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, offset, actualLength)
                    .asReadOnlyBuffer()
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw context.error("cannot read external data '" + location + "'", e);
        }
    }

    private Path resolveInsideFolder(String location) throws OnnxFormatException {
        try {
            if (realModelFolder == null) {
                realModelFolder = modelFolder.toRealPath();
            }
            // Normalizing first lets "sub/../x" work without "sub"; the real-path check still
            // holds.
            Path real = modelFolder.resolve(location).normalize().toRealPath();
            if (!real.startsWith(realModelFolder)) {
                throw context.error(
                        "external data location '"
                                + location
                                + "' resolves outside the model's folder, to "
                                + real);
            }
            return real;
        } catch (NoSuchFileException e) {
            throw context.error("external data file '" + location + "' does not exist");
        } catch (IOException e) {
            throw context.error("cannot resolve external data '" + location + "'", e);
        }
    }

    private long parseNonNegative(StringEntry entry) throws OnnxFormatException {
        try {
            long value = Long.parseLong(entry.value());
            if (value >= 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below, with the entry
        }
        throw context.error(
                "external data "
                        + entry.key()
                        + " '"
                        + entry.value()
                        + "' is not a non-negative integer");
    }
}
