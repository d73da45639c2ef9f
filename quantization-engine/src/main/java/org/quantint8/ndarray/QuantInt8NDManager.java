package org.quantint8.ndarray;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.io.IOException;
import java.io.InputStream;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.Charset;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@link NDManager} of the QuantInt8 engine: it owns the off-heap memory of its {@link
 * QuantInt8NDArray}s and frees it when they, or it, close.
 *
 * <p>Creation functions the engine does not implement (random numbers, {@code arange}, ...) run
 * on the alternative engine and their results are copied in, so that every array this manager
 * returns is its own.
 */
public class QuantInt8NDManager extends BaseNDManager {

    private static final String ENGINE_NAME = "QuantInt8";
    private static final AtomicLong OFF_HEAP_BYTES = new AtomicLong();
    private static final QuantInt8NDManager SYSTEM_MANAGER = new SystemManager();

    private final MemoryPool pool;
    /** The pools a run manager's pool returns to when it closes, or null to free it then. */
    private final RunPools home;
    private final AtomicBoolean poolReleased = new AtomicBoolean();
    /** The pools of closed sub-managers, for the next ones; created on first use. */
    private volatile RunPools childPools;

    private QuantInt8NDManager(NDManager parent, Device device, MemoryPool pool, RunPools home) {
        super(parent, device);
        this.pool = pool;
        this.home = home;
    }

    /**
     * Returns the root manager of which all others are children.
     *
     * @return the system manager
     */
    public static QuantInt8NDManager getSystemManager() {
        return SYSTEM_MANAGER;
    }

    /**
     * Returns the off-heap bytes held by all open QuantInt8 arrays in this process.
     *
     * @return the bytes in use
     */
    public static long getOffHeapBytesInUse() {
        return OFF_HEAP_BYTES.get();
    }

    /** {@inheritDoc} */
    @Override
    public final Engine getEngine() {
        return Engine.getEngine(ENGINE_NAME);
    }

    /** {@inheritDoc} */
    @Override
    public ByteBuffer allocateDirect(int capacity) {
        return ByteBuffer.allocateDirect(capacity).order(ByteOrder.nativeOrder());
    }

    /**
     * {@inheritDoc}
     *
     * <p>A closed sub-manager's memory pool (its arrays up to 1 MB; larger ones are freed with
     * them) is kept for this manager's next sub-manager rather than freed: a predictor's context
     * per call, or a decoding step's manager, then reuses memory already mapped instead of
     * creating an arena and zeroing fresh pages each time. At most a few pools are kept (the
     * larger of 4 and the number of processors; more are freed), and all when this manager
     * closes. The system manager keeps none: its children are models' managers, whose memory
     * goes back to the system when they close.
     */
    @Override
    public QuantInt8NDManager newSubManager(Device device) {
        if (this instanceof SystemManager || !device.equals(getDevice())) {
            return attachChild(new QuantInt8NDManager(this, device, new MemoryPool(), null));
        }
        RunPools pools = childPools;
        if (pools == null) {
            synchronized (this) {
                if (childPools == null) {
                    childPools = RunPools.forSubManagers(this);
                }
                pools = childPools;
            }
        }
        return pools.newRunManager();
    }

    /**
     * Returns a sub-manager for one short run, such as a forward pass: it keeps the memory of
     * its closed arrays, of every size, for its next arrays, and frees it all when it closes. A
     * manager from {@link #newSubManager} gives each array over 1 MB memory of its own instead,
     * freed with the array, which costs an arena and a thread handshake per array but never
     * holds memory nobody uses. A model that runs many passes keeps their memory between them
     * with {@link RunPools} instead.
     *
     * @return the run's manager, a child of this one on the same device
     */
    public QuantInt8NDManager newRunManager() {
        return attachChild(new QuantInt8NDManager(this, getDevice(), new MemoryPool(true), null));
    }

    /** A run manager over a pool that goes back to {@code home} when the manager closes. */
    QuantInt8NDManager newRunManager(MemoryPool runPool, RunPools home) {
        return attachChild(new QuantInt8NDManager(this, getDevice(), runPool, home));
    }

    /** The idle pools of this manager's closed sub-managers, or null before the first (tests). */
    RunPools childPools() {
        return childPools;
    }

    private QuantInt8NDManager attachChild(QuantInt8NDManager manager) {
        attachInternal(manager.uid, manager);
        return manager;
    }

