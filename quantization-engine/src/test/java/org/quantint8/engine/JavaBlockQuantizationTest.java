package org.quantint8.engine;

import ai.djl.Model;
import ai.djl.basicmodelzoo.cv.classification.ResNetV1;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;

import org.testng.Assert;
import org.testng.annotations.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/** DJL's ResNetV1 written in Java, quantized through the same sites when QuantInt8 loads it. */
public class JavaBlockQuantizationTest {

    private static final Shape INPUT = new Shape(4, 3, 32, 32);

    @Test
    public void resNetV1QuantizedThroughOptBlockMatchesFp32() throws Exception {
        Block resNet = ResNetV1.builder().setImageShape(new Shape(3, 32, 32)).setNumLayers(18)
                .setOutSize(10).build();
        Path dir = Files.createTempDirectory("quantint8-block");
        float[] pixels = new float[(int) INPUT.size()];
        Random random = new Random(11);
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = random.nextFloat();
        }
        try (ZooModel<NDList, NDList> model = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optEngine("QuantInt8")
                .optBlock(resNet)
                .optModelPath(dir)
                .optOption("quantization", "fp32")
                .build()
                .loadModel()) {
            Model wrapped = model.getWrappedModel();
            wrapped.getNDManager().getEngine().setRandomSeed(5);
            resNet.initialize(wrapped.getNDManager(), DataType.FLOAT32, INPUT);
            float[] fp32 = predict(wrapped, pixels);
            // Loading again with the default options quantizes the initialized block in place.
            wrapped.load(dir, null, Map.of());
            float[] int8 = predict(wrapped, pixels);
            String report = ((QuantInt8Model) wrapped).getQuantizationReport().orElseThrow();
            int sites = countSites(resNet);
            Assert.assertTrue(sites > 20, "a ResNet has many convolutions: " + sites);
            Assert.assertTrue(report.contains(sites + " of " + sites + " layers quantized"), report);
            double sqnr = sqnrDb(fp32, int8);
            System.out.printf("ResNetV1-18 through optBlock: INT8 logits vs FP32 SQNR %.1f dB%n",
                    sqnr);
            // Each INT8 layer alone keeps about 35-40 dB (per-channel weights, per-call
            // activations); the noise of ~20 layers in series adds up, about 13 dB worse.
            Assert.assertTrue(sqnr >= 20, "SQNR " + sqnr);
            Assert.assertTrue(sqnr < 200, "nothing was quantized");
        }
    }

    @Test
    public void blockRefusesOptionsOnlyTheOnnxPathSupports() throws Exception {
        Path dir = Files.createTempDirectory("quantint8-block-options");
        Map<String, String> refused = Map.of(
                "quantization=static", "static",
                "quantization=weightonly", "weightonly",
                "activationGranularity=token", "token",
                "weightGranularity=tensor", "tensor",
                "smoothQuant=0.5", "smoothQuant");
        for (Map.Entry<String, String> option : refused.entrySet()) {
            String[] keyValue = option.getKey().split("=");
            Block linear = ai.djl.nn.core.Linear.builder().setUnits(4).build();
            Criteria<NDList, NDList> criteria = Criteria.builder()
                    .setTypes(NDList.class, NDList.class)
                    .optEngine("QuantInt8")
                    .optBlock(linear)
                    .optModelPath(dir)
                    .optOption(keyValue[0], keyValue[1])
                    .build();
            Exception e = Assert.expectThrows(Exception.class, criteria::loadModel);
            Throwable cause = e;
            while (!(cause instanceof IllegalArgumentException) && cause.getCause() != null) {
                cause = cause.getCause();
            }
            Assert.assertTrue(cause.getMessage().contains(option.getValue())
                    && cause.getMessage().contains("optBlock"), option.getKey() + ": " + e);
        }
    }

    /** Counts the Linear and Conv2d blocks, independently of the quantizer's own walk. */
    private static int countSites(Block block) {
        if (block instanceof ai.djl.nn.core.Linear || block instanceof ai.djl.nn.convolutional.Conv2d) {
            return 1;
        }
        return block.getChildren().values().stream().mapToInt(JavaBlockQuantizationTest::countSites)
                .sum();
    }

    private static float[] predict(Model model, float[] pixels) throws Exception {
        try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator());
                NDManager manager = model.getNDManager().newSubManager()) {
            NDArray x = manager.create(pixels, INPUT);
            return predictor.predict(new NDList(x)).singletonOrThrow().toFloatArray();
        }
    }

    private static double sqnrDb(float[] reference, float[] actual) {
        double signal = 0;
        double noise = 0;
        for (int i = 0; i < reference.length; i++) {
            signal += (double) reference[i] * reference[i];
            noise += (double) (actual[i] - reference[i]) * (actual[i] - reference[i]);
        }
        return 10 * Math.log10(signal / noise);
    }
}
