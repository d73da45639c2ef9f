package org.quantint8.kernels.foreign;

import org.quantint8.kernels.Activation;
import org.quantint8.kernels.AttentionInputs;
import org.quantint8.kernels.ConvWindow;
import org.quantint8.kernels.FloatKernels;
import org.quantint8.kernels.FloatRange;
import org.quantint8.kernels.GemmEpilogue;
import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.PackedInt8Matrix;
import org.quantint8.kernels.PoolKernels;
import org.quantint8.kernels.PoolWindow;
import org.quantint8.kernels.QuantizedStorage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;

/**
 * The native INT8 kernels at one instruction-set level. Every call checks sizes, bounds and
 * packed-matrix compatibility in Java, stages heap or misaligned memory into native memory, then
 * splits the output into tiles (column blocks, or row blocks when there are too few columns) that
 * {@link KernelThreads} runs in parallel, one downcall per tile.
 */
public final class NativeInt8Kernels implements Int8Kernels {

    /** Columns per tile unit: the AVX-512 register tile (4 panels of 16). */
    private static final int COLUMN_UNIT = 64;
    /** Rows per tile unit: the AVX-512 register tile. */
    private static final int ROW_UNIT = 6;
    /** Columns of a packed panel, a vector of 16 INT32 accumulators. */
    private static final int PANEL = 16;
    /**
     * The 1x1 convolutions with at most this many output positions put them on the GEMM's rows.
     * Measured on Zen 4 over ResNet-50's 1x1 convolutions: 49 and 196 positions gain up to 30% a
     * convolution (with channels on rows, 49 positions fill 49 of the 64 columns of a register
     * tile, and the weights' row sums are taken again every call), 784 and 3136 lose 3-35% to
     * the transposition of the output.
     */
    static final int POSITIONS_ON_ROWS = 256;
    /**
     * The input channels from which a convolution with a kernel larger than 1x1 puts the
     * positions on rows at any size: its patches are then runs of at least this many bytes a
     * tap. ResNet-50's 3x3 convolutions (64 to 512 channels) gain 5-45% at every size, most of
     * it in building the patches; its stem (3 channels) would take 2.5 times as long.
     */
    static final int TAP_RUN = 16;
    /** Below this many multiply-adds a call runs on one thread: forking would cost more. */
    private static final long PARALLEL_MACS = 1L << 20;

    private final NativeBindings bindings;
    private final Isa isa;

    private NativeInt8Kernels(NativeBindings bindings, Isa isa) {
        this.bindings = bindings;
        this.isa = isa;
    }

    /**
     * Returns the kernels at the best level this CPU supports, if the library loads.
     *
     * @return the kernels, or empty (see {@link #unavailableReason()})
     */
    public static Optional<NativeInt8Kernels> load() {
        return NativeBindings.loaded() == null
                ? Optional.empty()
                : Optional.of(new NativeInt8Kernels(NativeBindings.loaded(), bestIsa()));
    }

    /**
     * Returns the kernels at a given level, for tests and benchmarks that compare paths.
     *
     * @param isa the level
     * @return the kernels, or empty if the library does not load or the CPU lacks the level
     */
    public static Optional<NativeInt8Kernels> forIsa(Isa isa) {
        if (NativeBindings.loaded() == null || isa.ordinal() > bestIsa().ordinal()) {
            return Optional.empty();
        }
        return Optional.of(new NativeInt8Kernels(NativeBindings.loaded(), isa));
    }

    /**
     * Returns why the library did not load, or {@code null} if it did.
     *
     * @return the reason or null
     */
    public static String unavailableReason() {
        return NativeBindings.loadFailure();
    }

    /**
     * Returns the best level this CPU supports.
     *
     * @return the level
     * @throws IllegalStateException if the library did not load
     */
    public static Isa bestIsa() {
        if (NativeBindings.loaded() == null) {
            throw new IllegalStateException("native kernels unavailable: " + NativeBindings.loadFailure());
        }
        NativeBindings bindings = NativeBindings.loaded();
        return Isa.values()[bindings.call(() -> (int) bindings.bestIsa.invokeExact())];
    }

