package org.quantint8.zoo.architectures;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import org.quantint8.zoo.architectures.OrtRunner.Output;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Random;

/** Narrow ResNets of both block kinds run in ONNX Runtime at 224 x 224. */
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
}
