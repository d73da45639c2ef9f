package org.quantint8.ndarray;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * The off-heap memory of one {@link QuantInt8NDManager}. Creating and closing a shared {@link
 * Arena} costs about 58 us on JDK 25 (every thread must agree the memory is no longer read), far
 * more than a small array's work; so arrays up to {@value #POOLED_MAX} bytes take power-of-two
 * blocks from one arena per manager, return them to a free list when they close, and the arena
 * is freed when the manager closes. Larger arrays get an arena of their own, freed at once.
 */
final class MemoryPool {

    /** The largest array, in bytes, served from the pool. */
    static final long POOLED_MAX = 1L << 20;

    private static final int MIN_CLASS = 6; // 64-byte blocks, the alignment every kernel wants
    private static final int MAX_CLASS = 20;

    private final ArrayDeque<MemorySegment>[] free;
    private Arena arena;
    private boolean closed;
    private long reserved;

    @SuppressWarnings("unchecked")
    MemoryPool() {
        free = new ArrayDeque[MAX_CLASS + 1];
    }

    /**
     * Returns zeroed memory of the given size.
     *
     * @param bytes the size
     * @return the block
     */
    synchronized OffHeapBlock allocate(long bytes) {
        if (bytes > POOLED_MAX || closed) {
            return OffHeapBlock.ownArena(bytes);
        }
        int sizeClass = Math.max(MIN_CLASS, 64 - Long.numberOfLeadingZeros(Math.max(bytes, 1) - 1));
        ArrayDeque<MemorySegment> list = free[sizeClass];
        MemorySegment block = list == null ? null : list.poll();
        if (block == null) {
            if (arena == null) {
                arena = Arena.ofShared();
            }
            block = arena.allocate(1L << sizeClass, 64);
            reserved += block.byteSize();
        } else {
            block.asSlice(0, bytes).fill((byte) 0);
        }
        return OffHeapBlock.pooled(block, bytes, this);
    }

    /** Takes a block back; after the pool closed, its arena has freed the memory already. */
    synchronized void release(MemorySegment block) {
        if (closed) {
            return;
        }
        int sizeClass = 63 - Long.numberOfLeadingZeros(block.byteSize());
        if (free[sizeClass] == null) {
            free[sizeClass] = new ArrayDeque<>();
        }
        free[sizeClass].push(block);
    }

    /**
     * Returns the bytes this pool holds from the operating system, in use or free.
     *
     * @return the reserved bytes
     */
    synchronized long reservedBytes() {
        return reserved;
    }

    /** Frees every block; arrays still holding one must not be used afterwards. */
    synchronized void close() {
        if (!closed) {
            closed = true;
            if (arena != null) {
                arena.close();
                arena = null;
            }
            java.util.Arrays.fill(free, null);
            reserved = 0;
        }
    }
}
