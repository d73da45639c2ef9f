package org.quantint8.zoo.cv;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;

import org.quantint8.engine.QuantInt8Model;
import org.quantint8.zoo.architectures.ResNet;
import org.quantint8.zoo.nlp.ModelFolders;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * ResNet classification through DJL's image translator as the factory configures it, on a small
 * random ResNet-18 through our engine and ONNX Runtime.
 */
public class ResNetTranslatorFactoryTest {

    private static final int CLASSES = 10;
    private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] STD = {0.229f, 0.224f, 0.225f};

    private Path folder;
    private List<String> labels;

    @BeforeClass
    public void writeModel() throws Exception {
        folder = ModelFolders.write(ResNet.builder().optDepth(18).optBaseWidth(8)
                .optNumClasses(CLASSES).optSeed(3).build());
        labels = IntStream.range(0, CLASSES).mapToObj(i -> "class" + i).toList();
        Files.write(folder.resolve("synset.txt"), labels, StandardCharsets.UTF_8);
        folder.resolve("synset.txt").toFile().deleteOnExit();
    }

    @Test
    public void classifiesLikeOnnxRuntime() throws Exception {
        Image image = image(300, 260);
        Classifications expected = classify(ModelFolders.ONNX_RUNTIME, Map.of(), image);
        Classifications actual = classify(ModelFolders.QUANT_INT8, Map.of(), image);
        assertEquals(actual.topK().size(), 5);
        assertEquals(actual.getClassNames(), expected.getClassNames());
        for (int i = 0; i < expected.getProbabilities().size(); i++) {
            assertEquals(actual.getProbabilities().get(i), expected.getProbabilities().get(i),
                    1e-4, expected.getClassNames().get(i));
        }
        assertEquals(actual.getProbabilities().stream().mapToDouble(p -> p).sum(), 1.0, 1e-5);
    }

    @Test
    public void normalizesChannelsFirstAsImageNet() throws Exception {
        int size = ResNetTranslatorFactory.IMAGE_SIZE;
        BufferedImage pixels = pixels(size, size);
        // Without the resize, the crop of a 224 x 224 image is the image: the model's input is
        // then exactly (pixel / 255 - mean) / std, channels first.
        Classifications translated = classify(ModelFolders.QUANT_INT8,
                Map.of("resizeShort", "false", "topK", CLASSES),
                ImageFactory.getInstance().fromImage(pixels));
        float[] input = new float[3 * size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int rgb = pixels.getRGB(x, y);
                for (int c = 0; c < 3; c++) {
                    int value = (rgb >> (16 - 8 * c)) & 0xFF;
                    input[(c * size + y) * size + x] = (value / 255f - MEAN[c]) / STD[c];
                }
            }
        }
        float[] logits = logits(input, size);
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit);
        }
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - max);
        }
        for (int i = 0; i < CLASSES; i++) {
            Classifications.Classification item = translated.get(labels.get(i));
            assertEquals(item.getProbability(), Math.exp(logits[i] - max) / sum, 1e-4,
                    labels.get(i));
        }
    }

    @Test
    public void runsDynamicInt8() throws Exception {
        try (ZooModel<Image, Classifications> model = ModelFolders.load(folder,
                ModelFolders.QUANT_INT8, true, Image.class, Classifications.class,
                ResNetTranslatorFactory.translatorBuilder(Map.of()).build());
                Predictor<Image, Classifications> predictor = model.newPredictor()) {
            Classifications result = predictor.predict(image(180, 320));
            assertEquals(result.getClassNames().size(), CLASSES);
            assertTrue(labels.contains(result.best().getClassName()));
        }
    }

    /**
     * Static INT8 as a user calibrates it: images through the model's own translator
     * ({@code QuantInt8Model.calibrate(translator, samples)}), then the same classifications as
     * FP32 on ONNX Runtime, within what INT8 moves a probability.
     */
    @Test
    public void runsStaticInt8CalibratedOnImagesThroughItsTranslator() throws Exception {
        Criteria<Image, Classifications> criteria = Criteria.builder()
                .setTypes(Image.class, Classifications.class)
                .optModelPath(folder).optEngine(ModelFolders.QUANT_INT8)
                .optOption("quantization", "static").optOption("quantizationCache", "false")
                .optTranslator(ResNetTranslatorFactory.translatorBuilder(
                        Map.of("topK", CLASSES)).build())
                .build();
        Image image = image(300, 260);
        Classifications expected = classify(ModelFolders.ONNX_RUNTIME, Map.of("topK", CLASSES),
                image);
        try (ZooModel<Image, Classifications> model = criteria.loadModel()) {
            QuantInt8Model int8 = (QuantInt8Model) model.getWrappedModel();
            int8.calibrate(model.getTranslator(), List.of(image(200, 240), image(320, 180),
                    image(256, 256), image(400, 300)));
            String report = int8.getQuantizationReport().orElseThrow();
            assertTrue(report.contains("calibrated") && !report.contains("dynamic"), report);
            try (Predictor<Image, Classifications> predictor = model.newPredictor()) {
                Classifications actual = predictor.predict(image);
                for (String label : labels) {
                    assertEquals(actual.get(label).getProbability(),
                            expected.get(label).getProbability(), 0.05, label);
                }
            }
        }
    }

    private Classifications classify(String engine, Map<String, Object> arguments, Image image)
            throws Exception {
        try (ZooModel<Image, Classifications> model = ModelFolders.load(folder, engine,
                Image.class, Classifications.class, new ResNetTranslatorFactory(), arguments);
                Predictor<Image, Classifications> predictor = model.newPredictor()) {
            return predictor.predict(image);
        }
    }

    private float[] logits(float[] input, int size) throws Exception {
        try (ZooModel<NDList, NDList> model = ModelFolders.load(folder,
                ModelFolders.ONNX_RUNTIME, false, NDList.class, NDList.class,
                new NoopTranslator());
                Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager manager = model.getNDManager().newSubManager()) {
            NDList inputs = new NDList(manager.create(input, new Shape(1, 3, size, size)));
            return predictor.predict(inputs).singletonOrThrow().toFloatArray();
        }
    }

    private static Image image(int width, int height) {
        return ImageFactory.getInstance().fromImage(pixels(width, height));
    }

    /** Gradients and stripes, so that resizing, cropping and channel order all matter. */
    private static BufferedImage pixels(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int r = x * 255 / width;
                int g = y * 255 / height;
                int b = (x / 7 + y / 5) % 2 == 0 ? 230 : 20;
                image.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return image;
    }
}
