package org.quantint8.benchmarks;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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
import org.quantint8.engine.QuantInt8Model;
import org.quantint8.zoo.Int8ModelZoo;
import org.quantint8.zoo.ModelSource;
import org.quantint8.zoo.ModelSources;
import org.quantint8.zoo.ZooEntry;
import org.quantint8.zoo.ZooPublisher;
import org.quantint8.zoo.ZooRepository;
import org.quantint8.zoo.nlp.GenerationConfig;
import org.quantint8.zoo.nlp.Gpt2LanguageModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The zoo's full-size models at batch 1, each run three ways in the same JVM: the {@code int8}
 * artifact on QuantInt8, the {@code fp32} artifact on ONNX Runtime, and the same {@code int8}
 * file (our export: integer operators, INT8 weights) on ONNX Runtime. Two more runs measure
 * static quantization, for BERT-base and ResNet-50: {@code quantint8-static}, the {@code fp32}
 * artifact on QuantInt8 calibrated on {@value #CALIBRATION_SAMPLES} synthetic inputs, and {@code
 * ort-static}, the model that calibration gives exported and run on ONNX Runtime (the same
 * file). The synthetic inputs stand for nothing: they fix activation ranges so that the speed of
 * the static path can be measured, and say nothing of its accuracy. BERT-base (real weights)
 * at sequence 128; ResNet-50 (seeded random weights) on one 224x224 image; GPT-2 124M (seeded
 * random weights: speed does not depend on the values) decoding 32 tokens greedily with the
 * key/value cache after a 16-token prompt; tokens per second = 32 / the time per operation.
 * One thread everywhere by default, as in {@link ModelLatencyBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 4, time = 5)
@Fork(
        value = 1,
        jvmArgs = {
            "-Xmx12g",
            "-Dai.djl.offline=true",
            "--enable-native-access=ALL-UNNAMED",
            "-Dquantint8.num_threads=1",
            "-Dai.djl.pytorch.num_threads=1",
            "-Dai.djl.pytorch.num_interop_threads=1",
            "-Dquantint8.bench.ortThreads=1"
        })
public class ZooModelBenchmark {

    /** The zoo entry. */
    @Param({"bert_base_uncased", "resnet50", "gpt2"})
    public String entry;

    /**
     * How the model runs: {@code quantint8-int8}, {@code ort-fp32}, {@code ort-int8}, {@code
     * quantint8-static} or {@code ort-static}.
     */
    @Param({"quantint8-int8", "ort-fp32", "ort-int8"})
    public String run;

    private static final int SEQUENCE = 128;
    private static final int PROMPT = 16;
    private static final int NEW_TOKENS = 32;
    private static final int CALIBRATION_SAMPLES = 8;

    private ZooModel<NDList, NDList> model;
    private Predictor<NDList, NDList> predictor;
    private Gpt2LanguageModel languageModel;
    private NDManager inputManager;
    private NDList inputs;