    /**
     * Returns the manager of the alternative engine, which runs the operations this engine lacks.
     *
     * @return the alternative manager
     * @throws UnsupportedOperationException if the PyTorch engine is not on the class path
     */
    public NDManager getAlternativeManagerOrThrow() {
        if (alternativeManager == null) {
            throw new UnsupportedOperationException(
                    "This operation needs the PyTorch engine as QuantInt8's alternative engine,"
                            + " but it is not available: add ai.djl.pytorch:pytorch-engine");
        }
        return alternativeManager;
    }

    /** {@inheritDoc} */
    @Override
    public QuantInt8NDArray from(NDArray array) {
        if (array == null || array instanceof QuantInt8NDArray) {
            return (QuantInt8NDArray) array;
        }
        // tryDirect avoids one copy: the bytes are copied into this manager's memory at once.
        QuantInt8NDArray result =
                create(array.toByteBuffer(true), array.getShape(), array.getDataType());
        result.setName(array.getName());
        return result;
    }

    /** {@inheritDoc} */
    @Override
    public QuantInt8NDArray create(Shape shape, DataType dataType) {
        return allocate(shape, dataType, null);
    }

    /**
     * Creates an array whose contents are unspecified (zero where the memory is fresh, else what
     * an array closed before left there), for a caller that writes every element before anything
     * reads one: it saves zeroing memory that is about to be overwritten (a transformer layer's
     * outputs, the key/value cache of every decoding step).
     *
     * @param shape the shape
     * @param dataType the data type
     * @return the array, to be filled by the caller
     */
    public QuantInt8NDArray createOverwritten(Shape shape, DataType dataType) {
        return allocateOverwritten(shape, dataType, null);
    }

    /** {@inheritDoc} */
    @Override
    public QuantInt8NDArray create(Buffer data, Shape shape, DataType dataType) {
        // set() checks the size and overwrites every byte: no need to zero the memory first.
        QuantInt8NDArray array = allocate(shape, dataType, null, false);
        try {
            array.set(data);
        } catch (RuntimeException e) {
            array.close();
            throw e;
        }
        return array;
    }

    /**
     * Creates a quantized array from its integer codes and quantization parameters.
     *
     * @param data the codes, as many as the shape holds, of the parameters' data type
     * @param shape the shape
     * @param parameters the quantization parameters, compatible with the shape
     * @return the quantized array
     * @throws IllegalArgumentException if the parameters do not fit the shape
     */
    public QuantInt8NDArray createQuantized(
            Buffer data, Shape shape, QuantizationParameters parameters) {
        parameters.checkCompatible("createQuantized", shape, parameters.getDataType());
        QuantInt8NDArray array = allocate(shape, parameters.getDataType(), parameters);
        try {
            array.set(data);
        } catch (RuntimeException e) {
            array.close();
            throw e;
        }
        return array;
    }

    /**
     * Allocates a zero-filled array, quantized when {@code parameters} is not null.
     *
     * @param shape the shape, with no unknown (negative) dimension
     * @param dataType any fixed-size data type
     * @param parameters the quantization parameters, or null
     * @return the new array
     */
    QuantInt8NDArray allocate(Shape shape, DataType dataType, QuantizationParameters parameters) {
        return allocate(shape, dataType, parameters, true);
    }

    /**
     * Allocates an array whose memory is left as the pool has it (zero if fresh, else whatever
     * the last array there held): for a kernel that writes every element before anything reads.
     *
     * @param shape the shape, with no unknown (negative) dimension
     * @param dataType any fixed-size data type
     * @param parameters the quantization parameters, or null
     * @return the new array
     */
    QuantInt8NDArray allocateOverwritten(
            Shape shape, DataType dataType, QuantizationParameters parameters) {
        return allocate(shape, dataType, parameters, false);
    }

    private QuantInt8NDArray allocate(Shape shape, DataType dataType,
            QuantizationParameters parameters, boolean zeroed) {
        OffHeapBlock memory = pool.allocate(byteSize(shape, dataType), zeroed);
        try {
            QuantInt8NDArray array = new QuantInt8NDArray(
                    this, alternativeManager, shape, dataType, memory, parameters);
            OFF_HEAP_BYTES.addAndGet(memory.data().byteSize());
            return array;
        } catch (RuntimeException e) {
            memory.free(); // a closed manager refuses new arrays
            throw e;
        }
    }

    /** Returns the alternative engine's manager, or null when PyTorch is not available. */
    NDManager alternative() {
        return alternativeManager;
    }

