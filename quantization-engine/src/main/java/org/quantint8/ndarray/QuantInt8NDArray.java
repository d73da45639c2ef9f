package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrayAdapter;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.PackedInt8Matrix;

import java.lang.foreign.MemorySegment;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.IntFunction;

/**
 * The NDArray of the QuantInt8 engine: dense data in off-heap memory, owned by its {@link
 * QuantInt8NDManager} and freed on {@link #close()}, optionally carrying the {@link
 * QuantizationParameters} that give its integer codes a real value.
 *
 * <p>The engine implements the INT8 operators ({@link Int8Ops}, and DJL's {@code linear}, {@code
 * convolution}, {@code relu}, pooling and {@code embedding} when the data is quantized) and the
 * layout operations (reshape, transpose, expand, squeeze, flatten), which keep quantization
 * parameters. Every other operation runs on the alternative engine (PyTorch) through {@link
 * NDArrayAdapter} and returns PyTorch's array; such operations see the integer codes of a
 * quantized array, as for any INT8 array: use {@link Int8Ops#dequantize(NDArray)} for real values.
 */
public class QuantInt8NDArray extends NDArrayAdapter {

    private OffHeapBlock memory;
    private MemorySegment data;
    private QuantizationParameters quantization;
    /** This array as GEMM weights, packed on first use by GemmOps; see {@link #packed}. */
    private PackedWeights packedWeights;
    /** Whether the 4-D values are stored [N, H, W, C]; see {@link #isChannelsLast}. */
    private boolean channelsLast;

    QuantInt8NDArray(
            QuantInt8NDManager manager,
            NDManager alternativeManager,
            Shape shape,
            DataType dataType,
            OffHeapBlock memory,
            QuantizationParameters quantization) {
        super(manager, alternativeManager, shape, dataType, NDManager.nextUid());
        this.memory = memory;
        this.data = memory.data();
        this.quantization = quantization;
        manager.attachInternal(uid, this);
    }

    /**
     * Returns the quantization parameters, or {@code null} when the array is not quantized.
     *
     * @return the parameters or null
     */
    public QuantizationParameters getQuantization() {
        checkOpen();
        return quantization;
    }

    /**
     * Returns whether this array holds quantized values.
     *
     * @return {@code true} if it carries quantization parameters
     */
    public boolean isQuantized() {
        return getQuantization() != null;
    }

    /**
     * Returns whether this array holds the values of an NCHW tensor channels-last: its shape is
     * then {@code [N, H, W, C]}, the order in which a convolution that puts the output positions
     * on its GEMM's rows writes them ({@link Int8Output#withChannelsLastAllowed}). Convolutions
     * and per-tensor quantization read such arrays; the other operators refuse them.
     *
     * @return {@code true} if the 4-D data is channels-last
     */
    public boolean isChannelsLast() {
        checkOpen();
        return channelsLast;
    }

    /** Marks this 4-D array's data as channels-last, [N, H, W, C] (see {@link #isChannelsLast}). */
    void markChannelsLast() {
        if (shape.dimension() != 4) {
            throw new IllegalStateException("Only a 4-D array is channels-last, got " + shape);
        }
        channelsLast = true;
    }

    /**
     * Attaches quantization parameters to this array's integer data, or removes them.
     *
     * @param parameters the parameters, compatible with this array's shape and data type, or null
     * @throws IllegalArgumentException if the parameters do not fit this array
     */
    public void setQuantization(QuantizationParameters parameters) {
        checkOpen();
        if (parameters != null) {
            parameters.checkCompatible("setQuantization", shape, dataType);
        }
        dropPacked();
        this.quantization = parameters;
    }

    /**
     * Returns the off-heap memory of this array, valid until the array is closed. Kernels read
     * and write it directly; the byte order is the platform's.
     *
     * @return the memory segment
     */
    public MemorySegment getDataSegment() {
        checkOpen();
        return data;
    }

    /** {@inheritDoc} */
    @Override
    public NDManager getManager() {
        return manager;
    }

