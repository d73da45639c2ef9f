package org.quantint8.zoo;

import ai.djl.Application;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.MRL;
import ai.djl.repository.zoo.ModelLoader;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.calibration.QuantizationError;
import org.quantint8.engine.QuantInt8Model;
import org.testng.Assert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The zoo loads what was published into the repository folder the system property names. */
public class Int8ModelZooTest {

    private Path repository;

    @BeforeClass
    public void publish() throws Exception {
        repository = Files.createTempDirectory("zoo-repository");
        ZooPublisher publisher = ZooPublisher.builder().optRepository(repository).build();
        publisher.publish(ZooEntry.GPT2, ZooFixtures.tinyGpt2());
        publisher.publish(ZooEntry.RESNET50, ZooFixtures.tinyResNet());
        publisher.publish(ZooEntry.BERT_BASE_UNCASED, ZooFixtures.tinyBert());
        System.setProperty(ZooRepository.PROPERTY, repository.toUri().toString());
    }

    @AfterClass(alwaysRun = true)
    public void clearProperty() throws IOException {
        System.clearProperty(ZooRepository.PROPERTY);
        AtomicFiles.deleteRecursively(repository);
    }

    @Test
    public void zooIsRegisteredWithItsLoaders() {
        ModelZoo zoo = ModelZoo.getModelZoo(Int8ModelZoo.GROUP_ID);
        Assert.assertTrue(zoo instanceof Int8ModelZoo, String.valueOf(zoo));
        Set<String> ids = zoo.getModelLoaders().stream().map(ModelLoader::getArtifactId)
                .collect(Collectors.toSet());
        for (String id : ZooFixtures.loaderIds()) {
            Assert.assertTrue(ids.containsAll(List.of(id, id + "-int8", id + "-fp32")), ids.toString());
        }
        Assert.assertEquals(ids.size(), 12);
        Map<Application, List<MRL>> listed = ModelZoo.listModels(
                ZooFixtures.criteria(null, null).build());
        List<MRL> nlp = listed.get(Application.NLP.TEXT_GENERATION);
        Assert.assertTrue(nlp.stream().anyMatch(m -> m.getArtifactId().equals("gpt2")), listed.toString());
    }

    @Test
    public void loadsByFilterAndBySuffix() throws Exception {
        try (ZooModel<NDList, NDList> byFilter = ZooFixtures.criteria("gpt2", "QuantInt8")
                .optFilter(Precision.PROPERTY, "int8").build().loadModel();
                ZooModel<NDList, NDList> bySuffix =
                        ZooFixtures.criteria("gpt2-int8", "QuantInt8").build().loadModel();
                ZooModel<NDList, NDList> fp32 =
                        ZooFixtures.criteria("gpt2-fp32", "QuantInt8").build().loadModel()) {
            Assert.assertEquals(byFilter.getName(), "gpt2-int8");
            Assert.assertEquals(bySuffix.getModelPath(), byFilter.getModelPath());
            Assert.assertTrue(Files.exists(byFilter.getModelPath().resolve("gpt2-int8.onnx")));
            // the int8 artifact runs as it is; the fp32 one is quantized at load time
            Assert.assertTrue(int8(byFilter).getQuantizationReport().isEmpty());
            Assert.assertTrue(int8(fp32).getQuantizationReport().isPresent());
            Assert.assertTrue(fp32.getModelPath().endsWith("gpt2-fp32"), fp32.getModelPath().toString());
        }
    }

    @Test
    public void wrongPrecisionIsNotFound() {
        ModelNotFoundException e = Assert.expectThrows(ModelNotFoundException.class,
                () -> ZooFixtures.criteria("gpt2", "QuantInt8").optFilter(Precision.PROPERTY, "int4")
                        .build().loadModel());
        String message = e.getCause().getMessage();
        Assert.assertTrue(message.contains("{precision=int4}"), message);
        Assert.assertTrue(message.contains("gpt2-int8 {precision=int8"), message);
        Assert.assertTrue(message.contains("gpt2-fp32 {precision=fp32"), message);

        e = Assert.expectThrows(ModelNotFoundException.class,
                () -> ZooFixtures.criteria("gpt2-int8", "QuantInt8")
                        .optFilter(Precision.PROPERTY, "fp32").build().loadModel());
        Assert.assertTrue(e.getCause().getMessage().contains("{precision=fp32}"), e.getCause().getMessage());
    }

