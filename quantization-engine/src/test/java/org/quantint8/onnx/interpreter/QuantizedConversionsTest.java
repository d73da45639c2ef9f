package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.QuantizedOrt.assertBitExact;
import static org.quantint8.onnx.interpreter.QuantizedOrt.codes;
import static org.quantint8.onnx.interpreter.QuantizedOrt.floats;
import static org.quantint8.onnx.interpreter.QuantizedOrt.scalar;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxNode;
import org.testng.Assert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Random;

/** QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear against ONNX Runtime. */
public class QuantizedConversionsTest {

    private final QuantizedOrt ort = new QuantizedOrt();

    @AfterClass
    public void tearDown() {
        ort.close();
    }

    @DataProvider
    public Object[][] shapes() {
        return new Object[][] {{new long[] {1}}, {new long[] {7}}, {new long[] {3, 13}},
            {new long[] {2, 5, 17}}, {new long[] {1, 1, 1, 1}}, {new long[] {}}};
    }

    /** Random values plus ties (k + 0.5 steps), huge values and infinities. */
    private static float[] awkward(Random random, int n, float scale) {
        float[] x = QuantizedOrt.uniform(random, n, -300 * scale, 300 * scale);
        float[] special = {0f, -0f, 0.5f * scale, 1.5f * scale, -2.5f * scale, 127.5f * scale,
            -128.5f * scale, 1e30f, -1e30f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.MAX_VALUE, Float.MIN_VALUE};
        for (int i = 0; i < Math.min(n, special.length); i++) {
            x[random.nextInt(n)] = special[i];
        }
        return x;
    }

    @Test(dataProvider = "shapes")
    public void quantizeLinearPerTensorIsBitExact(long[] dims) {
        int n = (int) Arrays.stream(dims).reduce(1, Math::multiplyExact);
        Random random = new Random(n * 31L + dims.length);
        for (OnnxDataType type : new OnnxDataType[] {OnnxDataType.UINT8, OnnxDataType.INT8, null}) {
            for (long opset : new long[] {10, 13, 19}) {
                float scale = 0.0123f;
                List<QuantizedOrt.Value> in = new ArrayList<>(List.of(
                        floats("x", awkward(random, n, scale), dims), scalar("s", scale)));
                if (type != null) {
                    in.add(scalar("z", type, type == OnnxDataType.UINT8 ? 131 : -7));
                }
                OnnxNode node = QuantizedOrt.node("QuantizeLinear", in, 1);
                OnnxDataType outType = type == null ? OnnxDataType.UINT8 : type;
                assertBitExact(ort.ours(node, opset, in).get(0),
                        ort.ort(node, opset, in, outType).get(0), "QuantizeLinear " + type);
            }
        }
    }

    @Test
    public void quantizeLinearPerAxisIsBitExact() {
        Random random = new Random(5);
        long[] dims = {3, 5, 7};
        for (long axis : new long[] {0, 1, 2, -1, -3}) {
            int channels = (int) dims[(int) (axis < 0 ? axis + 3 : axis)];
            float[] scales = QuantizedOrt.uniform(random, channels, 0.001f, 0.1f);
            int[] zeros = QuantizedOrt.randomCodes(random, OnnxDataType.INT8, channels);
            List<QuantizedOrt.Value> in = List.of(
                    floats("x", awkward(random, 105, 0.05f), dims),
                    floats("s", scales, channels).asConstant(),
                    codes("z", OnnxDataType.INT8, zeros, channels).asConstant());
            OnnxNode node = QuantizedOrt.node("QuantizeLinear", in, 1,
                    OnnxAttribute.ofInt("axis", axis));
            assertBitExact(ort.ours(node, 13, in).get(0),
                    ort.ort(node, 13, in, OnnxDataType.INT8).get(0), "axis " + axis);
        }
    }

    @Test
    public void quantizeLinearOutputCarriesItsParameters() {
        List<QuantizedOrt.Value> in = List.of(floats("x", new float[] {1f, -2f}, 2),
                scalar("s", 0.5f), scalar("z", OnnxDataType.INT8, 3));
        OnnxNode node = QuantizedOrt.node("QuantizeLinear", in, 1);
        List<NDArray> arrays = new ArrayList<>();
        for (QuantizedOrt.Value v : in) {
            arrays.add(ort.array(ort.fp32Manager(), v));
        }
        NDList out = QuantizedConversions.quantizeLinear(
                ort.context(13, new HashMap<>(), 3), node, arrays);
        Assert.assertTrue(QuantizedOrt.carriesParameters(out.get(0)));
        Assert.assertEquals(((org.quantint8.ndarray.QuantInt8NDArray) out.get(0))
                .getQuantization(), QuantizationParameters.perTensor(0.5f, 3,
                        ai.djl.ndarray.types.DataType.INT8));
        out.close();
        arrays.forEach(NDArray::close);
    }

