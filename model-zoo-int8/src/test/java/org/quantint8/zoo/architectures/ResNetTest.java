package org.quantint8.zoo.architectures;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertFalse;
import static org.testng.Assert.assertTrue;

import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.zoo.architectures.OrtRunner.Output;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Random;

/**
 * Narrow ResNets of both block kinds run in ONNX Runtime at 224 x 224; the small-image stem keeps
 * a 28 x 28 grayscale image at full resolution into the first stage.
 */
public class ResNetTest {

    @DataProvider
    public Object[][] depths() {
        return new Object[][] {{18}, {34}, {50}};
    }

    @Test(dataProvider = "depths")
    public void runsAtTheNominalShape(int depth) throws Exception {
        int classes = 10;
        float[] image = new float[2 * 3 * 224 * 224];
        Random random = new Random(depth);
        for (int i = 0; i < image.length; i++) {
            image[i] = (float) random.nextGaussian();
        }
        try (OrtRunner runner = new OrtRunner(ResNet.builder().optDepth(depth).optBaseWidth(8)
                        .optNumClasses(classes).build());
                OrtRunner.Inputs inputs = runner.inputs()) {
            inputs.floats(ResNet.PIXEL_VALUES, image, 2, 3, 224, 224);
            Output logits = runner.run(inputs).get(ResNet.LOGITS);
            assertEquals(logits.shape(), new long[] {2, classes});
            for (float value : logits.values()) {
                assertTrue(Float.isFinite(value), "logit " + value);
            }
        }
    }

    @Test
    public void smallImageStemKeepsTheResolutionOfGrayscaleImages() throws Exception {
        OnnxModel model = ResNet.builder().optDepth(18).optBaseWidth(4).optNumClasses(10)
                .optInputChannels(1).optImageSize(28).optSmallImageStem(true).build();
        OnnxGraph graph = model.getGraph();
        assertEquals(graph.getInitializer("conv1.weight").getDims(), new long[] {4, 1, 3, 3});
        assertFalse(graph.getNodes().stream().map(OnnxNode::getOpType).anyMatch("MaxPool"::equals),
                "the small-image stem has no max pool");
        // Three stride-2 stages from 28: 14, 7, 4; stride 2 on 28 without the stem would give 1.
        assertEquals(graph.getInitializer("layer4.0.downsample.0.weight").getDims(),
                new long[] {32, 16, 1, 1});
        float[] images = new float[3 * 28 * 28];
        Random random = new Random(28);
        for (int i = 0; i < images.length; i++) {
            images[i] = (float) random.nextGaussian();
        }
        try (OrtRunner runner = new OrtRunner(model); OrtRunner.Inputs inputs = runner.inputs()) {
            inputs.floats(ResNet.PIXEL_VALUES, images, 3, 1, 28, 28);
            Output logits = runner.run(inputs).get(ResNet.LOGITS);
            assertEquals(logits.shape(), new long[] {3, 10});
            for (float value : logits.values()) {
                assertTrue(Float.isFinite(value), "logit " + value);
            }
        }
    }

    @Test
    public void smallStemStrideTwoHalvesTheFirstConvolution() {
        OnnxNode conv1 = ResNet.builder().optDepth(18).optBaseWidth(4).optNumClasses(10)
                .optInputChannels(1).optImageSize(28).optSmallImageStem(true)
                .optSmallStemStride(2).build().getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals("Conv")).findFirst().orElseThrow();
        assertEquals(conv1.getInts("strides", null), new long[] {2, 2});
        org.testng.Assert.assertThrows(IllegalArgumentException.class,
                () -> ResNet.builder().optSmallStemStride(3));
    }

    @Test
    public void theDefaultStemIsImageNets() {
        OnnxGraph graph = ResNet.builder().optDepth(18).optBaseWidth(4).build().getGraph();
        assertEquals(graph.getInitializer("conv1.weight").getDims(), new long[] {4, 3, 7, 7});
        assertEquals(graph.getNodes().stream().map(OnnxNode::getOpType)
                .filter("MaxPool"::equals).count(), 1L);
    }

    @Test(expectedExceptions = IllegalArgumentException.class,
            expectedExceptionsMessageRegExp = "inputChannels must be positive, got 0")
    public void rejectsZeroInputChannels() {
        ResNet.builder().optInputChannels(0);
    }
}