    /**
     * Returns this manager's memory pool.
     *
     * @return the pool
     */
    MemoryPool pool() {
        return pool;
    }

    /** Called by an array when it takes new memory outside {@link #allocate}. */
    static void reserved(long bytes) {
        OFF_HEAP_BYTES.addAndGet(bytes);
    }

    /** Called by an array when it frees its memory. */
    static void released(long bytes) {
        OFF_HEAP_BYTES.addAndGet(-bytes);
    }

    private static long byteSize(Shape shape, DataType dataType) {
        if (dataType == DataType.STRING || dataType == DataType.UNKNOWN) {
            throw new IllegalArgumentException(
                    "QuantInt8 arrays hold fixed-size numbers, not " + dataType);
        }
        long elements = 1;
        for (long dim : shape.getShape()) {
            if (dim < 0) {
                throw new IllegalArgumentException(
                        "Cannot allocate an array of shape " + shape + ": unknown dimension");
            }
            elements = Math.multiplyExact(elements, dim);
        }
        long bytes = Math.multiplyExact(elements, (long) dataType.getNumOfBytes());
        if (bytes > Integer.MAX_VALUE) {
            // DJL exchanges data as ByteBuffers, which are limited to 2 GiB.
            throw new IllegalArgumentException(
                    "Array of shape " + shape + " and " + dataType + " exceeds 2 GiB");
        }
        return bytes;
    }

    /** {@inheritDoc} */
    @Override
    public NDArray create(String[] data, Charset charset, Shape shape) {
        throw new UnsupportedOperationException("QuantInt8 arrays cannot hold strings");
    }

    /** {@inheritDoc} */
    @Override
    public NDArray full(Shape shape, float value, DataType dataType) {
        return adopt(getAlternativeManagerOrThrow().full(shape, value, dataType));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray arange(float start, float stop, float step, DataType dataType) {
        return adopt(getAlternativeManagerOrThrow().arange(start, stop, step, dataType));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray eye(int rows, int cols, int k, DataType dataType) {
        return adopt(getAlternativeManagerOrThrow().eye(rows, cols, k, dataType));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray linspace(float start, float stop, int num, boolean endpoint) {
        return adopt(getAlternativeManagerOrThrow().linspace(start, stop, num, endpoint));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray randomInteger(long low, long high, Shape shape, DataType dataType) {
        return adopt(getAlternativeManagerOrThrow().randomInteger(low, high, shape, dataType));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray randomUniform(float low, float high, Shape shape, DataType dataType) {
        return adopt(getAlternativeManagerOrThrow().randomUniform(low, high, shape, dataType));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray randomNormal(float loc, float scale, Shape shape, DataType dataType) {
        return adopt(getAlternativeManagerOrThrow().randomNormal(loc, scale, shape, dataType));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray truncatedNormal(float loc, float scale, Shape shape, DataType dataType) {
        return adopt(getAlternativeManagerOrThrow().truncatedNormal(loc, scale, shape, dataType));
    }

    private QuantInt8NDArray adopt(NDArray alternative) {
        try (alternative) {
            return from(alternative);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Reads quantization parameters written by {@link QuantInt8NDArray#encode()} too.
     */
    @Override
    public NDArray decode(byte[] bytes) {
        return QuantizedEncoding.decode(this, bytes);
    }

    /** {@inheritDoc} */
    @Override
    public NDArray decode(InputStream is) throws IOException {
        return decode(is.readAllBytes());
    }

    /**
     * Decodes the standard DJL encoding, without quantization parameters.
     *
     * @param bytes the encoded array
     * @return the array
     */
    NDArray decodeStandard(byte[] bytes) {
        return super.decode(bytes);
    }

    /** {@inheritDoc} */
    @Override
    public void close() {
        super.close();
        // The arrays have returned their blocks; now the memory goes back to the system, or to
        // the model's pools for its next pass (once, however often close is called).
        if (!poolReleased.getAndSet(true)) {
            if (home != null) {
                home.giveBack(pool);
            } else {
                pool.close();
            }
        }
        if (alternativeManager != null) {
            alternativeManager.close();
            alternativeManager = null;
        }
    }

    /** The root manager; it lives as long as the process. */
    private static final class SystemManager extends QuantInt8NDManager
            implements SystemNDManager {

        SystemManager() {
            super(null, null, new MemoryPool(), null);
        }

        /** {@inheritDoc} */
        @Override
        public void close() {}
    }
}
