package org.quantint8.zoo.architectures;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertNotEquals;
import static org.testng.Assert.assertTrue;

import org.quantint8.onnx.OnnxModel;
import org.quantint8.zoo.architectures.OrtRunner.Output;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.util.Arrays;
import java.util.Map;

/** A small BERT with pooler and masked-LM head runs in ONNX Runtime and honours its mask. */
public class BertTest {

    private static final int HIDDEN = 32;
    private static final int VOCAB = 101;
    private static final int SEQUENCE = 8;

    private OrtRunner runner;

    @BeforeClass
    public void build() throws Exception {
        OnnxModel model = small().build();
        runner = new OrtRunner(model);
    }

    static Bert.Builder small() {
        return Bert.builder().optNumLayers(2).optHiddenSize(HIDDEN).optNumHeads(4)
                .optIntermediateSize(64).optVocabSize(VOCAB).optMaxPositions(16)
                .optMaskedLmHead(true);
    }

    @AfterClass
    public void close() throws Exception {
        runner.close();
    }

    @Test
    public void runsWithOutputsOfTheDeclaredShapes() throws Exception {
        long[] ids = {1, 5, 9, 77, 2, 0, 0, 0, 1, 8, 8, 8, 8, 8, 8, 2};
        long[] mask = {1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
        Map<String, Output> outputs = run(ids, mask);
        assertEquals(outputs.get(Bert.LAST_HIDDEN_STATE).shape(), new long[] {2, SEQUENCE, HIDDEN});
        assertEquals(outputs.get(Bert.POOLER_OUTPUT).shape(), new long[] {2, HIDDEN});
        assertEquals(outputs.get(Bert.LOGITS).shape(), new long[] {2, SEQUENCE, VOCAB});
        for (float value : outputs.get(Bert.LOGITS).values()) {
            assertTrue(Float.isFinite(value));
        }
    }

    @Test
    public void paddingIsIgnored() throws Exception {
        long[] mask = {1, 1, 1, 1, 1, 0, 0, 0};
        float[] a = run(new long[] {1, 5, 9, 77, 2, 0, 0, 0}, mask)
                .get(Bert.LAST_HIDDEN_STATE).values();
        float[] b = run(new long[] {1, 5, 9, 77, 2, 40, 41, 42}, mask)
                .get(Bert.LAST_HIDDEN_STATE).values();
        int kept = 5 * HIDDEN;
        float[] aKept = Arrays.copyOf(a, kept);
        float[] bKept = Arrays.copyOf(b, kept);
        for (int i = 0; i < kept; i++) {
            assertEquals(aKept[i], bKept[i], 1e-5, "element " + i);
        }
        float[] unmasked = run(new long[] {1, 5, 9, 77, 2, 40, 41, 42}, new long[8])
                .get(Bert.LAST_HIDDEN_STATE).values();
        assertNotEquals(Arrays.copyOf(unmasked, kept), aKept);
    }

    private Map<String, Output> run(long[] ids, long[] mask) throws Exception {
        int batch = ids.length / SEQUENCE;
        try (OrtRunner.Inputs inputs = runner.inputs()) {
            inputs.longs(Bert.INPUT_IDS, ids, batch, SEQUENCE)
                    .longs(Bert.ATTENTION_MASK, mask, batch, SEQUENCE)
                    .longs(Bert.TOKEN_TYPE_IDS, new long[ids.length], batch, SEQUENCE);
            return runner.run(inputs);
        }
    }
}