    /**
     * Publishes the entry into the benchmark's zoo folder (once; later runs reuse it) and loads it.
     *
     * @throws Exception if publishing or loading fails
     */
    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "quantint8-bench");
        Path repository = work.resolve("zoo");
        ZooEntry zooEntry = ZooEntry.valueOf(entry.toUpperCase(java.util.Locale.ROOT));
        ZooRepository zoo = ZooRepository.of(repository);
        if (!Files.exists(zoo.entryFolder(zooEntry).resolve(ZooRepository.METADATA))) {
            ZooPublisher.builder().optRepository(repository).build()
                    .publish(zooEntry, source(zooEntry, work));
        }
        System.setProperty(ZooRepository.PROPERTY, repository.toString());
        String[] parts = run.split("-");
        String engine = parts[0].equals("ort") ? "OnnxRuntime" : "QuantInt8";
        boolean statik = parts[1].equals("static");
        if (statik && zooEntry == ZooEntry.GPT2) {
            throw new IllegalArgumentException("run " + run + ": the static runs are for"
                    + " bert_base_uncased and resnet50, not gpt2");
        }
        if (statik && engine.equals("OnnxRuntime")) {
            Path file = work.resolve(entry + "-static.onnx");
            try (ZooModel<NDList, NDList> calibrated = calibrated(zooEntry)) {
                ((QuantInt8Model) calibrated.getWrappedModel()).export(file);
            }
            model = load(Criteria.builder().optModelPath(file), engine);
        } else if (statik) {
            model = calibrated(zooEntry);
        } else {
            model = load(Criteria.builder().optGroupId(Int8ModelZoo.GROUP_ID)
                    .optArtifactId(entry + "-" + parts[1]), engine);
        }
        if (zooEntry == ZooEntry.GPT2) {
            // GPT-2 small: 12 layers of 12 heads of 64
            languageModel = Gpt2LanguageModel.builder().setModel(model)
                    .setCacheShape(12, 12, 64).build();
        } else {
            predictor = model.newPredictor();
            inputManager = model.getNDManager().newSubManager();
            inputs = zooEntry == ZooEntry.RESNET50 ? image(inputManager, 42)
                    : tokens(inputManager, 0);
        }
    }

    private static ZooModel<NDList, NDList> load(Criteria.Builder<?, ?> criteria, String engine)
            throws Exception {
        int threads = Integer.getInteger("quantint8.bench.ortThreads", 1);
        return criteria.setTypes(NDList.class, NDList.class)
                .optEngine(engine)
                .optOption("intraOpNumThreads", String.valueOf(threads))
                .optOption("interOpNumThreads", "1")
                .build()
                .loadModel();
    }

    /** The fp32 artifact on QuantInt8, quantized statically on synthetic inputs. */
    private ZooModel<NDList, NDList> calibrated(ZooEntry zooEntry) throws Exception {
        ZooModel<NDList, NDList> fp32 = load(Criteria.builder()
                .optGroupId(Int8ModelZoo.GROUP_ID).optArtifactId(entry + "-fp32")
                .optOption("quantization", "static").optOption("quantizationCache", "false"),
                "QuantInt8");
        try (NDManager manager = fp32.getNDManager().newSubManager()) {
            List<NDList> samples = new ArrayList<>();
            for (int i = 0; i < CALIBRATION_SAMPLES; i++) {
                // Seeds other than the timed input's.
                samples.add(zooEntry == ZooEntry.RESNET50 ? image(manager, 100 + i)
                        : tokens(manager, 100 + i));
            }
            ((QuantInt8Model) fp32.getWrappedModel()).calibrate(samples);
        } catch (Exception | Error e) {
            fp32.close();
            throw e;
        }
        return fp32;
    }

    private static ModelSource source(ZooEntry entry, Path work) throws Exception {
        return switch (entry) {
            case BERT_BASE_UNCASED -> ModelSources.bertFromEasyBert(work);
            case RESNET50 -> ModelSources.resnet50Random(42);
            case GPT2 -> ModelSources.gpt2Random(42);
            case ALL_MINILM_L6_V2 -> ModelSources.miniLm(work);
        };
    }

    /**
     * Frees the model.
     */
    @TearDown(Level.Trial)
    public void tearDown() {
        if (languageModel != null) {
            languageModel.close();
        }
        if (predictor != null) {
            predictor.close();
            inputManager.close();
        }
        model.close();
    }

    /**
     * One forward pass (BERT-base, ResNet-50) or one greedy generation of 32 tokens (GPT-2).
     *
     * @return something the JIT cannot discard
     * @throws Exception if the run fails
     */
    @Benchmark
    public Object forward() throws Exception {
        if (languageModel != null) {
            long[] prompt = new long[PROMPT];
            Arrays.setAll(prompt, i -> 464 + 17L * i);
            return languageModel.generate(prompt, GenerationConfig.builder()
                    .optMaxNewTokens(NEW_TOKENS).optEndOfText(-1).build());
        }
        NDList out = predictor.predict(inputs);
        // The first value of the first output, whatever its rank (BERT's is [1, 128, 768]).
        float first = out.get(0).toType(DataType.FLOAT32, false).reshape(-1).getFloat(0);
        out.close();
        return first;
    }

    /** A [CLS] ... [SEP] sequence of ordinary word pieces; {@code seed} 0 is the timed one. */
    private static NDList tokens(NDManager manager, int seed) {
        long[] ids = new long[SEQUENCE];
        java.util.Random random = new java.util.Random(seed);
        Arrays.setAll(ids, i -> i == 0 ? 101 : i == SEQUENCE - 1 ? 102
                : seed == 0 ? 1000 + 37L * i % 20000 : 1000 + random.nextInt(20000));
        long[] ones = new long[SEQUENCE];
        Arrays.fill(ones, 1);
        Shape shape = new Shape(1, SEQUENCE);
        return new NDList(named(manager.create(ids, shape), "input_ids"),
                named(manager.create(ones, shape), "attention_mask"),
                named(manager.create(new long[SEQUENCE], shape), "token_type_ids"));
    }

    private static NDList image(NDManager manager, long seed) {
        float[] values = new float[3 * 224 * 224];
        java.util.Random random = new java.util.Random(seed);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        NDArray pixels = manager.create(values, new Shape(1, 3, 224, 224));
        pixels.setName("pixel_values");
        return new NDList(pixels);
    }

    private static NDArray named(NDArray array, String name) {
        array.setName(name);
        return array;
    }
}
