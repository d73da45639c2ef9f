package org.quantint8.kernels.foreign;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Prepares memory for a downcall. The C code needs native memory, aligned for its element type;
 * heap or misaligned segments are copied into native memory (and outputs copied back) rather
 * than rejected. Segments confined to the calling thread are handed to worker threads as raw
 * address views, which is safe because the caller (the only thread that may close them) waits
 * for every worker.
 */
final class Segments {

    /** A thread that never runs: asking whether it may access a segment tells confinement. */
    private static final Thread STRANGER = Thread.ofVirtual().unstarted(() -> {});

    private Segments() {}

    /**
     * Returns the first {@code bytes} of a segment as native memory aligned to {@code align}:
     * the segment itself when it already is, else a copy in {@code arena}.
     *
     * @param segment the memory
     * @param bytes how many bytes the kernel reads
     * @param align the alignment the kernel needs
     * @param arena where copies go
     * @return native memory with the same content
     */
    static MemorySegment input(MemorySegment segment, long bytes, long align, Arena arena) {
        MemorySegment slice = segment.asSlice(0, bytes);
        if (usable(slice, align)) {
            return slice;
        }
        MemorySegment copy = arena.allocate(Math.max(bytes, 1), align);
        MemorySegment.copy(slice, 0, copy, 0, bytes);
        return copy;
    }

    /**
     * Returns native memory for an output of {@code bytes} bytes: the segment itself when it is
     * native and aligned, else a scratch segment to be copied back with {@link #copyBack}.
     *
     * @param segment the output
     * @param bytes how many bytes the kernel writes
     * @param align the alignment the kernel needs
     * @param arena where scratch memory goes
     * @return where the kernel writes
     */
    static MemorySegment output(MemorySegment segment, long bytes, long align, Arena arena) {
        MemorySegment slice = segment.asSlice(0, bytes);
        return usable(slice, align) ? slice : arena.allocate(Math.max(bytes, 1), align);
    }

    /**
     * Copies a scratch output back into the caller's segment (no-op if the kernel wrote there).
     *
     * @param written where the kernel wrote
     * @param segment the caller's output
     * @param bytes the bytes written
     */
    static void copyBack(MemorySegment written, MemorySegment segment, long bytes) {
        if (written.address() != segment.address() || !segment.isNative()) {
            MemorySegment.copy(written, 0, segment, 0, bytes);
        }
    }

    /**
     * Returns a view of a native segment that any thread may pass to a downcall.
     *
     * @param segment native memory
     * @return the segment itself if shared, else a global view of the same bytes
     */
    @SuppressWarnings("restricted") // native access is the point; the JVM warns once without the flag
    static MemorySegment shareable(MemorySegment segment) {
        if (segment.isAccessibleBy(STRANGER)) {
            return segment;
        }
        return MemorySegment.ofAddress(segment.address()).reinterpret(segment.byteSize());
    }

    /**
     * Copies ints into native memory.
     *
     * @param values the values
     * @param arena where the copy goes
     * @return the native copy
     */
    static MemorySegment ints(int[] values, Arena arena) {
        return values.length == 0
                ? arena.allocate(4, 4)
                : arena.allocateFrom(ValueLayout.JAVA_INT, values);
    }

    private static boolean usable(MemorySegment segment, long align) {
        return segment.isNative() && segment.address() % align == 0;
    }
}
