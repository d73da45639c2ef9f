package org.quantint8.ndarray;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes a use of freed memory visible: collects garbage, so that unreachable direct buffers are
 * freed, then allocates and scribbles over many blocks of the same size, so that the freed memory
 * is handed out again and overwritten.
 */
public final class FreedMemory {

    /** The byte every scribbled block is filled with. */
    public static final byte SCRIBBLE = 0x7f;

    private FreedMemory() {}

    /**
     * Frees unreachable direct buffers and overwrites memory blocks of the given size.
     *
     * @param bytes the size of the buffers suspected to be freed while still in use
     */
    public static void collectAndScribble(int bytes) {
        List<ByteBuffer> scribbles = new ArrayList<>();
        for (int round = 0; round < 4; round++) {
            System.gc();
            try {
                // Direct buffers are freed by the reference handler, after the collection.
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            for (int i = 0; i < 256; i++) {
                ByteBuffer block = ByteBuffer.allocateDirect(bytes);
                while (block.hasRemaining()) {
                    block.put(SCRIBBLE);
                }
                scribbles.add(block);
            }
        }
    }
}
