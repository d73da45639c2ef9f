package org.quantint8.ndarray;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The off-heap memory of one {@link QuantInt8NDManager}. Creating and closing a shared {@link
 * Arena} costs about 58 us on JDK 25 (every thread must agree the memory is no longer read), far
 * more than a small array's work; so arrays up to {@value #POOLED_MAX} bytes take power-of-two
 * blocks from one arena per manager, return them to a free list when they close, and the arena
 * is freed when the manager closes. Larger arrays get an arena of their own, freed at once, so
 * that a long-lived manager does not hold memory its closed arrays no longer use.
 *
 * <p>A pool for one short run (a forward pass, see {@link QuantInt8NDManager#newRunManager})
 * pools every size: a BERT layer's 1.5 MB activations then cost neither an arena nor a thread
 * handshake each, and all the memory goes back when the run ends.
 */
final class MemoryPool {

    /** The largest array, in bytes, served from the pool. */
    static final long POOLED_MAX = 1L << 20;

    /**
     * The system property that turns on poisoning, a debugging aid, off by default: a block that
     * returns to the pool is filled with {@code 0xFF} bytes (NaN as FP32, -1 as INT8), and a block
     * taken from the free list or freed is checked to hold them still. A write through a closed
     * array's memory (a kernel, or a PyTorch or ONNX Runtime view that outlived the array) then
     * fails loudly, naming the block, instead of corrupting the array that reuses it; a read
     * through such a view sees NaN instead of plausible numbers. Only pooled blocks are checked.
     */
    public static final String POISON_PROPERTY = "quantint8.debug.poisonFreedMemory";

    private static final boolean POISON_BY_DEFAULT = Boolean.getBoolean(POISON_PROPERTY);
    private static final byte POISON = (byte) 0xFF;

    private static final int MIN_CLASS = 6; // 64-byte blocks, the alignment every kernel wants
    private static final int MAX_CLASS = 20;
    /** Arrays are limited to 2 GiB (DJL exchanges ByteBuffers), so 2^31 bytes is the top. */
    private static final int MAX_RUN_CLASS = 31;

    private final ArrayDeque<MemorySegment>[] free;
    private final long pooledMax;
    /** A run's blocks over {@value #POOLED_MAX} bytes, each in an arena of its own. */
    private final Map<MemorySegment, Arena> largeArenas = new IdentityHashMap<>();
    /** The large blocks handed out since the last {@link #endRun}. */
    private final Set<MemorySegment> largeUsed = Collections.newSetFromMap(new IdentityHashMap<>());
    private final boolean poison;
    private Arena arena;
    private boolean closed;
    private long reserved;

    /** Creates the pool of a long-lived manager: blocks up to {@value #POOLED_MAX} bytes. */
    MemoryPool() {
        this(false);
    }

    /**
     * Creates a pool.
     *
     * @param everySize whether arrays of every size are pooled (a run's manager), or only those
     *     up to {@value #POOLED_MAX} bytes
     */
    MemoryPool(boolean everySize) {
        this(everySize, POISON_BY_DEFAULT);
    }

    /**
     * Creates a pool, poisoned or not whatever {@value #POISON_PROPERTY} says.
     *
     * @param everySize whether arrays of every size are pooled
     * @param poison whether freed blocks are poisoned and checked
     */
    @SuppressWarnings("unchecked")
    MemoryPool(boolean everySize, boolean poison) {
        int maxClass = everySize ? MAX_RUN_CLASS : MAX_CLASS;
        free = new ArrayDeque[maxClass + 1];
        pooledMax = 1L << maxClass;
        this.poison = poison;
    }

    /**
     * Returns zeroed memory of the given size.
     *
     * @param bytes the size
     * @return the block
     */
    OffHeapBlock allocate(long bytes) {
        return allocate(bytes, true);
    }

    /**
     * Returns memory of the given size, zeroed or, if the caller overwrites all of it at once,
     * as the last array left it (fresh memory is zeroed in any case).
     *
     * @param bytes the size
     * @param zeroed whether the memory must read zero
     * @return the block
     */
    synchronized OffHeapBlock allocate(long bytes, boolean zeroed) {
        if (bytes > pooledMax || closed) {
            return OffHeapBlock.ownArena(bytes);
        }
        int sizeClass = Math.max(MIN_CLASS, 64 - Long.numberOfLeadingZeros(Math.max(bytes, 1) - 1));
        ArrayDeque<MemorySegment> list = free[sizeClass];
        MemorySegment block = list == null ? null : list.poll();
        if (block == null) {
            block = newBlock(1L << sizeClass);
            reserved += block.byteSize();
        } else {
            if (poison) {
                requirePoison(block, "taken again from the pool");
            }
            if (zeroed) {
                block.asSlice(0, bytes).fill((byte) 0);
            }
        }
        if (sizeClass > MAX_CLASS) {
            largeUsed.add(block);
        }
        return OffHeapBlock.pooled(block, bytes, this);
    }

    /**
     * A new block: from the shared arena, or with an arena of its own over {@value #POOLED_MAX}
     * bytes, so that it can leave the pool with the array that holds it ({@link #handOver}).
     */
    private MemorySegment newBlock(long size) {
        if (size > POOLED_MAX) {
            Arena own = Arena.ofShared();
            MemorySegment block = own.allocate(size, 64);
            largeArenas.put(block, own);
            return block;
        }
        if (arena == null) {
            arena = Arena.ofShared();
        }
        return arena.allocate(size, 64);
    }

    /**
     * Gives up a block in use that has an arena of its own: the caller owns that arena from now
     * on. A block of the shared arena cannot leave.
     *
     * @param block the block
     * @return its arena, or null if it shares the pool's
     */
    synchronized Arena handOver(MemorySegment block) {
        Arena own = closed ? null : largeArenas.remove(block);
        if (own != null) {
            reserved -= block.byteSize();
        }
        return own;
    }

    /**
     * Takes back a large block that left with an array ({@link #handOver}) now that the array has
     * closed: a forward pass's large result (BERT's logits) then reuses the memory the previous
     * result had, instead of fresh pages that are zeroed and faulted in on every call. Kept like
     * any block of the pool, it is freed at the end of a run that does not use it.
     *
     * @param block the block
     * @param own its arena, which the pool owns again
     * @return whether the pool took it; if not (the pool is closed), the caller frees it
     */
    synchronized boolean takeBack(MemorySegment block, Arena own) {
        if (closed) {
            return false;
        }
        largeArenas.put(block, own);
        reserved += block.byteSize();
        release(block);
        return true;
    }

    /** Takes a block back; after the pool closed, its arena has freed the memory already. */
    synchronized void release(MemorySegment block) {
        if (closed) {
            return;
        }
        int sizeClass = 63 - Long.numberOfLeadingZeros(block.byteSize());
        if (poison) {
            block.fill(POISON);
        }
        if (free[sizeClass] == null) {
            free[sizeClass] = new ArrayDeque<>();
        }
        free[sizeClass].push(block);
    }

    /**
     * Ends one run of a pool kept for the next ({@link RunPools}): frees the free blocks over
     * {@value #POOLED_MAX} bytes this run did not use, so that the pool holds what one run needs,
     * not the sum of every size a run ever took.
     */
    synchronized void endRun() {
        for (int sizeClass = MAX_CLASS + 1; sizeClass < free.length; sizeClass++) {
            ArrayDeque<MemorySegment> list = free[sizeClass];
            if (list != null) {
                list.removeIf(block -> !largeUsed.contains(block) && freeLarge(block));
            }
        }
        largeUsed.clear();
    }

    private boolean freeLarge(MemorySegment block) {
        if (poison) {
            requirePoison(block, "freed at the end of a run");
        }
        largeArenas.remove(block).close();
        reserved -= block.byteSize();
        return true;
    }

    /**
     * Returns the bytes this pool holds from the operating system, in use or free.
     *
     * @return the reserved bytes
     */
    synchronized long reservedBytes() {
        return reserved;
    }

    /**
     * Frees every block; arrays still holding one must not be used afterwards.
     *
     * @throws IllegalStateException if the pool is poisoned and a free block was written since
     *     it was freed (after all memory is freed)
     */
    synchronized void close() {
        if (!closed) {
            closed = true;
            IllegalStateException written = poison ? firstWrittenFreeBlock() : null;
            if (arena != null) {
                arena.close();
                arena = null;
            }
            largeArenas.values().forEach(Arena::close);
            largeArenas.clear();
            largeUsed.clear();
            java.util.Arrays.fill(free, null);
            reserved = 0;
            if (written != null) {
                throw written;
            }
        }
    }

    /** The failure for the first free block whose poison was overwritten, or null. */
    private IllegalStateException firstWrittenFreeBlock() {
        for (ArrayDeque<MemorySegment> list : free) {
            for (MemorySegment block : list == null ? List.<MemorySegment>of() : list) {
                String written = poisonOverwritten(block, "freed with the pool");
                if (written != null) {
                    return new IllegalStateException(written);
                }
            }
        }
        return null;
    }

    /** Checks that a free block still holds the poison it was filled with when it was freed. */
    private static void requirePoison(MemorySegment block, String when) {
        String written = poisonOverwritten(block, when);
        if (written != null) {
            throw new IllegalStateException(written);
        }
    }

    /** Describes where a free block's poison was overwritten, or returns null if it was not. */
    private static String poisonOverwritten(MemorySegment block, String when) {
        long size = block.byteSize();
        long at = 0;
        while (at + 8 <= size && block.get(ValueLayout.JAVA_LONG_UNALIGNED, at) == -1L) {
            at += 8;
        }
        while (at < size && block.get(ValueLayout.JAVA_BYTE, at) == POISON) {
            at++;
        }
        if (at == size) {
            return null;
        }
        return String.format(Locale.ROOT, "QuantInt8 memory was written after its array closed:"
                + " a free block of %d bytes at 0x%x holds 0x%02x at byte %d instead of the 0xff"
                + " it was filled with when freed (found when %s). Something used a closed"
                + " array's memory: a kernel, or a PyTorch or ONNX Runtime view that outlived the"
                + " array.", size, block.address(), block.get(ValueLayout.JAVA_BYTE, at), at, when);
    }
}
