package org.quantint8.benchmarks;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * What the fallback to PyTorch costs: the same operation on a PyTorch array (the peer, no copy)
 * and on a QuantInt8 array (copied into PyTorch; for NN operators also copied back), plus the
 * bare copies.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
// One PyTorch thread: the peer's figures then do not depend on what else the cores are doing.
@Fork(
        value = 1,
        jvmArgs = {
            "-Dai.djl.offline=true",
            "-Dai.djl.pytorch.num_threads=1",
            "-Dai.djl.pytorch.num_interop_threads=1"
        })
public class FallbackRoundTripBenchmark {

    /** Elements of the array: a 128 x 768 activation and a 16 x 16 one. */
    @Param({"98304", "256"})
    public int elements;

    private NDManager quantInt8;
    private NDManager pytorch;
    private NDArray ours;
    private NDArray theirs;

    /** Creates one array of each engine with the same values. */
    @Setup(Level.Trial)
    public void setUp() {
        quantInt8 = Engine.getEngine("QuantInt8").newBaseManager();
        pytorch = Engine.getEngine("PyTorch").newBaseManager();
        theirs = pytorch.randomNormal(new Shape(elements));
        ours = quantInt8.from(theirs);
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void tearDown() {
        quantInt8.close();
        pytorch.close();
    }

    /**
     * The peer: exp on a PyTorch array.
     *
     * @return the result
     */
    @Benchmark
    public NDArray expOnPyTorch() {
        return closed(theirs.exp());
    }

    /**
     * exp on a QuantInt8 array: one copy into PyTorch, result stays a PyTorch array.
     *
     * @return the result
     */
    @Benchmark
    public NDArray expThroughFallback() {
        return closed(ours.exp());
    }

    /**
     * The peer: ReLU on a PyTorch array.
     *
     * @return the result
     */
    @Benchmark
    public NDArray reluOnPyTorch() {
        return closed(Activation.relu(theirs));
    }

    /**
     * ReLU on a QuantInt8 array: a copy into PyTorch and the result copied back.
     *
     * @return the result
     */
    @Benchmark
    public NDArray reluThroughFallback() {
        return closed(Activation.relu(ours));
    }

    /**
     * The copy from PyTorch into QuantInt8 alone.
     *
     * @return the copy
     */
    @Benchmark
    public NDArray copyIntoQuantInt8() {
        return closed(quantInt8.from(theirs));
    }

    /** Frees a result at once, as an inference loop would; both sides pay the same close. */
    private static NDArray closed(NDArray result) {
        result.close();
        return result;
    }
}
