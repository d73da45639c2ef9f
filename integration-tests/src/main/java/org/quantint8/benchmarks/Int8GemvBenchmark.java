package org.quantint8.benchmarks;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

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
import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.JavaInt8Kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Batch-1 decoding (M = 1): weight-only INT8 GEMV with FP32 activations (native and Java) against
 * PyTorch FP32 matrix-vector product of the same shape. K = 768; N = 768 or 3072 (GPT-2 small).
 * GOPS = 2 * N * K / (microseconds * 1000); threads as in {@link Int8GemmBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgs = {
            "--enable-native-access=ALL-UNNAMED",
            "-Dai.djl.offline=true",
            "-Dquantint8.num_threads=1",
            "-Dai.djl.pytorch.num_threads=1",
            "-Dai.djl.pytorch.num_interop_threads=1"
        })
public class Int8GemvBenchmark {

    /** The output width N. */
    @Param({"768", "3072"})
    public int n;

    static final int K = 768;

    private final Arena arena = Arena.ofShared();
    private Int8Kernels kernels;
    private MemorySegment xs;
    private Int8Matrix w;
    private float[] scales;
    private MemorySegment y;
    private NDManager pytorch;
    private NDArray xTorch;
    private NDArray wTorch;

    /** Random operands. */
    @Setup(Level.Trial)
    public void setUp() {
        Random random = new Random(2);
        byte[] bytes = new byte[n * K];
        random.nextBytes(bytes);
        w = new Int8Matrix(arena.allocate(bytes.length, 64).copyFrom(MemorySegment.ofArray(bytes)),
                n, K, true, new int[] {0});
        scales = new float[n];
        java.util.Arrays.fill(scales, 0.01f);
        float[] x = new float[K];
        for (int i = 0; i < K; i++) {
            x[i] = (float) random.nextGaussian();
        }
        xs = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
        y = arena.allocate(4L * n, 64);
        kernels = Int8Kernels.best();
        pytorch = Engine.getEngine("PyTorch").newBaseManager();
        xTorch = pytorch.randomNormal(new Shape(1, K));
        wTorch = pytorch.randomNormal(new Shape(K, n));
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void tearDown() {
        pytorch.close();
        arena.close();
    }

    /**
     * Native weight-only INT8 GEMV.
     *
     * @return the output
     */
    @Benchmark
    public MemorySegment int8GemvNative() {
        kernels.gemvF32(xs, w, scales, y);
        return y;
    }

    /**
     * Java weight-only INT8 GEMV.
     *
     * @return the output
     */
    @Benchmark
    public MemorySegment int8GemvJava() {
        JavaInt8Kernels.INSTANCE.gemvF32(xs, w, scales, y);
        return y;
    }

    /**
     * The peer: PyTorch FP32 [1, K] x [K, N].
     *
     * @return the output (closed)
     */
    @Benchmark
    public NDArray fp32MatvecPyTorch() {
        NDArray out = xTorch.matMul(wTorch);
        out.close();
        return out;
    }
}