    /**
     * {@inheritDoc}
     *
     * <p>With {@code tryDirect} the buffer is a view of this array's memory and must not be used
     * after the array is closed. Without it, a copy is returned: other engines (PyTorch) wrap the
     * buffer they are given without copying, so a view would dangle once this array is freed.
     */
    @Override
    public ByteBuffer toByteBuffer(boolean tryDirect) {
        checkOpen();
        if (tryDirect) {
            return data.asByteBuffer().order(ByteOrder.nativeOrder());
        }
        // A heap copy: a direct one would add a second GC-managed direct allocation per call to
        // the one the receiving engine makes anyway.
        byte[] copy = new byte[(int) data.byteSize()];
        MemorySegment.ofArray(copy).copyFrom(data);
        return ByteBuffer.wrap(copy).order(ByteOrder.nativeOrder());
    }

    /** {@inheritDoc} */
    @Override
    public void set(Buffer buffer) {
        checkOpen();
        dropPacked();
        int size = Math.toIntExact(shape.size());
        ai.djl.ndarray.BaseNDManager.validateBuffer(buffer, dataType, size);
        if (buffer instanceof ByteBuffer bb) {
            // Copy the remaining bytes as they are: DJL's byte buffers are in native order.
            data.copyFrom(MemorySegment.ofBuffer(bb.duplicate()).asSlice(0, data.byteSize()));
        } else {
            ByteBuffer target = data.asByteBuffer().order(ByteOrder.nativeOrder());
            ai.djl.ndarray.BaseNDManager.copyBuffer(buffer, target);
        }
    }

    /** {@inheritDoc} */
    @Override
    public void intern(NDArray replaced) {
        checkOpen();
        if (!(replaced instanceof QuantInt8NDArray other)) {
            throw new IllegalArgumentException(
                    "Cannot intern a " + replaced.getClass().getSimpleName() + " into QuantInt8");
        }
        freeMemory(); // also drops this array's packed weights
        OffHeapBlock taken = other.memory;
        long bytes = taken.data().byteSize();
        if (taken.moveTo(pool())) {
            // The memory now belongs to this array; the other must not free it.
            other.memory = null;
            other.data = null;
        } else {
            taken = pool().allocate(bytes);
            taken.data().copyFrom(other.data);
            QuantInt8NDManager.reserved(bytes);
        }
        memory = taken;
        data = taken.data();
        shape = other.shape;
        dataType = other.dataType;
        quantization = other.quantization;
        other.close();
    }

    /**
     * {@inheritDoc}
     *
     * <p>A small array's memory is a block of its manager's pool, freed with that manager: moving
     * to another manager copies it into the new manager's pool first.
     */
    @Override
    public void attach(NDManager target) {
        moveMemoryTo(target);
        // NDArrayAdapter.attach would detach() first, which moves the memory to the system
        // manager's pool: a second copy for nothing. The same steps, without it:
        manager.detachInternal(getUid());
        manager = target;
        target.attachInternal(getUid(), this);
        useAlternativeOf(target);
    }

    /** {@inheritDoc} */
    @Override
    public void detach() {
        moveMemoryTo(QuantInt8NDManager.getSystemManager());
        manager.detachInternal(getUid());
        manager = QuantInt8NDManager.getSystemManager();
        useAlternativeOf(manager);
    }

    /**
     * Takes the fallback engine's manager of a new home. The PyTorch copy that DJL's adapter
     * caches for fallback ops lives in the old home's, which may close before this array does (a
     * forward pass's manager, whose results move to the caller): it is dropped, not reused.
     */
    private void useAlternativeOf(NDManager home) {
        NDManager alternative = home instanceof QuantInt8NDManager q ? q.alternative() : null;
        // As DJL does: a manager without an alternative serves as its own.
        alternativeManager = alternative != null ? alternative : home;
        alternativeArray = null;
    }