    /**
     * Returns this instance's instruction-set level.
     *
     * @return the level
     */
    public Isa isa() {
        return isa;
    }

    /** {@inheritDoc} */
    @Override
    public String name() {
        return "native-" + isa.label();
    }

    /** {@inheritDoc} */
    @Override
    public PackedInt8Matrix pack(Int8Matrix b) {
        return NativePackedInt8Matrix.pack(this, bindings, b);
    }

    /** {@inheritDoc} Packs B for this call only; use {@link #pack} to pack once. */
    @Override
    public void gemm(Int8Matrix a, Int8Matrix b, MemorySegment c) {
        Int8Kernels.checkGemm(a, b, c);
        try (PackedInt8Matrix packed = pack(b)) {
            gemm(a, packed, c);
        }
    }

    /** {@inheritDoc} */
    @Override
    public void gemm(Int8Matrix a, PackedInt8Matrix b, MemorySegment c) {
        Int8Kernels.checkGemm(a, b.rows(), b.cols(), c);
        gemmTiles(a, nativePacked(b), c, null);
    }

    /** {@inheritDoc} The epilogue runs in the AVX-512 kernel's registers, else in C per tile. */
    @Override
    public void gemmF32(Int8Matrix a, PackedInt8Matrix b, GemmEpilogue epilogue, MemorySegment c) {
        Int8Kernels.checkGemmF32(a, b, epilogue, c);
        gemmTiles(a, nativePacked(b), c, epilogue);
    }

    /** {@inheritDoc} Written in C straight from the input into the panel layout. */
    @Override
    public PackedInt8Matrix packPatches(MemorySegment input, boolean signed, int zeroPoint,
            ConvWindow window) {
        Int8Kernels.checkPatches(input, signed, zeroPoint, window);
        return NativePackedInt8Matrix.patches(this, bindings, input, signed, zeroPoint, window);
    }

    /**
     * {@inheritDoc} At least a panel of 16 output channels (fewer, as in a depthwise
     * convolution, would leave most of every register tile's columns empty), and: a 1x1
     * convolution whose output may be channels-last (nothing is transposed after the GEMM, the
     * weights are packed once, a channels-last input is the patches), a 1x1 convolution of at
     * most {@value #POSITIONS_ON_ROWS} positions, or a larger kernel over at least {@value
     * #TAP_RUN} input channels.
     */
    @Override
    public boolean positionsOnRows(ConvWindow window, int channels, boolean channelsLast) {
        boolean pointwise = window.kernelH() == 1 && window.kernelW() == 1;
        return channels >= PANEL && (pointwise && channelsLast
                || window.positions() <= POSITIONS_ON_ROWS
                || !pointwise && window.channels() >= TAP_RUN);
    }