    @Test
    public void unpublishedEntryIsNotFound() {
        ModelNotFoundException e = Assert.expectThrows(ModelNotFoundException.class,
                () -> ZooFixtures.criteria("all_minilm_l6_v2", "QuantInt8").build().loadModel());
        String message = e.getCause().getMessage();
        Assert.assertTrue(message.contains("not published") && message.contains(repository.toString()),
                message);
    }

    @Test
    public void damagedArtifactIsRejected() throws Exception {
        Path other = Files.createTempDirectory("zoo-damaged");
        String previous = System.getProperty(ZooRepository.PROPERTY);
        try {
            Path entry = ZooPublisher.builder().optRepository(other).build()
                    .publish(ZooEntry.GPT2, ZooFixtures.tinyGpt2());
            Path model = entry.resolve(ZooPublisher.ARTIFACT_VERSION + "/gpt2-int8/gpt2-int8.onnx");
            byte[] bytes = Files.readAllBytes(model);
            bytes[bytes.length / 2] ^= 1;
            Files.write(model, bytes);
            System.setProperty(ZooRepository.PROPERTY, other.toString());

            IOException e = Assert.expectThrows(IOException.class,
                    () -> ZooFixtures.criteria("gpt2-int8", "QuantInt8").build().loadModel());
            String message = e.getMessage();
            Assert.assertTrue(message.contains(model.toString()) && message.contains("damaged")
                    && message.contains("SHA-256"), message);
            // the other artifact is intact and still loads
            ZooFixtures.criteria("gpt2-fp32", "OnnxRuntime").build().loadModel().close();
        } finally {
            System.setProperty(ZooRepository.PROPERTY, previous);
            AtomicFiles.deleteRecursively(other);
        }
    }

    @Test
    public void int8OnQuantInt8MatchesFp32OnOnnxRuntime() throws Exception {
        // ResNet (convolutions) and BERT (matrix products): dynamic INT8 with per-channel weights
        // keeps ~40 dB per layer; across a few random-weight layers the output keeps well above
        // 20 dB, while a wrong scale, layout or zero point drops it near 0 dB.
        assertClose("resnet50", ZooFixtures::images, 20);
        assertClose("bert_base_uncased", ZooFixtures::bertInputs, 20);
    }

    private static void assertClose(String id, Function<NDManager, NDList> inputs, double minDb)
            throws Exception {
        float[] reference;
        float[] quantized;
        float[] int8OnOrt;
        try (ZooModel<NDList, NDList> fp32 = ZooFixtures.criteria(id, "OnnxRuntime")
                .optFilter(Precision.PROPERTY, "fp32").build().loadModel()) {
            reference = ZooFixtures.predict(fp32, inputs);
        }
        try (ZooModel<NDList, NDList> int8 = ZooFixtures.criteria(id, "QuantInt8")
                .optFilter(Precision.PROPERTY, "int8").build().loadModel()) {
            quantized = ZooFixtures.predict(int8, inputs);
        }
        try (ZooModel<NDList, NDList> int8 = ZooFixtures.criteria(id + "-int8", "OnnxRuntime")
                .build().loadModel()) {
            int8OnOrt = ZooFixtures.predict(int8, inputs);
        }
        double sqnr = QuantizationError.sqnrDb(reference, quantized);
        double engines = QuantizationError.sqnrDb(int8OnOrt, quantized);
        System.out.printf("%s: INT8 (QuantInt8) vs FP32 (ONNX Runtime) %.1f dB; the INT8 artifact"
                + " on QuantInt8 vs on ONNX Runtime %.1f dB%n", id, sqnr, engines);
        Assert.assertTrue(sqnr >= minDb, id + ": SQNR " + sqnr + " dB");
        // the same integer arithmetic on both engines: only float rounding differs
        Assert.assertTrue(engines >= 40, id + ": engines differ, SQNR " + engines + " dB");
    }

    private static QuantInt8Model int8(ZooModel<?, ?> model) {
        return (QuantInt8Model) model.getWrappedModel();
    }
}
