package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.QuantizedOrt.assertBitExact;
import static org.quantint8.onnx.interpreter.QuantizedOrt.codes;
import static org.quantint8.onnx.interpreter.QuantizedOrt.randomCodes;
import static org.quantint8.onnx.interpreter.QuantizedOrt.scalar;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxNode;
import org.testng.annotations.AfterClass;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** ConvInteger and QLinearConv against ONNX Runtime. */
public class QuantizedConvTest {

    private static final OnnxDataType U8 = OnnxDataType.UINT8;
    private static final OnnxDataType S8 = OnnxDataType.INT8;

    private final QuantizedOrt ort = new QuantizedOrt();
    private int total;
    private int offByOne;
    private int saturated;

    @AfterClass
    public void tearDown() {
        System.out.printf("QLinearConv: %d codes (%d saturated), %d bit-exact, %d off by one%n",
                total, saturated, total - offByOne, offByOne);
        ort.close();
    }

    /**
     * x dims, w dims, attributes: groups and depthwise, strides, symmetric and asymmetric pads,
     * dilations, auto_pad, 1-D, sizes 1 and primes.
     */
    @DataProvider
    public Object[][] cases() {
        return new Object[][] {
            {new long[] {1, 1, 1, 1}, new long[] {1, 1, 1, 1}, new OnnxAttribute[0]},
            {new long[] {2, 3, 7, 5}, new long[] {4, 3, 3, 3},
                new OnnxAttribute[] {OnnxAttribute.ofInts("pads", 1, 1, 1, 1)}},
            {new long[] {1, 4, 11, 13}, new long[] {6, 2, 3, 2},
                new OnnxAttribute[] {OnnxAttribute.ofInt("group", 2),
                    OnnxAttribute.ofInts("strides", 2, 3)}},
            {new long[] {1, 5, 9, 9}, new long[] {5, 1, 3, 3},
                new OnnxAttribute[] {OnnxAttribute.ofInt("group", 5),
                    OnnxAttribute.ofInts("pads", 1, 1, 1, 1),
                    OnnxAttribute.ofInts("dilations", 2, 2)}},
            {new long[] {1, 3, 8, 7}, new long[] {2, 3, 2, 3},
                new OnnxAttribute[] {OnnxAttribute.ofInts("pads", 0, 1, 2, 0)}},
            {new long[] {1, 2, 7, 8}, new long[] {3, 2, 3, 3},
                new OnnxAttribute[] {OnnxAttribute.ofString("auto_pad", "SAME_UPPER"),
                    OnnxAttribute.ofInts("strides", 2, 2)}},
            {new long[] {1, 2, 7, 8}, new long[] {3, 2, 2, 2},
                new OnnxAttribute[] {OnnxAttribute.ofString("auto_pad", "SAME_LOWER")}},
            {new long[] {1, 2, 6, 6}, new long[] {3, 2, 3, 3},
                new OnnxAttribute[] {OnnxAttribute.ofString("auto_pad", "VALID"),
                    OnnxAttribute.ofInts("kernel_shape", 3, 3)}},
            {new long[] {2, 3, 17}, new long[] {4, 3, 5},
                new OnnxAttribute[] {OnnxAttribute.ofInts("pads", 2, 1),
                    OnnxAttribute.ofInts("strides", 2)}},
        };
    }

    @Test(dataProvider = "cases")
    public void convIntegerIsBitExact(long[] xDims, long[] wDims, OnnxAttribute[] attrs) {
        Random random = new Random(Arrays.hashCode(xDims) + Arrays.hashCode(wDims));
        // ONNX Runtime implements ConvInteger for UINT8 x and w, per-tensor zero points.
        for (boolean constantW : new boolean[] {true, false}) {
            QuantizedOrt.Value w = codes("w", U8, randomCodes(random, U8, count(wDims)), wDims);
            List<QuantizedOrt.Value> in = List.of(
                    codes("x", U8, randomCodes(random, U8, count(xDims)), xDims),
                    constantW ? w.asConstant() : w, scalar("xz", U8, 99), scalar("wz", U8, 130));
            OnnxNode node = QuantizedOrt.node("ConvInteger", in, 1, attrs);
            QuantizedOrt.Result expected = ort.ort(node, 11, in, OnnxDataType.INT32).get(0);
            Map<Object, Object> cache = new HashMap<>();
            for (int run = 0; run < 2; run++) {
                assertBitExact(ort.ours(node, 11, in, cache).get(0), expected, "run " + run);
            }
            QuantizedMatMulTest.closeAll(cache);
        }
    }

    @Test(dataProvider = "cases")
    public void qLinearConvIsWithinOneCode(long[] xDims, long[] wDims, OnnxAttribute[] attrs) {
        Random random = new Random(Arrays.hashCode(xDims) * 7 + Arrays.hashCode(wDims));
        int m = (int) wDims[0];
        int patch = count(wDims) / m;
        for (OnnxDataType[] types : new OnnxDataType[][] {{U8, S8}, {U8, U8}, {S8, S8}}) {
            for (boolean perChannel : new boolean[] {false, true}) {
                for (boolean withBias : new boolean[] {false, true}) {
                    List<QuantizedOrt.Value> in = qLinearConvInputs(random, xDims, wDims, types,
                            perChannel, withBias, patch);
                    OnnxNode node = QuantizedOrt.node("QLinearConv", in, 1, attrs);
                    QuantizedOrt.Result expected = ort.ort(node, 10, in, types[0]).get(0);
                    QuantizedOrt.Result ours = ort.ours(node, 10, in).get(0);
                    offByOne += QuantizedOrt.assertWithinOneCode(ours, expected, "QLinearConv");
                    total += ours.codes().length;
                    int lo = types[0] == U8 ? 0 : -128;
                    saturated += (int) Arrays.stream(ours.codes())
                            .filter(c -> c == lo || c == lo + 255).count();
                }
            }
        }
    }

    private static List<QuantizedOrt.Value> qLinearConvInputs(Random random, long[] xDims,
            long[] wDims, OnnxDataType[] types, boolean perChannel, boolean withBias, int patch) {
        int m = (int) wDims[0];
        int channels = perChannel ? m : 1;
        long[] perDims = perChannel ? new long[] {m} : new long[0];
        // ONNX Runtime wants one weight zero point for all channels.
        int[] wZeros = new int[channels];
        Arrays.fill(wZeros, types[1] == U8 ? 127 : 0);
        float xScale = 0.03f;
        float[] wScales = QuantizedOrt.uniform(random, channels, 0.002f, 0.01f);
        List<QuantizedOrt.Value> in = new ArrayList<>(List.of(
                codes("x", types[0], randomCodes(random, types[0], count(xDims)), xDims),
                scalar("xs", xScale), scalar("xz", types[0], types[0] == U8 ? 110 : -5),
                codes("w", types[1], randomCodes(random, types[1], count(wDims)), wDims)
                        .asConstant(),
                QuantizedOrt.floats("ws", wScales, perDims).asConstant(),
                codes("wz", types[1], wZeros, perDims).asConstant(),
                // About 3 standard deviations of the accumulator across the 8-bit range.
                scalar("ys", (float) (xScale * 0.006 * Math.sqrt(patch) * 5500 * 3 / 128)),
                scalar("yz", types[0], types[0] == U8 ? 128 : 0)));
        if (withBias) {
            in.add(codes("B", OnnxDataType.INT32,
                    random.ints(m, -20_000, 20_000).toArray(), m).asConstant());
        }
        return in;
    }

    private static int count(long[] dims) {
        return (int) Arrays.stream(dims).reduce(1, Math::multiplyExact);
    }
}
