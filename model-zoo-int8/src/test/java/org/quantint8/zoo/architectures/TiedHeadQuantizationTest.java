package org.quantint8.zoo.architectures;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.interpreter.OnnxBlock;
import org.quantint8.onnx.quantize.OnnxQuantizer;
import org.quantint8.zoo.architectures.OrtRunner.Output;
import org.testng.annotations.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Small GPT-2 and BERT whose heads are tied to the token embedding: after dynamic INT8
 * quantization the table is stored once, in INT8; the logits stay close to FP32; and ONNX Runtime
 * and QuantInt8's interpreter give the same logits on the INT8 file.
 */
public class TiedHeadQuantizationTest {

    private static final int HIDDEN = 64;
    private static final int HEADS = 4;
    private static final int LAYERS = 2;
    /** vocab x hidden above the quantizer's minimum table size, so the Gather is quantized too. */
    private static final int VOCAB = 500;
    private static final int SEQUENCE = 12;

    @Test
    public void gpt2() throws Exception {
        OnnxModel fp32 = Gpt2.builder().optNumLayers(LAYERS).optNumHeads(HEADS)
                .optHiddenSize(HIDDEN).optVocabSize(VOCAB).optContextLength(32).optSeed(11)
                .build();
        Map<String, Input> inputs = new LinkedHashMap<>();
        inputs.put(Gpt2.INPUT_IDS, Input.tokens(new Random(1), 2, SEQUENCE));
        for (int i = 0; i < LAYERS; i++) {
            for (boolean key : new boolean[] {true, false}) {
                inputs.put(Gpt2.pastName(i, key),
                        Input.floats(new float[0], 2, HEADS, 0, HIDDEN / HEADS));
            }
        }
        check("GPT-2", fp32, "wte.weight", inputs, Gpt2.LOGITS);
    }

    @Test
    public void bertWithMaskedLmHead() throws Exception {
        OnnxModel fp32 = Bert.builder().optNumLayers(LAYERS).optHiddenSize(HIDDEN)
                .optNumHeads(HEADS).optIntermediateSize(4 * HIDDEN).optVocabSize(VOCAB)
                .optMaxPositions(32).optMaskedLmHead(true).build();
        long[] ones = new long[2 * SEQUENCE];
        java.util.Arrays.fill(ones, 1);
        Map<String, Input> inputs = new LinkedHashMap<>();
        inputs.put(Bert.INPUT_IDS, Input.tokens(new Random(2), 2, SEQUENCE));
        inputs.put(Bert.ATTENTION_MASK, Input.longs(ones, 2, SEQUENCE));
        inputs.put(Bert.TOKEN_TYPE_IDS, Input.longs(new long[2 * SEQUENCE], 2, SEQUENCE));
        check("BERT", fp32, "bert/embeddings/word_embeddings", inputs, Bert.LOGITS);
    }

    private static void check(String name, OnnxModel fp32, String table, Map<String, Input> inputs,
            String logits) throws Exception {
        OnnxModel int8 = OnnxQuantizer.builder().build().quantize(fp32).model();
        Map<String, OnnxTensor> initializers = int8.getGraph().getInitializers();
        assertTrue(!initializers.containsKey(table), table + " is still stored in FP32");
        assertEquals(initializers.get(table + "_quantized").getDataType(), OnnxDataType.INT8);
        long tables = initializers.values().stream()
                .filter(t -> t.getDims().length == 2 && t.getDims()[0] == VOCAB).count();
        assertEquals(tables, 1, "the [vocab, hidden] table must be stored once");

        float[] reference = ort(fp32, inputs, logits);
        float[] ortInt8 = ort(int8, inputs, logits);
        float[] ours = interpreter(int8, inputs, logits);
        double oursVsOrt = sqnrDb(ours, ortInt8);
        double int8VsFp32 = sqnrDb(ortInt8, reference);
        double agreement = top1Agreement(ortInt8, reference);
        System.out.printf("%s: INT8 vs FP32 logits %.1f dB, top-1 agreement %.3f;"
                + " interpreter vs ONNX Runtime on the INT8 file %.1f dB%n",
                name, int8VsFp32, agreement, oursVsOrt);
        // 8-bit weights and activations each add noise about 40 dB below their signal; a
        // handful of quantized layers in series keeps the logits above 25 dB, while a wrong
        // per-row scale (the head reading a row with another row's scale) falls below 10 dB.
        assertTrue(int8VsFp32 > 25, "INT8 vs FP32 SQNR " + int8VsFp32);
        assertTrue(agreement >= 0.9, "top-1 agreement " + agreement);
        // Both run the same integer arithmetic on the same codes; they differ only where a
        // last-bit difference in an FP32 op flips one activation code before a later layer.
        assertTrue(oursVsOrt > 60, "interpreter vs ONNX Runtime SQNR " + oursVsOrt);
    }

    /** One model input: int64 token ids or float values, and the shape. */
    private record Input(long[] longs, float[] floats, long[] shape) {

        static Input tokens(Random random, int batch, int sequence) {
            long[] ids = new long[batch * sequence];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(VOCAB);
            }
            return longs(ids, batch, sequence);
        }

        static Input longs(long[] values, long... shape) {
            return new Input(values, null, shape);
        }

        static Input floats(float[] values, long... shape) {
            return new Input(null, values, shape);
        }
    }

    private static float[] ort(OnnxModel model, Map<String, Input> inputs, String output)
            throws Exception {
        try (OrtRunner runner = new OrtRunner(model); OrtRunner.Inputs in = runner.inputs()) {
            for (Map.Entry<String, Input> e : inputs.entrySet()) {
                Input x = e.getValue();
                if (x.longs() != null) {
                    in.longs(e.getKey(), x.longs(), x.shape());
                } else {
                    in.floats(e.getKey(), x.floats(), x.shape());
                }
            }
            Output out = runner.run(in).get(output);
            return out.values();
        }
    }

    private static float[] interpreter(OnnxModel model, Map<String, Input> inputs, String output)
            throws Exception {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model, "tied-head", manager);
            NDList list = new NDList();
            for (Map.Entry<String, Input> e : inputs.entrySet()) {
                Input x = e.getValue();
                Shape shape = new Shape(x.shape());
                NDArray array = x.longs() != null
                        ? manager.create(x.longs(), shape)
                        : manager.create(x.floats(), shape);
                array.setName(e.getKey());
                list.add(array);
            }
            NDList out = block.forward(new ParameterStore(manager, false), list, false);
            for (NDArray array : out) {
                if (output.equals(array.getName())) {
                    return array.toFloatArray();
                }
            }
            throw new AssertionError("no output " + output);
        }
    }

    private static double sqnrDb(float[] actual, float[] expected) {
        assertEquals(actual.length, expected.length);
        double signal = 0;
        double noise = 0;
        for (int i = 0; i < actual.length; i++) {
            signal += (double) expected[i] * expected[i];
            noise += (double) (actual[i] - expected[i]) * (actual[i] - expected[i]);
        }
        return noise == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
    }

    /** The share of positions whose highest logit is the same token. */
    private static double top1Agreement(float[] a, float[] b) {
        int positions = a.length / VOCAB;
        int same = 0;
        for (int p = 0; p < positions; p++) {
            same += argmax(a, p * VOCAB) == argmax(b, p * VOCAB) ? 1 : 0;
        }
        return (double) same / positions;
    }

    private static int argmax(float[] x, int from) {
        int best = 0;
        for (int v = 1; v < VOCAB; v++) {
            best = x[from + v] > x[from + best] ? v : best;
        }
        return best;
    }
}
