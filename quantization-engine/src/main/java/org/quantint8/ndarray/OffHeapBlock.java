package org.quantint8.ndarray;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The memory of one array: a block of its manager's {@link MemoryPool}, or an arena of its own. */
final class OffHeapBlock {

    private final MemorySegment data;
    private final MemorySegment block;
    private final MemoryPool pool;
    private Arena own;
    private boolean freed;

    private OffHeapBlock(MemorySegment data, MemorySegment block, MemoryPool pool, Arena own) {
        this.data = data;
        this.block = block;
        this.pool = pool;
        this.own = own;
    }

    static OffHeapBlock pooled(MemorySegment block, long bytes, MemoryPool pool) {
        return new OffHeapBlock(block.asSlice(0, bytes), block, pool, null);
    }

    static OffHeapBlock ownArena(long bytes) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment segment = arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes);
            return new OffHeapBlock(segment, null, null, arena);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** The array's bytes, exactly. */
    MemorySegment data() {
        return data;
    }

    /**
     * Returns whether this memory may stay with an array that moves to a manager with the given
     * pool: memory of its own arena may go anywhere, a pooled block only within its pool.
     */
    boolean canLiveIn(MemoryPool target) {
        return pool == null || pool == target;
    }

    /** Gives the memory back: to the pool, or to the operating system. Idempotent. */
    void free() {
        if (freed) {
            return;
        }
        freed = true;
        if (own != null) {
            own.close();
            own = null;
        } else {
            pool.release(block);
        }
    }
}
