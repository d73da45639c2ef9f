package org.quantint8.kernels.foreign;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.function.IntConsumer;

/**
 * The threads the native kernels spread their tiles over.
 *
 * <p>Threading is done here, in Java, rather than with pthreads in C: a tile is hundreds of
 * microseconds of work against well under a microsecond per downcall, the JVM already owns
 * threads and their settings, and the C code stays a set of pure functions. The calling thread
 * runs one tile itself and waits for the others, so memory it owns outlives every tile.
 *
 * <p>The thread count is, in order: the system property {@value #PROPERTY}, DJL's intra-op
 * setting {@code ai.djl.pytorch.num_threads}, or the number of available processors.
 */
final class KernelThreads {

    /** The system property that sets the thread count. */
    static final String PROPERTY = "quantint8.num_threads";

    private static final int COUNT = resolveCount();
    private static volatile ForkJoinPool pool;

    private KernelThreads() {}

    /**
     * Returns how many threads a kernel call may use.
     *
     * @return the thread count, at least 1
     */
    static int count() {
        return COUNT;
    }

    /**
     * Runs {@code tasks} tasks, task 0 on the calling thread, and returns when all have ended.
     *
     * @param tasks the number of tasks
     * @param task runs one task, given its index
     */
    static void run(int tasks, IntConsumer task) {
        if (tasks <= 1) {
            task.accept(0);
            return;
        }
        List<ForkJoinTask<?>> others = new ArrayList<>(tasks - 1);
        Throwable failure = null;
        try {
            ForkJoinPool workers = pool();
            for (int i = 1; i < tasks; i++) {
                int index = i;
                others.add(workers.submit(() -> task.accept(index)));
            }
            task.accept(0);
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        // Join every submitted task even after a failure (an Error too): they may still be
        // writing into the caller's memory, which the caller frees or reuses once we return.
        for (ForkJoinTask<?> other : others) {
            try {
                other.join();
            } catch (RuntimeException | Error e) {
                failure = failure == null ? e : failure;
            }
        }
        if (failure instanceof Error error) {
            throw error;
        }
        if (failure != null) {
            throw (RuntimeException) failure;
        }
    }

    private static ForkJoinPool pool() {
        ForkJoinPool p = pool;
        if (p == null) {
            synchronized (KernelThreads.class) {
                p = pool;
                if (p == null) {
                    // The caller works too, so COUNT - 1 workers; their threads are daemons.
                    p = new ForkJoinPool(Math.max(1, COUNT - 1));
                    pool = p;
                }
            }
        }
        return p;
    }

    private static int resolveCount() {
        for (String property : new String[] {PROPERTY, "ai.djl.pytorch.num_threads"}) {
            String value = System.getProperty(property);
            if (value != null && !value.isBlank()) {
                try {
                    return Math.max(1, Integer.parseInt(value.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(property + " must be an integer, got "
                            + value, e);
                }
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }
}
