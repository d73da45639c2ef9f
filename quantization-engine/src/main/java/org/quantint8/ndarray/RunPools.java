package org.quantint8.ndarray;

import java.util.ArrayDeque;
import java.util.UUID;

/**
 * The memory a model keeps between its forward passes, as ONNX Runtime's arena does: one run pool
 * per pass running at the same time. A pass takes an idle pool, or a new one when all are busy,
 * and gives it back when its run manager closes, so the next pass finds its intermediate arrays'
 * memory already reserved instead of asking the operating system (and zeroing fresh pages) again.
 *
 * <p>Memory held between passes: per pool, the blocks the last pass on it used, which is the peak
 * of one pass rounded up to powers of two per size class; blocks over 1 MB that the last pass did
 * not use are freed when it ends (a BERT call with a shorter sequence after a longer one frees the
 * longer one's activations), blocks up to 1 MB share one arena and stay. As many pools exist as
 * passes ever ran at the same time. All of it is freed when the owning manager closes.
 *
 * <p>Arrays that leave a pass (attached to the caller's manager, or detached) take their memory
 * with them or are copied out first, so no block a caller can still read is given to the next
 * pass; a large one gives its block back to the pool when it closes, so that the next pass's
 * result reuses it. Thread-safe.
 */
public final class RunPools implements AutoCloseable {

    /** A sub-manager's parent keeps this many idle pools at most (the rest are freed). */
    static final int MAX_IDLE_SUB_POOLS = Math.max(4, Runtime.getRuntime().availableProcessors());

    private final QuantInt8NDManager owner;
    private final boolean everySize;
    private final int maxIdle;
    private final ArrayDeque<MemoryPool> idle = new ArrayDeque<>();
    private boolean closed;

    /**
     * Creates the pools of a model; they are closed with its manager.
     *
     * @param owner the model's manager: the parent of every run manager these pools serve
     */
    public RunPools(QuantInt8NDManager owner) {
        this(owner, true, Integer.MAX_VALUE);
    }

    /**
     * Creates the pools that a manager's sub-managers reuse, closed with it: arrays up to 1 MB
     * are pooled (larger ones get memory of their own, freed with them), and at most {@link
     * #MAX_IDLE_SUB_POOLS} idle pools are kept, since a caller may hold sub-managers by the
     * thousand and then close them.
     *
     * @param owner the parent of the sub-managers
     * @return the pools
     */
    static RunPools forSubManagers(QuantInt8NDManager owner) {
        return new RunPools(owner, false, MAX_IDLE_SUB_POOLS);
    }

    /**
     * Creates pools that are closed with their owner.
     *
     * @param owner the parent of every manager these pools serve
     * @param everySize whether arrays of every size are pooled, or only those up to 1 MB
     * @param maxIdle how many idle pools are kept; more are freed as their runs end
     */
    private RunPools(QuantInt8NDManager owner, boolean everySize, int maxIdle) {
        this.owner = owner;
        this.everySize = everySize;
        this.maxIdle = maxIdle;
        owner.attachInternal("run-pools:" + UUID.randomUUID(), this);
    }

    /**
     * Returns a manager for one forward pass, backed by an idle pool of these (or a new one). The
     * pool comes back here when the manager closes; every array it holds then is closed.
     *
     * @return the pass's manager, a child of the owner
     * @throws IllegalStateException if these pools are closed
     */
    public QuantInt8NDManager newRunManager() {
        MemoryPool pool;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("The model's memory pools are closed");
            }
            pool = idle.poll();
        }
        return owner.newRunManager(pool == null ? new MemoryPool(everySize) : pool, this);
    }

    /**
     * Takes back the pool of a run manager that closed; every array of the run has returned its
     * block by now.
     */
    void giveBack(MemoryPool pool) {
        pool.endRun();
        synchronized (this) {
            if (!closed && idle.size() < maxIdle) {
                idle.push(pool);
                return;
            }
        }
        pool.close();
    }

    /**
     * Returns the bytes the idle pools hold from the operating system.
     *
     * @return the reserved bytes
     */
    public synchronized long idleReservedBytes() {
        return idle.stream().mapToLong(MemoryPool::reservedBytes).sum();
    }

    /**
     * Returns the number of idle pools: the most passes that ran at the same time, once all ended.
     *
     * @return the idle pools
     */
    public synchronized int idlePools() {
        return idle.size();
    }

    /** Frees the idle pools; pools of passes still running are freed when those end. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        MemoryPool pool;
        while ((pool = poll()) != null) {
            pool.close();
        }
    }

    private synchronized MemoryPool poll() {
        return idle.poll();
    }
}
