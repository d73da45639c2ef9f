package org.quantint8.kernels.foreign;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Native memory for operands packed per call (the patches of a convolution), kept per thread
 * and reused: allocating and zeroing a few megabytes per convolution cost more than packing
 * them. A thread holds at most one buffer; while it is lent out, a second request on the same
 * thread gets fresh memory instead, so a lease is never shared.
 */
final class PackingScratch {

    private static final ThreadLocal<PackingScratch> LOCAL =
            ThreadLocal.withInitial(PackingScratch::new);

    private MemorySegment buffer = MemorySegment.NULL;
    private boolean lent;

    private PackingScratch() {}

    /**
     * Lends {@code bytes} bytes of native memory, aligned to {@code align}, readable by every
     * thread; the content is undefined.
     *
     * @param bytes the size
     * @param align the alignment, a power of two
     * @return the memory and how to give it back
     */
    static Lease lend(long bytes, long align) {
        PackingScratch scratch = LOCAL.get();
        if (scratch.lent) {
            return new Lease(Arena.ofAuto().allocate(bytes, align), () -> {});
        }
        if (scratch.buffer.byteSize() < bytes || scratch.buffer.address() % align != 0) {
            // Auto arena: the buffer a thread outgrows, or a dead thread's, is freed by the GC.
            scratch.buffer = Arena.ofAuto().allocate(Math.max(bytes, 2 * scratch.buffer.byteSize()),
                    align);
        }
        scratch.lent = true;
        return new Lease(scratch.buffer.asSlice(0, bytes), () -> scratch.lent = false);
    }

    /**
     * Memory lent by {@link #lend}.
     *
     * @param segment the memory
     * @param giveBack returns it to the thread's scratch (run once, on the lending thread)
     */
    record Lease(MemorySegment segment, Runnable giveBack) {}
}