    /** {@inheritDoc} Written in C. */
    @Override
    public void patchRows(MemorySegment input, boolean signed, int zeroPoint, ConvWindow window,
            boolean channelsLast, MemorySegment rows) {
        Int8Kernels.checkPatchRows(input, signed, zeroPoint, window, rows);
        long bytes = (long) window.positions() * window.patchLength();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment source = Segments.input(input, window.inputBytes(), 1, call);
            MemorySegment sizes = Segments.ints(window.toArray(), call);
            MemorySegment out = Segments.output(rows, bytes, 1, call);
            int flag = signed ? 1 : 0;
            int last = channelsLast ? 1 : 0;
            int level = isa.ordinal();
            bindings.check("patchRows", () -> (int) bindings.patchRows.invokeExact(
                    level, source, flag, zeroPoint, sizes, last, out));
            Segments.copyBack(out, rows, bytes);
        }
    }

    /** {@inheritDoc} In C, 16 x 16 blocks transposed in registers. */
    @Override
    public void transposeBytes(MemorySegment src, int rows, int cols, MemorySegment dst) {
        Int8Kernels.checkTransposeBytes(src, rows, cols, dst);
        long bytes = (long) rows * cols;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment in = Segments.input(src, bytes, 1, call);
            MemorySegment out = Segments.output(dst, bytes, 1, call);
            int level = isa.ordinal();
            bindings.check("transposeBytes", () -> (int) bindings.transposeBytes.invokeExact(
                    level, in, (long) rows, (long) cols, out));
            Segments.copyBack(out, dst, bytes);
        }
    }

    /** {@inheritDoc} In C, 4 x 4 blocks transposed in registers. */
    @Override
    public void transposeOutput(MemorySegment src, int rows, int cols, MemorySegment residual,
            Activation activation, MemorySegment dst) {
        Int8Kernels.checkTransposeOutput(src, rows, cols, residual, dst);
        long bytes = 4L * rows * cols;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment in = Segments.input(src, bytes, 4, call);
            MemorySegment added = residual == null ? MemorySegment.NULL
                    : Segments.input(residual, bytes, 4, call);
            MemorySegment out = Segments.output(dst, bytes, 4, call);
            int level = isa.ordinal();
            int act = activation.ordinal();
            bindings.check("transposeOutput", () -> (int) bindings.transposeOutputF32
                    .invokeExact(level, in, (long) cols, (long) rows, (long) cols, added, act,
                            out));
            Segments.copyBack(out, dst, bytes);
        }
    }

    private static NativePackedInt8Matrix nativePacked(PackedInt8Matrix b) {
        if (!(b instanceof NativePackedInt8Matrix packed)) {
            throw new IllegalArgumentException(
                    "gemm: weights packed by the " + b.kernels().name() + " kernels, not native");
        }
        return packed;
    }

    /** Runs the checked GEMM tile by tile, INT32 out without an epilogue, else FP32. */
    private void gemmTiles(Int8Matrix a, NativePackedInt8Matrix packed, MemorySegment c,
            GemmEpilogue epilogue) {
        int m = a.rows();
        int n = packed.rows();
        int k = a.cols();
        if (m == 0 || n == 0) {
            return;
        }
        MemorySegment weights = packed.segment();
        int[] zeros = new int[m];
        for (int i = 0; i < m; i++) {
            zeros[i] = a.zeroPoint(i);
        }
        // Auto arena: per-call copies are shareable with the workers and freed by the GC.
        Arena arena = Arena.ofAuto();
        MemorySegment za = Segments.ints(zeros, arena);
        MemorySegment av = Segments.shareable(Segments.input(a.data(), (long) m * k, 1, arena));
        MemorySegment out = Segments.output(c, 4L * m * n, 4, arena);
        MemorySegment cv = Segments.shareable(out);
        MemorySegment[] ep = epilogue == null ? null
                : epilogueSegments(epilogue, 4L * m * n, arena);
        int signed = a.signed() ? 1 : 0;
        int level = isa.ordinal();
        Tiles tiles = Tiles.plan(m, n, (long) m * n * k);
        KernelThreads.run(tiles.count(), t -> {
            int m0 = tiles.m0(t);
            int m1 = tiles.m1(t);
            int n0 = tiles.n0(t);
            int n1 = tiles.n1(t);
            if (ep == null) {
                bindings.check("gemm", () -> (int) bindings.gemmTile.invokeExact(level, av,
                        signed, za, weights, n, k, m0, m1, n0, n1, cv, (long) n));
            } else {
                bindings.check("gemmF32", () -> (int) bindings.gemmTileF32.invokeExact(level,
                        av, signed, za, weights, n, k, m0, m1, n0, n1, cv, (long) n,
                        epilogue.inputScale(), ep[0], ep[1], ep[2], ep[3], ep[4], (long) n,
                        epilogue.activation().ordinal(), epilogue.perColumn() ? 1 : 0));
            }
        });
        Segments.copyBack(out, c, 4L * m * n);
    }

    /**
     * The epilogue's vectors as native memory (NULL for an absent post step or residual): native
     * ones as they are (a layer's constants, kept native by its caller), others copied. The
     * residual is {@code 4 * m * n} bytes, checked by the caller.
     */
    private static MemorySegment[] epilogueSegments(GemmEpilogue e, long residualBytes,
            Arena arena) {
        long vector = e.scale().byteSize();
        return new MemorySegment[] {floats(e.scale(), vector, arena),
            floats(e.offset(), vector, arena), floats(e.postScale(), vector, arena),
            floats(e.postShift(), vector, arena), floats(e.residual(), residualBytes, arena)};
    }

    private static MemorySegment floats(MemorySegment values, long bytes, Arena arena) {
        return values == null ? MemorySegment.NULL
                : Segments.shareable(Segments.input(values, bytes, 4, arena));
    }

    /** {@inheritDoc} */
    @Override
    public void gemvF32(MemorySegment x, Int8Matrix w, float[] scales, MemorySegment y) {
        Int8Kernels.checkGemv(x, w, scales, y);
        int n = w.rows();
        int k = w.cols();
        if (n == 0) {
            return;
        }
        float[] fullScales = new float[n];
        int[] zeros = new int[n];
        for (int j = 0; j < n; j++) {
            fullScales[j] = scales[scales.length == 1 ? 0 : j];
            zeros[j] = w.zeroPoint(j);
        }
        Arena arena = Arena.ofAuto();
        MemorySegment xv = Segments.shareable(Segments.input(x, 4L * k, 4, arena));
        MemorySegment wv = Segments.shareable(Segments.input(w.data(), (long) n * k, 1, arena));
        MemorySegment zv = Segments.ints(zeros, arena);
        MemorySegment sv = arena.allocateFrom(ValueLayout.JAVA_FLOAT, fullScales);
        MemorySegment out = Segments.output(y, 4L * n, 4, arena);
        MemorySegment yv = Segments.shareable(out);
        int signed = w.signed() ? 1 : 0;
        int level = isa.ordinal();
        // One byte of W per multiply-add: split rows over threads only when W is large.
        int tasks = (long) n * k < PARALLEL_MACS / 4 ? 1 : Math.min(KernelThreads.count(), n);
        KernelThreads.run(tasks, t -> {
            int n0 = (int) ((long) n * t / tasks);
            int n1 = (int) ((long) n * (t + 1) / tasks);
            bindings.check("gemv", () -> (int) bindings.gemvF32.invokeExact(level, xv, k, wv,
                    signed, zv, sv, n0, n1, yv));
        });
        Segments.copyBack(out, y, 4L * n);
    }

    /**
     * {@inheritDoc} One vectorized pass in C on the calling thread (the scan is bound by memory,
     * so it is not split); when a value is not finite, the Java reference finds which.
     */
    @Override
    public FloatRange range(MemorySegment src, long count) {
        if (src.byteSize() < 4 * count) {
            throw new IllegalArgumentException(
                    "range: input needs " + 4 * count + " bytes, has " + src.byteSize());
        }
        if (count == 0) {
            return Int8Kernels.super.range(src, count);
        }
        int level = isa.ordinal();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = Segments.input(src, 4 * count, 4, arena);
            MemorySegment minMax = arena.allocate(8, 4);
            int status = bindings.call(
                    () -> (int) bindings.rangeF32.invokeExact(level, x, count, minMax));
            if (status < 0) {
                bindings.check("range", () -> status);
            }
            if (status != 0) {
                return Int8Kernels.super.range(src, count);
            }
            return new FloatRange(minMax.get(ValueLayout.JAVA_FLOAT, 0),
                    minMax.get(ValueLayout.JAVA_FLOAT, 4), -1, 0f);
        }
    }

    /** {@inheritDoc} One vectorized pass in C on the calling thread. */
    @Override
    public long quantizePerTensor8(MemorySegment src, MemorySegment dst, QuantizedStorage type,
            long count, float scale, int zeroPoint) {
        if (src.byteSize() < 4 * count || dst.byteSize() < count || type.bytes() != 1) {
            throw new IllegalArgumentException("quantize: " + count + " values need " + 4 * count
                    + " input and " + count + " output bytes of 8-bit codes, have "
                    + src.byteSize() + " and " + dst.byteSize() + " of " + type);
        }
        if (!(scale > 0f) || zeroPoint < type.min() || zeroPoint > type.max()) {
            throw new IllegalArgumentException("quantize: scale " + scale + " and zero point "
                    + zeroPoint + " do not fit " + type);
        }
        int level = isa.ordinal();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = Segments.input(src, 4 * count, 4, arena);
            MemorySegment out = Segments.output(dst, count, 1, arena);
            MemorySegment nans = arena.allocate(8, 8);
            bindings.check("quantize", () -> (int) bindings.quantizeF32.invokeExact(level, x,
                    count, scale, zeroPoint, type.min(), type.max(), out, nans));
            Segments.copyBack(out, dst, count);
            return nans.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** {@inheritDoc} One vectorized loop in C on the calling thread. */
    @Override
    public void layerNorm(MemorySegment a, MemorySegment b, MemorySegment sum, MemorySegment y,
            long rows, float[] gamma, float[] beta, float epsilon) {
        FloatKernels.checkLayerNorm(a, b, sum, y, rows, gamma, beta);
        int n = gamma.length;
        long bytes = 4 * rows * n;
        if (rows == 0) {
            return;
        }
        int level = isa.ordinal();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment av = Segments.input(a, bytes, 4, arena);
            MemorySegment bv = b == null ? MemorySegment.NULL : Segments.input(b, bytes, 4, arena);
            MemorySegment sumOut = sum == null ? null : Segments.output(sum, bytes, 4, arena);
            MemorySegment sumArg = sumOut == null ? MemorySegment.NULL : sumOut;
            MemorySegment out = Segments.output(y, bytes, 4, arena);
            MemorySegment g = arena.allocateFrom(ValueLayout.JAVA_FLOAT, gamma);
            MemorySegment bt = beta == null ? MemorySegment.NULL
                    : arena.allocateFrom(ValueLayout.JAVA_FLOAT, beta);
            bindings.check("layerNorm", () -> (int) bindings.layerNormF32.invokeExact(level, av,
                    bv, sumArg, out, rows, n, g, bt, epsilon));
            if (sumOut != null) {
                Segments.copyBack(sumOut, sum, bytes);
            }
            Segments.copyBack(out, y, bytes);
        }
    }

    /** {@inheritDoc} One vectorized loop in C on the calling thread. */
    @Override
    public void maxPool(MemorySegment in, MemorySegment out, long planes, PoolWindow window) {
        PoolKernels.checkMaxPool(in, out, planes, window);
        if (planes == 0) {
            return;
        }
        long inBytes = 4 * planes * window.inputPlane();
        long outBytes = 4 * planes * window.outputPlane();
        int level = isa.ordinal();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = Segments.input(in, inBytes, 4, arena);
            MemorySegment y = Segments.output(out, outBytes, 4, arena);
            MemorySegment g = arena.allocateFrom(ValueLayout.JAVA_INT, window.toArray());
            bindings.check("maxPool", () -> (int) bindings.maxPoolF32.invokeExact(level, x, y,
                    planes, g));
            Segments.copyBack(y, out, outBytes);
        }
    }

    /**
     * {@inheritDoc} One vectorized loop in C, the Java loop's bits; the heads are shared among
     * the kernel threads when there is enough work.
     */
    @Override
    public void attention(AttentionInputs in) {
        long rows = in.batch() * in.seq();
        if (rows == 0 || in.heads() == 0) {
            return;
        }
        long qBytes = ((rows - 1) * in.qStride() + in.heads() * in.size()) * 4;
        long cache = in.batch() * in.heads() * in.total() * in.size() * 4;
        long outBytes = rows * in.heads() * in.size() * 4;
        int level = isa.ordinal();
        // Auto arena: the per-call copies are shareable with the workers and freed by the GC.
        Arena arena = Arena.ofAuto();
        MemorySegment q = Segments.shareable(Segments.input(in.q(), qBytes, 4, arena));
        MemorySegment k = Segments.shareable(Segments.input(in.keys(), cache, 4, arena));
        MemorySegment v = Segments.shareable(Segments.input(in.values(), cache, 4, arena));
        MemorySegment out = Segments.output(in.out(), outBytes, 4, arena);
        MemorySegment outView = Segments.shareable(out);
        MemorySegment dims = arena.allocateFrom(ValueLayout.JAVA_LONG, in.batch(), in.seq(),
                in.heads(), in.size(), in.total());
        MemorySegment add = in.maskAdd() == null ? MemorySegment.NULL
                : arena.allocateFrom(ValueLayout.JAVA_FLOAT, in.maskAdd());
        MemorySegment allowed = in.maskAllowed() == null ? MemorySegment.NULL
                : arena.allocateFrom(ValueLayout.JAVA_BYTE, in.maskAllowed());
        MemorySegment strides = in.maskStrides() == null ? MemorySegment.NULL
                : arena.allocateFrom(ValueLayout.JAVA_LONG, in.maskStrides());
        long heads = in.batch() * in.heads();
        long macs = 2 * rows * in.heads() * in.total() * in.size();
        int tasks = macs < PARALLEL_MACS ? 1 : (int) Math.min(KernelThreads.count(), heads);
        KernelThreads.run(tasks, t -> {
            long first = heads * t / tasks;
            long last = heads * (t + 1) / tasks;
            bindings.check("attention", () -> (int) bindings.attentionF32.invokeExact(level,
                    q, in.qStride(), dims, k, v, add, allowed, strides, in.fill(),
                    in.scale(), in.divide() ? 1 : 0, outView, first, last));
        });
        Segments.copyBack(out, in.out(), outBytes);
    }

    /** {@inheritDoc} */
    @Override
    public boolean vectorizedAttention() {
        return true;
    }

    /**
     * How an M x N output is cut into tiles: along N in multiples of {@link #COLUMN_UNIT} when
     * there are enough column blocks for every thread (each thread then reads only its part of
     * the weights), else along M in multiples of {@link #ROW_UNIT}.
     */
    private record Tiles(int m, int n, int count, boolean byColumns) {

        static Tiles plan(int m, int n, long macs) {
            int threads = macs < PARALLEL_MACS ? 1 : KernelThreads.count();
            int columnUnits = (n + COLUMN_UNIT - 1) / COLUMN_UNIT;
            int rowUnits = (m + ROW_UNIT - 1) / ROW_UNIT;
            if (columnUnits >= threads || columnUnits >= rowUnits) {
                return new Tiles(m, n, Math.min(threads, columnUnits), true);
            }
            return new Tiles(m, n, Math.min(threads, rowUnits), false);
        }

        int m0(int t) {
            return byColumns ? 0 : bound(t, m, ROW_UNIT);
        }

        int m1(int t) {
            return byColumns ? m : bound(t + 1, m, ROW_UNIT);
        }

        int n0(int t) {
            return byColumns ? bound(t, n, COLUMN_UNIT) : 0;
        }

        int n1(int t) {
            return byColumns ? bound(t + 1, n, COLUMN_UNIT) : n;
        }

        /** Start of tile t: an even share of the units, in elements, clipped to the size. */
        private int bound(int t, int size, int unit) {
            long units = (size + unit - 1) / unit;
            return (int) Math.min(size, units * t / count * unit);
        }
    }
}