    private void moveMemoryTo(NDManager target) {
        if (isClosed || memory == null) {
            return;
        }
        QuantInt8NDManager home = target instanceof QuantInt8NDManager q
                ? q
                : QuantInt8NDManager.getSystemManager();
        if (memory.moveTo(home.pool())) {
            return;
        }
        OffHeapBlock moved = home.pool().allocate(data.byteSize(), false);
        moved.data().copyFrom(data);
        memory.free();
        memory = moved;
        data = moved.data();
    }

    /**
     * {@inheritDoc}
     *
     * <p>QuantInt8 is an inference engine and tracks no gradients. The call is accepted because
     * DJL's blocks ask for gradients when they initialize their parameters; {@link #getGradient()}
     * still fails.
     */
    @Override
    public void setRequiresGradient(boolean requiresGrad) {
        checkOpen();
    }

    /** {@inheritDoc} */
    @Override
    public NDArray getGradient() {
        throw new UnsupportedOperationException(
                "QuantInt8 is an inference engine and has no gradients; train on PyTorch");
    }

    /** {@inheritDoc} */
    @Override
    public NDArrayEx getNDArrayInternal() {
        checkOpen();
        return new QuantInt8NDArrayEx(this, super::getNDArrayInternal);
    }

    /**
     * {@inheritDoc}
     *
     * <p>The standard DJL encoding, followed by the quantization parameters when there are any;
     * other engines decode the data and ignore the parameters.
     */
    @Override
    public byte[] encode() {
        return QuantizedEncoding.encode(super.encode(), getQuantization());
    }

    /**
     * {@inheritDoc}
     *
     * <p>Runs on the alternative engine like any fallback, but the sum comes back as a QuantInt8
     * array: a residual connection ({@code x.add(f(x))} in ResNet and transformer blocks) is
     * followed by more layers, and a PyTorch array there would send the next quantized {@code
     * Linear} or {@code Conv2d} to PyTorch.
     */
    @Override
    public NDArray add(NDArray other) {
        NDArray sum = super.add(other);
        try (sum) {
            NDArray adopted = getManager().from(sum);
            adopted.setName(sum.getName());
            return adopted;
        }
    }

    /** {@inheritDoc} */
    @Override
    public NDArray duplicate() {
        QuantInt8NDArray copy = getQuantManager().allocate(shape, dataType, getQuantization());
        copy.data.copyFrom(data);
        copy.setName(getName());
        return copy;
    }

    /** {@inheritDoc} */
    @Override
    public NDArray reshape(Shape newShape) {
        Shape target = Layouts.inferReshape(getShape(), newShape);
        QuantizationParameters q = Layouts.quantizationAfterReshape(quantization, shape, target);
        return copyAs(target, q);
    }

