package org.quantint8.zoo.architectures;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertThrows;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxTensor;
import org.testng.annotations.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/** Builders take imported weights by name, check them, and are deterministic from the seed. */
public class ImportedWeightsTest {

    private static final OnnxModelWriter WRITER = OnnxModelWriter.builder().build();

    static Map<String, float[]> initializers(OnnxModel model) {
        Map<String, float[]> weights = new HashMap<>();
        for (OnnxTensor tensor : model.getGraph().getInitializers().values()) {
            weights.put(tensor.getName(), tensor.toFloatArray());
        }
        return weights;
    }

    @Test
    public void importedWeightsReproduceTheModel() {
        OnnxModel random = BertTest.small().optSeed(3).build();
        OnnxModel imported = BertTest.small().optWeights(initializers(random)).build();
        assertTrue(Arrays.equals(WRITER.toByteArray(random), WRITER.toByteArray(imported)));
    }

    @Test
    public void sameSeedSameModelOtherSeedOtherWeights() {
        byte[] first = WRITER.toByteArray(ResNet.builder().optDepth(18).optBaseWidth(4).build());
        byte[] again = WRITER.toByteArray(ResNet.builder().optDepth(18).optBaseWidth(4).build());
        byte[] other = WRITER.toByteArray(
                ResNet.builder().optDepth(18).optBaseWidth(4).optSeed(1).build());
        assertTrue(Arrays.equals(first, again));
        assertEquals(first.length, other.length);
        assertTrue(!Arrays.equals(first, other));
    }

    @Test
    public void missingWrongSizeAndUnknownTensorsAreRejected() {
        Map<String, float[]> weights = initializers(BertTest.small().build());
        Map<String, float[]> missing = new HashMap<>(weights);
        missing.remove("bert/encoder/layer_1/output/dense/bias");
        assertThrows(IllegalArgumentException.class,
                () -> BertTest.small().optWeights(missing).build());

        Map<String, float[]> wrongSize = new HashMap<>(weights);
        wrongSize.put("cls/predictions/output_bias", new float[3]);
        IllegalArgumentException e = buildFails(() -> BertTest.small().optWeights(wrongSize));
        assertTrue(e.getMessage().contains("cls/predictions/output_bias"), e.getMessage());

        Map<String, float[]> unknown = new HashMap<>(weights);
        unknown.put("cls/seq_relationship/output_bias", new float[2]);
        e = buildFails(() -> BertTest.small().optWeights(unknown));
        assertTrue(e.getMessage().contains("cls/seq_relationship/output_bias"), e.getMessage());
    }

    @Test
    public void inconsistentConfigurationsAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> Gpt2.builder().optHiddenSize(30).optNumHeads(4).build());
        assertThrows(IllegalArgumentException.class, () -> ResNet.builder().optDepth(20));
        assertThrows(IllegalArgumentException.class, () -> Bert.builder().optNumLayers(0));
    }

    private static IllegalArgumentException buildFails(Supplier<Bert.Builder> builder) {
        return expectThrows(IllegalArgumentException.class, () -> builder.get().build());
    }
}
