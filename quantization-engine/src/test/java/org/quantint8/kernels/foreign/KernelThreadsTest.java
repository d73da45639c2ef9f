package org.quantint8.kernels.foreign;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertSame;
import static org.testng.Assert.expectThrows;

import org.testng.annotations.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

public class KernelThreadsTest {

    @Test
    public void runsEveryTaskOnce() {
        int tasks = Math.max(2, KernelThreads.count()) * 3;
        AtomicInteger[] runs = new AtomicInteger[tasks];
        for (int i = 0; i < tasks; i++) {
            runs[i] = new AtomicInteger();
        }
        KernelThreads.run(tasks, t -> runs[t].incrementAndGet());
        for (int i = 0; i < tasks; i++) {
            assertEquals(runs[i].get(), 1, "task " + i);
        }
    }

    @Test(timeOut = 60_000)
    public void returnsOnlyAfterEveryTaskEndedEvenWhenTheCallersTaskThrowsAnError()
            throws InterruptedException {
        // Task 0 fails at once while task 1 is still running: returning then would let the caller
        // free memory that task 1 goes on writing.
        CountDownLatch started = new CountDownLatch(1);
        AtomicInteger ended = new AtomicInteger();
        AssertionError thrown = new AssertionError("task 0 fails");
        AssertionError caught = expectThrows(AssertionError.class, () -> KernelThreads.run(2, t -> {
            if (t == 0) {
                await(started);
                throw thrown;
            }
            started.countDown();
            sleep(300);
            ended.incrementAndGet();
        }));
        assertSame(caught, thrown);
        assertEquals(ended.get(), 1, "the worker's task ended before run returned");
    }

    @Test(timeOut = 60_000)
    public void rethrowsAWorkersFailureAfterJoiningAll() {
        IllegalStateException failure = expectThrows(IllegalStateException.class,
                () -> KernelThreads.run(3, t -> {
                    if (t == 2) {
                        throw new IllegalStateException("task 2 fails");
                    }
                }));
        // ForkJoinTask.join may rethrow a copy with the worker's exception as its cause.
        Throwable original = failure.getCause() instanceof IllegalStateException cause
                ? cause
                : failure;
        assertEquals(original.getMessage(), "task 2 fails");
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the worker's task never started");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
