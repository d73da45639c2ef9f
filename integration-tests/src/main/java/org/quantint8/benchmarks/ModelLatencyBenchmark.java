package org.quantint8.benchmarks;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

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
import org.quantint8.demo.BertInputs;
import org.quantint8.demo.EmbeddingRunner;
import org.quantint8.demo.ModelResources;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * End-to-end latency of the real BERT-family models at sequence 128, batch 1: QuantInt8 (INT8 at
 * load time) against ONNX Runtime FP32 and ONNX Runtime's own INT8 twin of the same weights, all
 * in the same run. Threads: one by default ({@code quantint8.num_threads},
 * {@code ai.djl.pytorch.num_threads}, and ONNX Runtime's intra-op threads via {@code
 * quantint8.bench.ortThreads}); append {@code -jvmArgsAppend "..."} with 2 for all threads.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
        value = 1,
        jvmArgs = {
            "-Dai.djl.offline=true",
            "--enable-native-access=ALL-UNNAMED",
            "-Dquantint8.num_threads=1",
            "-Dai.djl.pytorch.num_threads=1",
            "-Dai.djl.pytorch.num_interop_threads=1",
            "-Dquantint8.bench.ortThreads=1"
        })
public class ModelLatencyBenchmark {

    /** The model. */
    @Param({"all-minilm-l6-v2", "bge-small-en-v1.5"})
    public String model;

    private static final int SEQUENCE = 128;

    private HuggingFaceTokenizer tokenizer;
    private Encoding encoding;
    private EmbeddingRunner ortFp32;
    private EmbeddingRunner ortTwin;
    private ZooModel<NDList, NDList> quantInt8;
    private Predictor<NDList, NDList> predictor;

    /**
     * Loads the three runs of the model and encodes one sequence of exactly 128 tokens.
     *
     * @throws Exception if a model cannot be loaded
     */
    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "quantint8-bench");
        Path dir = ModelResources.extract(model, work);
        Path twinDir = ModelResources.extract(model.replace("v2", "v2-q").replace("v1.5", "v1.5-q"),
                work);
        Path tokenizerFile = dir.resolve(model + "-tokenizer.json");
        tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile, Map.of(
                "maxLength", String.valueOf(SEQUENCE), "padding", "MAX_LENGTH",
                "truncation", "LONGEST_FIRST"));
        encoding = tokenizer.encode("The committee met again this morning to review the budget,"
                + " and after a long discussion about schools, roads and the new hospital it agreed"
                + " to postpone the vote until every member had read the auditors' report, which"
                + " raised questions about spending in the last three years and about the way"
                + " contracts had been awarded to firms that employed relatives of officials, a"
                + " practice the mayor promised to end before the next election in the spring.");
        int threads = Integer.getInteger("quantint8.bench.ortThreads", 1);
        ortFp32 = new EmbeddingRunner(dir.resolve(model + ".onnx"), tokenizerFile, threads);
        ortTwin = new EmbeddingRunner(twinDir.resolve(twinDir.getFileName() + ".onnx"),
                tokenizerFile, threads);
        quantInt8 = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optEngine("QuantInt8")
                .optModelPath(dir)
                .optOption("quantizationCacheDir", work.resolve("cache").toString())
                .build()
                .loadModel();
        predictor = quantInt8.newPredictor();
    }

    /**
     * Frees the models.
     *
     * @throws Exception if closing fails
     */
    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        predictor.close();
        quantInt8.close();
        ortFp32.close();
        ortTwin.close();
        tokenizer.close();
    }

    /**
     * The FP32 model on ONNX Runtime.
     *
     * @return the embedding
     * @throws Exception if the run fails
     */
    @Benchmark
    public float[] onnxRuntimeFp32() throws Exception {
        return ortFp32.embed(encoding);
    }

    /**
     * ONNX Runtime's INT8 twin of the model.
     *
     * @return the embedding
     * @throws Exception if the run fails
     */
    @Benchmark
    public float[] onnxRuntimeInt8Twin() throws Exception {
        return ortTwin.embed(encoding);
    }

    /**
     * The model quantized at load time by QuantInt8.
     *
     * @return the mean of the last hidden state
     * @throws Exception if the run fails
     */
    @Benchmark
    public float[] quantInt8Int8() throws Exception {
        try (NDManager manager = quantInt8.getNDManager().newSubManager()) {
            return predictor.predict(BertInputs.of(manager, encoding)).get(0)
                    .mean(new int[] {1}).toFloatArray();
        }
    }
}
