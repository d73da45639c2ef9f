package org.quantint8.kernels.foreign;

import org.quantint8.kernels.ConvWindow;
import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.PackedInt8Matrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Weights in the native kernels' layout (16-column panels of 4-byte k-groups, unsigned weights
 * shifted to signed, plus the per-column zero-point compensation): weights in blocks of
 * huge-page mappings ({@link WeightMemory}) owned by an arena of their own, convolution patches
 * in the packing thread's reusable scratch. The layout is the same for every instruction set, so
 * any {@link NativeInt8Kernels} accepts it.
 */
final class NativePackedInt8Matrix implements PackedInt8Matrix {

    /** The C code reads panels with 64-byte vector loads. */
    static final long ALIGNMENT = 64;

    private final NativeInt8Kernels kernels;
    private final Runnable release;
    private final MemorySegment packed;
    private final int rows;
    private final int cols;
    private volatile boolean closed;

    private NativePackedInt8Matrix(
            NativeInt8Kernels kernels, Runnable release, MemorySegment packed, int rows,
            int cols) {
        this.kernels = kernels;
        this.release = release;
        this.packed = packed;
        this.rows = rows;
        this.cols = cols;
    }

    /**
     * Packs a matrix.
     *
     * @param kernels the kernels packing it
     * @param bindings the native functions
     * @param b the weights
     * @return the packed weights
     */
    static NativePackedInt8Matrix pack(
            NativeInt8Kernels kernels, NativeBindings bindings, Int8Matrix b) {
        int n = b.rows();
        int k = b.cols();
        long size = packedSize(bindings, n, k);
        // Shared: the packed weights are read by every kernel thread and live as long as a model.
        Arena arena = Arena.ofShared();
        try {
            MemorySegment packed = bindings.weightMemory.allocate(size, arena);
            if (packed == null) {
                packed = arena.allocate(size, ALIGNMENT);
            }
            MemorySegment into = packed;
            int[] zeros = new int[n];
            for (int j = 0; j < n; j++) {
                zeros[j] = b.zeroPoint(j);
            }
            try (Arena call = Arena.ofConfined()) {
                MemorySegment source = Segments.input(b.data(), (long) n * k, 1, call);
                MemorySegment zs = Segments.ints(zeros, call);
                int signed = b.signed() ? 1 : 0;
                bindings.check("pack", () ->
                        (int) bindings.pack.invokeExact(source, n, k, signed, zs, into));
            }
            return new NativePackedInt8Matrix(kernels, arena::close, packed, n, k);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Packs the patches of a convolution window (see {@link Int8Kernels#packPatches}) into the
     * calling thread's {@link PackingScratch}, which closing the matrix gives back: so it must be
     * closed on the calling thread, before that thread packs patches again (else the next
     * packing gets fresh memory, which is correct but slower).
     *
     * @param kernels the kernels packing it
     * @param bindings the native functions
     * @param input the group's input planes, checked by the caller
     * @param signed whether the input is INT8
     * @param zeroPoint the input's zero point, checked by the caller
     * @param window the window
     * @return the packed patches
     */
    static NativePackedInt8Matrix patches(NativeInt8Kernels kernels, NativeBindings bindings,
            MemorySegment input, boolean signed, int zeroPoint, ConvWindow window) {
        int n = window.positions();
        int k = window.patchLength();
        PackingScratch.Lease lease = PackingScratch.lend(packedSize(bindings, n, k), ALIGNMENT);
        try (Arena call = Arena.ofConfined()) {
            MemorySegment source = Segments.input(input, window.inputBytes(), 1, call);
            MemorySegment sizes = Segments.ints(window.toArray(), call);
            MemorySegment out = lease.segment();
            int flag = signed ? 1 : 0;
            int level = kernels.isa().ordinal();
            bindings.check("packPatches", () -> (int) bindings.packPatches.invokeExact(
                    level, source, flag, zeroPoint, sizes, out));
            return new NativePackedInt8Matrix(kernels, lease.giveBack(), out, n, k);
        } catch (RuntimeException | Error e) {
            lease.giveBack().run();
            throw e;
        }
    }

    private static long packedSize(NativeBindings bindings, int n, int k) {
        try {
            return (long) bindings.packedSize.invokeExact(n, k);
        } catch (Throwable t) {
            throw new IllegalStateException("qi8_packed_size failed", t);
        }
    }

    /**
     * Returns the packed memory.
     *
     * @return the segment
     * @throws IllegalStateException if this matrix has been closed
     */
    MemorySegment segment() {
        if (closed) {
            throw new IllegalStateException("packed matrix has been closed");
        }
        return packed;
    }

    /** {@inheritDoc} */
    @Override
    public Int8Kernels kernels() {
        return kernels;
    }

    /** {@inheritDoc} */
    @Override
    public int rows() {
        return rows;
    }

    /** {@inheritDoc} */
    @Override
    public int cols() {
        return cols;
    }

    /** {@inheritDoc} */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            release.run();
        }
    }
}
