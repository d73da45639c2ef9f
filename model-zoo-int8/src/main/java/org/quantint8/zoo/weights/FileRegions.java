package org.quantint8.zoo.weights;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** Bounded reads of a region of a file, checked against the file's size before allocating. */
final class FileRegions {

    /** The largest region read at once: what one Java array can hold. */
    static final long MAX_REGION = Integer.MAX_VALUE - 8;

    private FileRegions() {}

    /**
     * Reads {@code length} bytes at {@code offset}.
     *
     * @param channel the open file
     * @param file the file's path, for messages
     * @param offset where the region starts
     * @param length its length
     * @param what what the region holds, for messages (a tensor's name)
     * @return a heap buffer holding the region, position 0
     * @throws WeightFormatException if the region lies outside the file or is too large
     * @throws IOException if reading fails
     */
    static ByteBuffer read(FileChannel channel, Path file, long offset, long length, String what)
            throws IOException {
        long size = channel.size();
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new WeightFormatException(file + ": " + what + " claims bytes [" + offset + ", "
                    + offset + " + " + length + ") but the file has " + size + " bytes");
        }
        if (length > MAX_REGION) {
            throw new WeightFormatException(file + ": " + what + " has " + length
                    + " bytes, more than one array holds");
        }
        ByteBuffer buffer = ByteBuffer.allocate((int) length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, offset + buffer.position()) < 0) {
                throw new EOFException(file + ": ended while reading " + what);
            }
        }
        return buffer.flip();
    }
}
