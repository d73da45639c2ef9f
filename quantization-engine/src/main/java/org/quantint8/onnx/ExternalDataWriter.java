package org.quantint8.onnx;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Writes the data of large tensors to a side file next to the model, as ONNX external data.
 *
 * <p>Each tensor starts at a multiple of {@value #ALIGNMENT} bytes, which ONNX recommends so that
 * readers can map it. The data goes to a temporary file that {@link #commit()} moves into place,
 * because the tensors being written may be views of the very file being replaced.
 */
final class ExternalDataWriter implements Closeable {

    /** The page size ONNX recommends aligning external tensors to. */
    static final int ALIGNMENT = 4096;

    private final String location;
    private final long minBytes;
    private final Path target;
    private final Path temporary;
    private final FileChannel channel;
    private long end;

    /**
     * Creates the side file's temporary.
     *
     * @param modelFolder the folder of the model file
     * @param location the side file's path relative to that folder, already checked to stay inside
     * @param minBytes the size from which a tensor's data is stored externally
     * @throws IOException if the file cannot be created
     */
    ExternalDataWriter(Path modelFolder, String location, long minBytes) throws IOException {
        this.location = location;
        this.minBytes = minBytes;
        this.target = modelFolder.resolve(location);
        Files.createDirectories(target.toAbsolutePath().getParent());
        this.temporary =
                Files.createTempFile(target.toAbsolutePath().getParent(), ".onnx-data-", ".tmp");
        this.channel = FileChannel.open(temporary, StandardOpenOption.WRITE);
    }

    /**
     * Tells whether a tensor's data is large enough to be stored externally.
     *
     * @param data the tensor's data
     * @return {@code true} if it has at least the configured number of bytes
     */
    boolean accepts(ByteBuffer data) {
        return data.remaining() >= minBytes;
    }

    /**
     * Appends a tensor's data.
     *
     * @param data the data to store
     * @return the {@code external_data} entries that describe where it is
     * @throws IOException if writing fails
     */
    List<StringEntry> append(ByteBuffer data) throws IOException {
        long offset = (end + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        long length = data.remaining();
        ByteBuffer pending = data.duplicate();
        long position = offset;
        while (pending.hasRemaining()) {
            position += channel.write(pending, position);
        }
        end = offset + length;
        return List.of(
                new StringEntry(ExternalDataResolver.LOCATION, location),
                new StringEntry(ExternalDataResolver.OFFSET, Long.toString(offset)),
                new StringEntry(ExternalDataResolver.LENGTH, Long.toString(length)));
    }

    /**
     * Moves the completed side file into place.
     *
     * @throws IOException if the move fails
     */
    void commit() throws IOException {
        channel.close();
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Closes the file and removes the temporary if it was not committed. */
    @Override
    public void close() throws IOException {
        channel.close();
        Files.deleteIfExists(temporary);
    }
}
