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
import org.quantint8.kernels.PackedInt8Matrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * INT8 GEMM of a BERT-base linear layer at sequence length 128 (M = 128, K = 768, N = 768 for the
 * attention projections, 3072 for the MLP): the native kernels (UINT8 activations, INT8 weights
 * packed once), the Java kernels, and the peer, PyTorch FP32 matmul of the same shape.
 *
 * <p>JMH reports microseconds per call; GOPS = 2 * M * N * K / (microseconds * 1000).
 * Threads: {@code quantint8.num_threads} and {@code ai.djl.pytorch.num_threads} are both 1 here;
 * the two-thread run appends {@code -jvmArgsAppend "-Dquantint8.num_threads=2
 * -Dai.djl.pytorch.num_threads=2"} (the last {@code -D} wins).
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
public class Int8GemmBenchmark {

    /** The output width N: 768 (attention projections) or 3072 (MLP up-projection). */
    @Param({"768", "3072"})
    public int n;

    /** Rows of the activation: batch x sequence. */
    static final int M = 128;
    /** BERT-base hidden size. */
    static final int K = 768;

    private final Arena arena = Arena.ofShared();
    private Int8Matrix a;
    private PackedInt8Matrix packedNative;
    private PackedInt8Matrix packedJava;
    private Int8Kernels kernels;
    private MemorySegment c;
    private NDManager pytorch;
    private NDArray x;
    private NDArray w;

    /** Random operands; weights packed once, as GemmOps does. */
    @Setup(Level.Trial)
    public void setUp() {
        Random random = new Random(1);
        a = new Int8Matrix(randomBytes(random, (long) M * K), M, K, false, new int[] {128});
        Int8Matrix b = new Int8Matrix(randomBytes(random, (long) n * K), n, K, true, new int[] {0});
        kernels = Int8Kernels.best();
        packedNative = kernels.pack(b);
        packedJava = JavaInt8Kernels.INSTANCE.pack(b);
        c = arena.allocate(4L * M * n, 64);
        pytorch = Engine.getEngine("PyTorch").newBaseManager();
        x = pytorch.randomNormal(new Shape(M, K));
        w = pytorch.randomNormal(new Shape(K, n));
    }

    /** Frees everything. */
    @TearDown(Level.Trial)
    public void tearDown() {
        packedNative.close();
        pytorch.close();
        arena.close();
    }

    /**
     * The native kernels ({@code Int8Kernels.best()}).
     *
     * @return the output, so the call is not eliminated
     */
    @Benchmark
    public MemorySegment int8GemmNative() {
        kernels.gemm(a, packedNative, c);
        return c;
    }

    /**
     * The pure-Java reference kernels.
     *
     * @return the output
     */
    @Benchmark
    public MemorySegment int8GemmJava() {
        JavaInt8Kernels.INSTANCE.gemm(a, packedJava, c);
        return c;
    }

    /**
     * The peer: PyTorch FP32 matmul, [M, K] x [K, N].
     *
     * @return the output (closed: only its computation is measured)
     */
    @Benchmark
    public NDArray fp32MatmulPyTorch() {
        NDArray y = x.matMul(w);
        y.close();
        return y;
    }

    MemorySegment randomBytes(Random random, long size) {
        byte[] bytes = new byte[Math.toIntExact(size)];
        random.nextBytes(bytes);
        return arena.allocate(size, 64).copyFrom(MemorySegment.ofArray(bytes));
    }
}