    /** {@inheritDoc} */
    @Override
    public NDArray expandDims(int axis) {
        int a = Layouts.normalizeAxis("expandDims", axis, getShape().dimension() + 1);
        return reshape(Layouts.expandShape(shape, a));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray squeeze(int[] axes) {
        return reshape(Layouts.squeezeShape(getShape(), axes));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray flatten() {
        return reshape(new Shape(getShape().size()));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray flatten(int startDim, int endDim) {
        return reshape(Layouts.flattenShape(getShape(), startDim, endDim));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray transpose() {
        int[] axes = new int[getShape().dimension()];
        for (int i = 0; i < axes.length; i++) {
            axes[i] = axes.length - 1 - i;
        }
        return transpose(axes);
    }

    /** {@inheritDoc} */
    @Override
    public NDArray transpose(int... axes) {
        int[] perm = Layouts.checkPermutation(getShape(), axes);
        QuantInt8NDArray result =
                getQuantManager()
                        .allocate(
                                Layouts.permuteShape(shape, perm),
                                dataType,
                                Layouts.quantizationAfterTranspose(quantization, perm));
        Layouts.permute(data, shape, dataType.getNumOfBytes(), perm, result.data);
        return result;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Runs on the alternative engine and returns its array, as a copy: PyTorch answers with a
     * view of the buffer this array lent it, which the next fallback operation replaces and
     * {@link #close()} drops, and a collected buffer's memory is soon someone else's.
     */
    @Override
    public NDArray broadcast(Shape shape) {
        return ownMemory(super.broadcast(shape));
    }

    /** {@inheritDoc} As {@link #broadcast(Shape)}, the parts are copies. */
    @Override
    public NDList split(long sections, int axis) {
        return ownMemory(super.split(sections, axis));
    }

    /** {@inheritDoc} As {@link #broadcast(Shape)}, the parts are copies. */
    @Override
    public NDList split(long[] indices, int axis) {
        return ownMemory(super.split(indices, axis));
    }

    /** {@inheritDoc} As {@link #broadcast(Shape)}, the diagonal is a copy. */
    @Override
    public NDArray diagonal() {
        return ownMemory(super.diagonal());
    }

    /** {@inheritDoc} As {@link #broadcast(Shape)}, the diagonal is a copy. */
    @Override
    public NDArray diagonal(int offset) {
        return ownMemory(super.diagonal(offset));
    }

    /** {@inheritDoc} As {@link #broadcast(Shape)}, the diagonal is a copy. */
    @Override
    public NDArray diagonal(int offset, int axis1, int axis2) {
        return ownMemory(super.diagonal(offset, axis1, axis2));
    }

    /**
     * {@inheritDoc}
     *
     * <p>QuantInt8 arrays are dense, so this is a copy; the alternative engine would hand out its
     * own internal copy of this array.
     */
    @Override
    public NDArray toDense() {
        return duplicate();
    }

    /** An alternative engine's view of this array's lent buffer, as a copy with its own memory. */
    private static NDArray ownMemory(NDArray view) {
        try (view) {
            return view.duplicate();
        }
    }

    private static NDList ownMemory(NDList views) {
        NDList copies = new NDList(views.size());
        for (NDArray view : views) {
            copies.add(ownMemory(view));
        }
        return copies;
    }

    /** {@inheritDoc} */
    @Override
    public void close() {
        if (!isClosed) {
            super.close();
            freeMemory();
        }
    }

    private QuantInt8NDArray copyAs(Shape newShape, QuantizationParameters q) {
        QuantInt8NDArray result = getQuantManager().allocate(newShape, dataType, q);
        result.data.copyFrom(data);
        result.setName(getName());
        return result;
    }

    private QuantInt8NDManager getQuantManager() {
        return (QuantInt8NDManager) manager;
    }

    /**
     * Returns this array's data packed as GEMM weights by the given kernels, packing it on first
     * use. The packed form lives until this array is closed, or its data ({@link #set}, {@link
     * #intern}) or quantization change; writing the data segment directly does not invalidate
     * it, which is fine for weights (nothing writes them that way) and is documented here.
     *
     * @param kernels the kernels that will run the GEMM
     * @param groups the number of weight groups (1 for linear)
     * @param packer packs one group
     * @return one packed matrix per group
     */
    synchronized PackedInt8Matrix[] packed(
            Int8Kernels kernels, int groups, IntFunction<PackedInt8Matrix> packer) {
        checkOpen();
        if (packedWeights == null || !packedWeights.fits(kernels, groups)) {
            dropPacked();
            packedWeights = PackedWeights.pack(kernels, groups, packer);
        }
        return packedWeights.groups();
    }

    private synchronized void dropPacked() {
        if (packedWeights != null) {
            packedWeights.close();
            packedWeights = null;
        }
    }

    private void freeMemory() {
        dropPacked();
        if (memory != null) {
            long bytes = data.byteSize();
            memory.free();
            memory = null;
            data = null;
            QuantInt8NDManager.released(bytes);
        }
    }

    /** The pool of this array's memory: its manager's, or the system manager's for a foreign one. */
    private MemoryPool pool() {
        return manager instanceof QuantInt8NDManager q
                ? q.pool()
                : QuantInt8NDManager.getSystemManager().pool();
    }

    private void checkOpen() {
        if (isClosed) {
            throw new IllegalStateException("QuantInt8 array " + uid + " has been closed");
        }
    }
}