    @Test(dataProvider = "shapes")
    public void dequantizeLinearMatchesOrt(long[] dims) {
        int n = (int) Arrays.stream(dims).reduce(1, Math::multiplyExact);
        Random random = new Random(n);
        for (OnnxDataType type : new OnnxDataType[] {
            OnnxDataType.UINT8, OnnxDataType.INT8, OnnxDataType.INT32}) {
            int[] x = type == OnnxDataType.INT32
                    ? random.ints(n, -2_000_000_000, 2_000_000_000).toArray()
                    : QuantizedOrt.randomCodes(random, type, n);
            List<QuantizedOrt.Value> in = new ArrayList<>(List.of(
                    codes("x", type, x, dims), scalar("s", 0.0371f)));
            in.add(scalar("z", type, type == OnnxDataType.UINT8 ? 200 : type == OnnxDataType.INT8 ? -100 : 0));
            OnnxNode node = QuantizedOrt.node("DequantizeLinear", in, 1);
            assertBitExact(ort.ours(node, 11, in).get(0),
                    ort.ort(node, 11, in, OnnxDataType.FLOAT).get(0), "DequantizeLinear " + type);
            // Without zero point: 0.
            List<QuantizedOrt.Value> noZero = in.subList(0, 2);
            assertBitExact(ort.ours(node, 11, noZero).get(0),
                    ort.ort(QuantizedOrt.node("DequantizeLinear", noZero, 1), 11, noZero,
                            OnnxDataType.FLOAT).get(0), "no zero point " + type);
        }
    }

    @Test
    public void dequantizeLinearPerAxisMatchesOrt() {
        Random random = new Random(9);
        long[] dims = {4, 3, 2};
        for (long axis : new long[] {0, 1, -1}) {
            int channels = (int) dims[(int) (axis < 0 ? axis + 3 : axis)];
            List<QuantizedOrt.Value> in = List.of(
                    codes("x", OnnxDataType.UINT8,
                            QuantizedOrt.randomCodes(random, OnnxDataType.UINT8, 24), dims),
                    floats("s", QuantizedOrt.uniform(random, channels, 0.01f, 1f), channels),
                    codes("z", OnnxDataType.UINT8,
                            QuantizedOrt.randomCodes(random, OnnxDataType.UINT8, channels),
                            channels));
            OnnxNode node = QuantizedOrt.node("DequantizeLinear", in, 1,
                    OnnxAttribute.ofInt("axis", axis));
            assertBitExact(ort.ours(node, 13, in).get(0),
                    ort.ort(node, 13, in, OnnxDataType.FLOAT).get(0), "axis " + axis);
        }
    }

    @DataProvider
    public Object[][] dynamicInputs() {
        Random random = new Random(17);
        return new Object[][] {
            {"mixed", QuantizedOrt.uniform(random, 1000, -3.7f, 11.3f)},
            {"positive", QuantizedOrt.uniform(random, 37, 0.2f, 5f)},
            {"negative", QuantizedOrt.uniform(random, 131, -9f, -0.01f)},
            {"zeros", new float[64]},
            {"single", new float[] {-0.37f}},
            {"tiny", QuantizedOrt.uniform(random, 53, -1e-30f, 3e-30f)},
            {"huge", QuantizedOrt.uniform(random, 53, -1e37f, 1e38f)},
            {"layer norm like", QuantizedOrt.uniform(random, 384 * 7, -12f, 4f)},
            {"empty", new float[0]},
        };
    }

    @Test(dataProvider = "dynamicInputs")
    public void dynamicQuantizeLinearIsBitExact(String name, float[] x) {
        List<QuantizedOrt.Value> in = List.of(floats("x", x, x.length));
        OnnxNode node = QuantizedOrt.node("DynamicQuantizeLinear", in, 3);
        List<QuantizedOrt.Result> ours = ort.ours(node, 11, in);
        List<QuantizedOrt.Result> expected = ort.ort(node, 11, in,
                OnnxDataType.UINT8, OnnxDataType.FLOAT, OnnxDataType.UINT8);
        for (int i = 0; i < 3; i++) {
            assertBitExact(ours.get(i), expected.get(i), name + " output " + i);
        }
    }
}
