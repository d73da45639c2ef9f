package org.quantint8.ndarray;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The memory of one array: a block of its manager's {@link MemoryPool}, or an arena of its own. */
final class OffHeapBlock {

    private final MemorySegment data;
    private final MemorySegment block;
    private MemoryPool pool;
    private Arena own;
    /** The run pool a large block left with its array, which takes it back on free. */
    private MemoryPool origin;
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
     * Lets this memory go with an array that moves to a manager with the given pool, if it can
     * without a copy: memory of its own arena may go anywhere, a pooled block stays within its
     * pool, except a large block of a run's pool, which leaves it with the arena it has (so
     * that a forward pass's large result is not copied on its way to the caller; the block goes
     * back to that pool when the array closes).
     *
     * @param target the pool of the array's new manager
     * @return whether the memory now goes with the array; if not, the caller copies it
     */
    boolean moveTo(MemoryPool target) {
        if (pool == null || pool == target) {
            return true;
        }
        Arena arena = pool.handOver(block);
        if (arena == null) {
            return false;
        }
        origin = pool;
        pool = null;
        own = arena;
        return true;
    }

    /**
     * Gives the memory back: to the pool (a large block that left a run's pool, to that pool if
     * it is still open), or to the operating system. Idempotent.
     */
    void free() {
        if (freed) {
            return;
        }
        freed = true;
        if (own != null) {
            if (origin == null || !origin.takeBack(block, own)) {
                own.close();
            }
            own = null;
            origin = null;
        } else {
            pool.release(block);
        }
    }
}
