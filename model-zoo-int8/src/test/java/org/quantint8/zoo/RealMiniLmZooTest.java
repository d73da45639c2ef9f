package org.quantint8.zoo;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.Artifact;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.calibration.QuantizationError;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The real all-MiniLM-L6-v2 (from its Maven artifact) is published with its tokenizer, and its
 * int8 artifact on QuantInt8 stays close to the fp32 one on ONNX Runtime.
 */
public class RealMiniLmZooTest {

    @Test(timeOut = 120_000)
    public void publishesAndLoadsTheRealMiniLm() throws Exception {
        Path root = Files.createTempDirectory("zoo-minilm");
        String previous = System.getProperty(ZooRepository.PROPERTY);
        try {
            Path entry = ZooPublisher.builder().optRepository(root).build()
                    .publish(ZooEntry.ALL_MINILM_L6_V2, ModelSources.miniLm(buildFolder()));
            Path int8 = entry.resolve("0.1.0/all_minilm_l6_v2-int8");
            Path fp32 = entry.resolve("0.1.0/all_minilm_l6_v2-fp32");
            Assert.assertTrue(Files.isRegularFile(int8.resolve("tokenizer.json")));
            Assert.assertTrue(Files.isRegularFile(fp32.resolve("tokenizer.json")));
            long int8Size = Files.size(int8.resolve("all_minilm_l6_v2-int8.onnx"));
            long fp32Size = Files.size(fp32.resolve("all_minilm_l6_v2-fp32.onnx"));
            System.out.printf("all-MiniLM-L6-v2: fp32 %,d bytes, int8 %,d bytes%n", fp32Size, int8Size);
            Assert.assertTrue(int8Size < fp32Size / 3, int8Size + " vs " + fp32Size);

            for (Artifact artifact : ZooRepository.of(root).mrl(ZooEntry.ALL_MINILM_L6_V2, null)
                    .listArtifacts()) {
                Assert.assertTrue(artifact.getProperties().get(ZooEntry.WEIGHTS)
                        .startsWith("sentence-transformers all-MiniLM-L6-v2"), artifact.toString());
            }
            System.setProperty(ZooRepository.PROPERTY, root.toString());
            float[] reference;
            float[] quantized;
            try (ZooModel<NDList, NDList> model = ZooFixtures.criteria("all_minilm_l6_v2-fp32",
                    "OnnxRuntime").build().loadModel()) {
                reference = ZooFixtures.predict(model, RealMiniLmZooTest::sentence);
            }
            try (ZooModel<NDList, NDList> model = ZooFixtures.criteria("all_minilm_l6_v2",
                    "QuantInt8").optFilter(Precision.PROPERTY, "int8").build().loadModel()) {
                quantized = ZooFixtures.predict(model, RealMiniLmZooTest::sentence);
            }
            double sqnr = QuantizationError.sqnrDb(reference, quantized);
            System.out.printf("all-MiniLM-L6-v2: token embeddings, int8 on QuantInt8 vs fp32 on"
                    + " ONNX Runtime: SQNR %.1f dB%n", sqnr);
            // ONNX Runtime's own INT8 twin of these weights keeps a cosine of ~0.99 to FP32,
            // i.e. a noise of ~2% of the signal's energy (17 dB); 13 dB allows twice that noise,
            // while a broken layer brings it near 0 dB
            Assert.assertTrue(sqnr > 13, "SQNR " + sqnr + " dB");

            // The entry's own translator: text in, mean-pooled embedding out, either precision.
            String text = "The quick brown fox jumps over the lazy dog.";
            float[] fp32Embedding = embed("all_minilm_l6_v2-fp32", "OnnxRuntime", text);
            float[] int8Embedding = embed("all_minilm_l6_v2-int8", "QuantInt8", text);
            double cosine = cosine(fp32Embedding, int8Embedding);
            System.out.printf("all-MiniLM-L6-v2: sentence embedding through the zoo's translator,"
                    + " int8 vs fp32: cosine %.5f%n", cosine);
            Assert.assertEquals(fp32Embedding.length, 384);
            // the twin's mean over 3000 sentences is 0.989; one sentence below 0.97 means a fault
            Assert.assertTrue(cosine > 0.97, "cosine " + cosine);
        } finally {
            if (previous == null) {
                System.clearProperty(ZooRepository.PROPERTY);
            } else {
                System.setProperty(ZooRepository.PROPERTY, previous);
            }
            AtomicFiles.deleteRecursively(root);
        }
    }

    private static float[] embed(String artifact, String engine, String text) throws Exception {
        Criteria<String, float[]> criteria = Criteria.builder()
                .setTypes(String.class, float[].class)
                .optGroupId(Int8ModelZoo.GROUP_ID)
                .optArtifactId(artifact)
                .optEngine(engine)
                .build();
        try (ZooModel<String, float[]> model = criteria.loadModel();
                Predictor<String, float[]> predictor = model.newPredictor()) {
            return predictor.predict(text);
        }
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** "[CLS] the quick brown fox jumps over the lazy dog [SEP]" in the uncased vocabulary. */
    private static NDList sentence(NDManager manager) {
        long[] ids = {101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 102};
        long[] ones = new long[ids.length];
        Arrays.fill(ones, 1);
        Shape shape = new Shape(1, ids.length);
        return new NDList(manager.create(ids, shape), manager.create(ones, shape),
                manager.create(new long[ids.length], shape));
    }

    private static Path buildFolder() throws URISyntaxException {
        return Path.of(RealMiniLmZooTest.class.getProtectionDomain().getCodeSource().getLocation()
                .toURI()).getParent();
    }
}
