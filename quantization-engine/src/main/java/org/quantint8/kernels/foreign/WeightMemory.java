package org.quantint8.kernels.foreign;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The memory of packed weights: blocks of {@value #CHUNK}-byte mappings on transparent huge pages
 * ({@code qi8_map_weights}), shared by many weights, one mapping of its own for a weight over
 * half that. A decoder reads all its weights once a token from memory, and with 4 KiB pages the
 * TLB misses cost bandwidth: one core here streams 24 GB/s from 4 KiB pages and 29 to 30 GB/s
 * from 2 MiB ones, and GPT-2's generation runs about 4% faster (see docs/benchmarks.md). A
 * mapping per weight would round each up to 2 MiB; blocks of shared mappings do not.
 *
 * <p>Each block belongs to an arena of its caller: closing the arena gives it back, and a
 * mapping is unmapped as soon as all its blocks are back. So the memory
 * keeps the arena's guarantees (a block in use by a native call cannot be freed under it, a
 * freed block cannot be read) and a closed model leaves no mapping behind. Blocks are never
 * reused within a mapping, so a new block reads zero, as an arena's memory does.
 *
 * <p>{@value #PROPERTY}{@code =false} turns it off: weights then take arena memory, as they do
 * where the mapping fails.
 */
final class WeightMemory {

    /** The system property that turns huge-page weight memory off. */
    static final String PROPERTY = "quantint8.hugePageWeights";
    /** The size of a shared mapping. */
    static final long CHUNK = 32L << 20;
    /** The huge page size, the mappings' alignment and size unit. */
    static final long HUGE_PAGE = 2L << 20;

    private static final long ALIGNMENT = 64;

    private final NativeBindings bindings;
    private final boolean enabled;
    /** The shared mapping new small blocks go to, or null. */
    private Mapping current;
    private long mappedBytes;

    WeightMemory(NativeBindings bindings) {
        this(bindings, !"false".equals(System.getProperty(PROPERTY)));
    }

    WeightMemory(NativeBindings bindings, boolean enabled) {
        this.bindings = bindings;
        this.enabled = enabled;
    }

    /**
     * Returns a zeroed block of {@code bytes} bytes aligned to 64, given back when {@code arena}
     * closes.
     *
     * @param bytes the size, positive
     * @param arena the block's owner
     * @return the block, or null if huge-page memory is off or could not be mapped (the caller
     *     then allocates from the arena)
     * @throws IllegalStateException if the arena is closed
     */
    synchronized MemorySegment allocate(long bytes, Arena arena) {
        if (!enabled || bytes <= 0) {
            return null;
        }
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("weight memory: the arena is closed");
        }
        long size = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        Mapping mapping;
        if (size > CHUNK / 2) {
            mapping = map((size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
        } else {
            if (current == null || current.size - current.used < size) {
                // The full one stays mapped until its blocks are back (it has some: a mapping
                // left without blocks is unmapped at once).
                current = map(CHUNK);
            }
            mapping = current;
        }
        if (mapping == null) {
            return null;
        }
        Mapping owner = mapping;
        MemorySegment block = MemorySegment.ofAddress(mapping.address + mapping.used)
                .reinterpret(bytes, arena, ignored -> giveBack(owner));
        mapping.used += size;
        mapping.live++;
        return block;
    }

    /**
     * Returns the bytes mapped now (tests).
     *
     * @return the total size of the live mappings
     */
    synchronized long mappedBytes() {
        return mappedBytes;
    }

    private synchronized void giveBack(Mapping mapping) {
        mapping.live--;
        if (mapping.live == 0) {
            if (mapping == current) {
                current = null;
            }
            unmap(mapping);
        }
    }

    private Mapping map(long size) {
        MemorySegment start;
        try {
            start = (MemorySegment) bindings.mapWeights.invokeExact(size);
        } catch (Throwable t) {
            throw new IllegalStateException("qi8_map_weights failed", t);
        }
        if (start.address() == 0) {
            return null;
        }
        mappedBytes += size;
        return new Mapping(start.address(), size);
    }

    private void unmap(Mapping mapping) {
        bindings.check("unmap weights", () -> (int) bindings.unmapWeights.invokeExact(
                MemorySegment.ofAddress(mapping.address), mapping.size));
        mappedBytes -= mapping.size;
    }

    /** One mapping: its blocks are handed out in order from {@code used}. */
    private static final class Mapping {
        final long address;
        final long size;
        long used;
        int live;

        Mapping(long address, long size) {
            this.address = address;
            this.size = size;
        }
    }
}
