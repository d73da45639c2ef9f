package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Concurrent passes of one block each run on memory of their own, and every output keeps its
 * values while later passes reuse the pools.
 */
public class OnnxBlockRunPoolsTest {

    /** Over 1 MB as floats (an output that leaves with its arena), under it as codes (copied). */
    private static final int SIZE = 300_000;
    private static final int THREADS = 4;
    private static final int PASSES = 12;

    @Test
    public void concurrentPassesKeepTheirOutputs() throws Exception {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(
                    OnnxBlockOutputsTest.quantizeDequantize(SIZE), "test", manager);
            ExecutorService threads = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    done.add(threads.submit(() -> runPasses(block, manager, thread)));
                }
                for (Future<?> future : done) {
                    future.get();
                }
            } finally {
                threads.shutdown();
            }
            Assert.assertTrue(block.runPools().idlePools() >= 1
                    && block.runPools().idlePools() <= THREADS,
                    "pools: " + block.runPools().idlePools());
        }
    }

    /** Runs passes with inputs unique to this thread and pass, checking all outputs at the end. */
    private static Void runPasses(OnnxBlock block, QuantInt8NDManager model, int thread) {
        try (NDManager caller = model.newSubManager()) {
            List<NDList> outputs = new ArrayList<>();
            for (int pass = 0; pass < PASSES; pass++) {
                NDArray x = caller.create(input(thread, pass));
                outputs.add(block.forward(new ParameterStore(caller, false), new NDList(x), false));
            }
            for (int pass = 0; pass < PASSES; pass++) {
                float[] x = input(thread, pass);
                int[] codes = outputs.get(pass).get(0).toUint8Array();
                float[] y = outputs.get(pass).get(1).toFloatArray();
                for (int i = 0; i < SIZE; i += 997) {
                    int code = Math.clamp(Math.round(x[i] / 0.5f) + 10, 0, 255);
                    Assert.assertEquals(codes[i], code, "thread " + thread + " pass " + pass);
                    Assert.assertEquals(y[i], (code - 10) * 0.5f, "thread " + thread);
                }
            }
        }
        return null;
    }

    private static float[] input(int thread, int pass) {
        float[] x = new float[SIZE];
        for (int i = 0; i < SIZE; i++) {
            x[i] = ((i * 7 + thread * 31 + pass * 13) % 200) * 0.5f - 4f;
        }
        return x;
    }
}
