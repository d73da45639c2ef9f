package org.quantint8.engine;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslateException;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/** Loading through the Criteria quantizes, caches, calibrates and exports. */
public class LoadTimeQuantizationTest {

    private static final int IN = 32;
    private static final int HIDDEN = 48;
    private static final int OUT = 8;

    private Path modelDir;
    private float[] input;

    @BeforeClass
    public void writeModel() throws IOException {
        Random random = new Random(7);
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 4, IN))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 4, OUT))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("w1", normal(random, IN * HIDDEN, 0.2f), IN, HIDDEN))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("w2", normal(random, OUT * HIDDEN, 0.2f), OUT, HIDDEN))
                .addInitializer(org.quantint8.onnx.OnnxTensor.of("b2", normal(random, OUT, 0.1f), OUT))
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("fc1")
                        .addInput("x", "w1").addOutput("h").build())
                .addNode(OnnxNode.builder().setOpType("Relu").addInput("h").addOutput("r").build())
                .addNode(OnnxNode.builder().setOpType("Gemm").optName("fc2")
                        .addInput("r", "w2", "b2").addOutput("y")
                        .addAttribute(OnnxAttribute.ofInt("transB", 1)).build())
                .build();
        OnnxModel model = OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build();
        modelDir = Files.createTempDirectory("quantint8-load");
        OnnxModelWriter.builder().build().write(model, modelDir.resolve("mlp.onnx"));
        input = normal(random, 4 * IN, 1f);
    }

    @Test
    public void quantizesDynamicallyByDefault() throws Exception {
        Path cache = Files.createTempDirectory("quantint8-cache");
        try (ZooModel<NDList, NDList> model = load(Map.of("quantizationCacheDir", cache.toString()))) {
            QuantInt8Model quantized = (QuantInt8Model) model.getWrappedModel();
            String report = quantized.getQuantizationReport().orElseThrow();
            Assert.assertTrue(report.contains("fc1") && report.contains("fc2"), report);
            float[] fp32 = ortRun(modelDir.resolve("mlp.onnx"));
            assertClose(predict(model), fp32, 30);
        }
        try (ZooModel<NDList, NDList> model = load(Map.of("quantization", "fp32"))) {
            Assert.assertTrue(((QuantInt8Model) model.getWrappedModel())
                    .getQuantizationReport().isEmpty());
            float[] fp32 = ortRun(modelDir.resolve("mlp.onnx"));
            float[] ours = predict(model);
            for (int i = 0; i < fp32.length; i++) {
                Assert.assertEquals(ours[i], fp32[i], 1e-5);
            }
        }
    }

    @Test
    public void secondLoadUsesTheCacheAndDamageIsRepaired() throws Exception {
        Path cache = Files.createTempDirectory("quantint8-cache");
        Map<String, String> options = Map.of("quantizationCacheDir", cache.toString());
        float[] first;
        try (ZooModel<NDList, NDList> model = load(options)) {
            first = predict(model);
        }
        Path entry = onlyModelFile(cache);
        long written = Files.getLastModifiedTime(entry).toMillis();
        try (ZooModel<NDList, NDList> model = load(options)) {
            Assert.assertEquals(predict(model), first);
            Assert.assertTrue(((QuantInt8Model) model.getWrappedModel())
                    .getQuantizationReport().isPresent(), "the report comes with the cache");
        }
        Assert.assertEquals(Files.getLastModifiedTime(entry).toMillis(), written, "reused");
        byte[] bytes = Files.readAllBytes(entry);
        bytes[bytes.length / 3] ^= 0x40;
        Files.write(entry, bytes);
        try (ZooModel<NDList, NDList> model = load(options)) {
            Assert.assertEquals(predict(model), first, "rebuilt from the source");
        }
        Assert.assertNotEquals(Files.readAllBytes(entry), bytes, "the damaged entry was replaced");
    }

    @Test
    public void exportRunsInOnnxRuntime() throws Exception {
        try (ZooModel<NDList, NDList> model = load(Map.of("quantizationCache", "false"))) {
            Path exported = Files.createTempDirectory("quantint8-export").resolve("int8.onnx");
            ((QuantInt8Model) model.getWrappedModel()).export(exported);
            float[] ort = ortRun(exported);
            float[] ours = predict(model);
            for (int i = 0; i < ort.length; i++) {
                Assert.assertEquals(ours[i], ort[i], 1e-4 * (1 + Math.abs(ort[i])));
            }
        }
    }

    @Test
    public void calibrationQuantizesStatically() throws Exception {
        Map<String, String> options = Map.of("quantization", "static", "quantizationCache", "false");
        try (ZooModel<NDList, NDList> model = load(options)) {
            QuantInt8Model quantized = (QuantInt8Model) model.getWrappedModel();
            // Without samples the model runs dynamically until calibrated.
            Assert.assertTrue(quantized.getQuantizationReportJson().orElseThrow().contains("dynamic"));
            Random random = new Random(3);
            List<NDList> samples = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                NDArray x = model.getNDManager().create(normal(random, 4 * IN, 1f), new Shape(4, IN));
                samples.add(new NDList(x));
            }
            quantized.calibrate(samples);
            Assert.assertTrue(quantized.getQuantizationReportJson().orElseThrow().contains("static"));
            assertClose(predict(model), ortRun(modelDir.resolve("mlp.onnx")), 25);
            Assert.expectThrows(IllegalArgumentException.class, () -> quantized.calibrate(List.of()));
        }
    }

    @Test
    public void weightOnlyModelRefusesCalibration() throws Exception {
        Map<String, String> options = Map.of("quantization", "weightonly", "quantizationCache", "false");
        try (ZooModel<NDList, NDList> model = load(options)) {
            QuantInt8Model weightOnly = (QuantInt8Model) model.getWrappedModel();
            float[] before = predict(model);
            List<NDList> samples = List.of(new NDList(
                    model.getNDManager().create(input, new Shape(4, IN))));
            IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> weightOnly.calibrate(samples));
            Assert.assertTrue(e.getMessage().contains("weightonly")
                    && e.getMessage().contains("nothing to calibrate"), e.getMessage());
            // Refused, not half-done: the model still runs weight-only as loaded.
            Assert.assertTrue(weightOnly.getQuantizationReportJson().orElseThrow()
                    .contains("weight"), "still weight-only");
            Assert.assertEquals(predict(model), before);
        }
    }

    @Test
    public void alreadyQuantizedModelRunsAsItIsUnlessAskedOtherwise() throws Exception {
        Path dir = Files.createTempDirectory("quantint8-prequantized");
        Path exported = dir.resolve("int8.onnx");
        try (ZooModel<NDList, NDList> model =
                load(Map.of("quantizationCache", "false", "excludeLayers", "fc2"))) {
            ((QuantInt8Model) model.getWrappedModel()).export(exported);
        }
        float[] ort = ortRun(exported);
        try (ZooModel<NDList, NDList> model = load(dir, Map.of("quantizationCache", "false"))) {
            QuantInt8Model asIs = (QuantInt8Model) model.getWrappedModel();
            Assert.assertTrue(asIs.getQuantizationReport().isEmpty(), "not quantized again");
            float[] ours = predict(model);
            for (int i = 0; i < ort.length; i++) {
                Assert.assertEquals(ours[i], ort[i], 1e-4 * (1 + Math.abs(ort[i])));
            }
            IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> asIs.calibrate(List.of(new NDList(model.getNDManager().ones(new Shape(4, IN))))));
            Assert.assertTrue(e.getMessage().contains("requantize=true"), e.getMessage());
        }
        try (ZooModel<NDList, NDList> model =
                load(dir, Map.of("quantizationCache", "false", "requantize", "true"))) {
            String report = ((QuantInt8Model) model.getWrappedModel())
                    .getQuantizationReport().orElseThrow();
            Assert.assertTrue(report.contains("fc2"), "the FP32 remainder is quantized: " + report);
        }
    }

    @Test
    public void invalidOptionsAreNamed() {
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> load(Map.of("quantization", "int4")));
        Assert.assertTrue(e.getMessage().contains("'quantization'"), e.getMessage());
    }

    private ZooModel<NDList, NDList> load(Map<String, String> options)
            throws IOException, ModelNotFoundException, MalformedModelException {
        return load(modelDir, options);
    }

    private ZooModel<NDList, NDList> load(Path dir, Map<String, String> options)
            throws IOException, ModelNotFoundException, MalformedModelException {
        Criteria.Builder<NDList, NDList> builder = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optEngine("QuantInt8")
                .optModelPath(dir);
        options.forEach(builder::optOption);
        return builder.build().loadModel();
    }

    private float[] predict(ZooModel<NDList, NDList> model) throws TranslateException {
        try (Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager manager = model.getNDManager().newSubManager()) {
            NDArray x = manager.create(input, new Shape(4, IN));
            return predictor.predict(new NDList(x)).singletonOrThrow().toFloatArray();
        }
    }

    private float[] ortRun(Path file) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(file.toString(), new OrtSession.SessionOptions());
                OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input),
                        new long[] {4, IN});
                OrtSession.Result result = session.run(Map.of("x", x))) {
            FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
            float[] y = new float[out.remaining()];
            out.get(y);
            return y;
        }
    }

    private static Path onlyModelFile(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> models = files.filter(f -> f.toString().endsWith(".onnx")).toList();
            Assert.assertEquals(models.size(), 1, models.toString());
            return models.get(0);
        }
    }

    private static void assertClose(float[] actual, float[] expected, double minDb) {
        double signal = 0;
        double noise = 0;
        for (int i = 0; i < actual.length; i++) {
            signal += (double) expected[i] * expected[i];
            noise += (double) (actual[i] - expected[i]) * (actual[i] - expected[i]);
        }
        double sqnr = 10 * Math.log10(signal / noise);
        Assert.assertTrue(sqnr >= minDb && noise > 0, "SQNR " + sqnr + " dB");
    }

    private static float[] normal(Random random, int n, float std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian() * std;
        }
        return x;
    }
}
