package org.quantint8.kernels.foreign;

import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.PackedInt8Matrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Weights in the native kernels' layout (16-column panels of 4-byte k-groups, unsigned weights
 * shifted to signed, plus the per-column zero-point compensation), in memory of its own. The
 * layout is the same for every instruction set, so any {@link NativeInt8Kernels} accepts it.
 */
final class NativePackedInt8Matrix implements PackedInt8Matrix {

    /** The C code reads panels with 64-byte vector loads. */
    static final long ALIGNMENT = 64;

    private final NativeInt8Kernels kernels;
    private final Arena arena;
    private final MemorySegment packed;
    private final int rows;
    private final int cols;

    private NativePackedInt8Matrix(
            NativeInt8Kernels kernels, Arena arena, MemorySegment packed, int rows, int cols) {
        this.kernels = kernels;
        this.arena = arena;
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
        long size;
        try {
            size = (long) bindings.packedSize.invokeExact(n, k);
        } catch (Throwable t) {
            throw new IllegalStateException("qi8_packed_size failed", t);
        }
        // Shared: the packed weights are read by every kernel thread and live as long as a model.
        Arena arena = Arena.ofShared();
        try {
            MemorySegment packed = arena.allocate(size, ALIGNMENT);
            int[] zeros = new int[n];
            for (int j = 0; j < n; j++) {
                zeros[j] = b.zeroPoint(j);
            }
            try (Arena call = Arena.ofConfined()) {
                MemorySegment source = Segments.input(b.data(), (long) n * k, 1, call);
                MemorySegment zs = Segments.ints(zeros, call);
                int signed = b.signed() ? 1 : 0;
                bindings.check("pack", () ->
                        (int) bindings.pack.invokeExact(source, n, k, signed, zs, packed));
            }
            return new NativePackedInt8Matrix(kernels, arena, packed, n, k);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Returns the packed memory.
     *
     * @return the segment
     * @throws IllegalStateException if this matrix has been closed
     */
    MemorySegment segment() {
        if (!packed.scope().isAlive()) {
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
        if (packed.scope().isAlive()) {
            arena.close();
        }
    }
}
