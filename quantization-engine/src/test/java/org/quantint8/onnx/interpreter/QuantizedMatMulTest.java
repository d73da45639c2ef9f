package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.QuantizedOrt.assertBitExact;
import static org.quantint8.onnx.interpreter.QuantizedOrt.codes;
import static org.quantint8.onnx.interpreter.QuantizedOrt.randomCodes;
import static org.quantint8.onnx.interpreter.QuantizedOrt.scalar;

import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxNode;
import org.testng.Assert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** MatMulInteger and QLinearMatMul against ONNX Runtime. */
public class QuantizedMatMulTest {

    private static final OnnxDataType U8 = OnnxDataType.UINT8;
    private static final OnnxDataType S8 = OnnxDataType.INT8;

    private final QuantizedOrt ort = new QuantizedOrt();
    private int exact;
    private int offByOne;
    private int total;
    private int saturated;

    @AfterClass
    public void tearDown() {
        System.out.printf("QLinearMatMul: %d codes (%d saturated), %d bit-exact, %d off by"
                + " one%n", total, saturated, exact, offByOne);
        ort.close();
    }

    @DataProvider
    public Object[][] shapes() {
        // A dims (batch..., M, K), N: sizes 1, primes, K not a multiple of 4 or 16, 1-D A.
        return new Object[][] {
            {new long[] {1, 1}, 1}, {new long[] {3, 7}, 5}, {new long[] {5, 13}, 17},
            {new long[] {2, 3, 31}, 7}, {new long[] {1, 2, 4, 64}, 3}, {new long[] {19}, 11},
            {new long[] {7, 384}, 13}, {new long[] {4, 97}, 1},
        };
    }

    @Test(dataProvider = "shapes")
    public void matMulIntegerIsBitExact(long[] aDims, int n) {
        long k = aDims[aDims.length - 1];
        int m = (int) (Arrays.stream(aDims).reduce(1, Math::multiplyExact) / k);
        Random random = new Random(m * 131L + k * 7 + n);
        // The type pairs ONNX Runtime implements: U8 x U8, U8 x S8, S8 x S8.
        for (OnnxDataType[] types : new OnnxDataType[][] {{U8, U8}, {U8, S8}, {S8, S8}}) {
            for (boolean perColumn : new boolean[] {false, true}) {
                for (boolean constantB : new boolean[] {true, false}) {
                    QuantizedOrt.Value a = codes("A", types[0],
                            randomCodes(random, types[0], (int) (m * k)), aDims);
                    QuantizedOrt.Value b = codes("B", types[1],
                            randomCodes(random, types[1], (int) (k * n)), k, n);
                    QuantizedOrt.Value bZero = perColumn
                            ? codes("bz", types[1], randomCodes(random, types[1], n), n)
                                    .asConstant()
                            : scalar("bz", types[1], types[1] == U8 ? 255 : -128);
                    List<QuantizedOrt.Value> in = List.of(a, constantB ? b.asConstant() : b,
                            scalar("az", types[0], types[0] == U8 ? 37 : 127), bZero);
                    check(in, types + " perColumn " + perColumn);
                }
            }
        }
    }

    @Test
    public void matMulIntegerWithoutZeroPointsAndWithCache() {
        Random random = new Random(3);
        List<QuantizedOrt.Value> in = List.of(
                codes("A", U8, randomCodes(random, U8, 6 * 10), 6, 10),
                codes("B", S8, randomCodes(random, S8, 10 * 3), 10, 3).asConstant());
        check(in, "no zero points");
        // One omitted optional input between given ones.
        List<QuantizedOrt.Value> gap = Arrays.asList(in.get(0), in.get(1), null,
                scalar("bz", S8, 5));
        check(gap, "omitted a_zero_point");
    }

    private void check(List<QuantizedOrt.Value> in, String what) {
        OnnxNode node = QuantizedOrt.node("MatMulInteger", in, 1);
        QuantizedOrt.Result expected = ort.ort(node, 11, in, OnnxDataType.INT32).get(0);
        Map<Object, Object> cache = new HashMap<>();
        // The second run uses what the first one cached for a constant B.
        for (int run = 0; run < 2; run++) {
            assertBitExact(ort.ours(node, 11, in, cache).get(0), expected, what + " run " + run);
        }
        closeAll(cache);
    }

    @Test(dataProvider = "shapes")
    public void qLinearMatMulIsWithinOneCode(long[] aDims, int n) {
        long k = aDims[aDims.length - 1];
        int m = (int) (Arrays.stream(aDims).reduce(1, Math::multiplyExact) / k);
        Random random = new Random(m * 17L + k + n);
        for (OnnxDataType[] types : new OnnxDataType[][] {{U8, U8}, {U8, S8}, {S8, S8}}) {
            for (boolean perColumn : new boolean[] {false, true}) {
                int columns = perColumn ? n : 1;
                long[] scaleDims = perColumn ? new long[] {n} : new long[0];
                QuantizedOrt.Value bScale = QuantizedOrt.floats("bs",
                        QuantizedOrt.uniform(random, columns, 0.001f, 0.02f), scaleDims)
                        .asConstant();
                // ONNX Runtime wants one zero point for all columns; the values vary anyway.
                int bz = types[1] == U8 ? 128 : 0;
                int[] bZeros = new int[columns];
                Arrays.fill(bZeros, bz);
                List<QuantizedOrt.Value> in = List.of(
                        codes("a", types[0], randomCodes(random, types[0], (int) (m * k)), aDims),
                        scalar("as", 0.05f), scalar("az", types[0], types[0] == U8 ? 120 : -3),
                        codes("b", types[1], randomCodes(random, types[1], (int) (k * n)), k, n)
                                .asConstant(),
                        bScale, codes("bz", types[1], bZeros, scaleDims).asConstant(),
                        // About 3 standard deviations of the accumulator across the 8-bit range.
                        scalar("ys", (float) (0.064 * Math.sqrt(k))),
                        scalar("yz", types[0], types[0] == U8 ? 128 : 0));
                OnnxNode node = QuantizedOrt.node("QLinearMatMul", in, 1);
                QuantizedOrt.Result expected = ort.ort(node, 10, in, types[0]).get(0);
                QuantizedOrt.Result ours = ort.ours(node, 10, in).get(0);
                int off = QuantizedOrt.assertWithinOneCode(ours, expected, "QLinearMatMul");
                offByOne += off;
                total += ours.codes().length;
                exact += ours.codes().length - off;
                int lo = types[0] == U8 ? 0 : -128;
                saturated += (int) Arrays.stream(ours.codes())
                        .filter(c -> c == lo || c == lo + 255).count();
            }
        }
    }

    @Test
    public void qLinearMatMulTakesACarriedOrAPlainInput() {
        // The output of QuantizeLinear (a QuantInt8 array with parameters) and the same codes
        // as a plain UINT8 array give the same result.
        Random random = new Random(11);
        List<QuantizedOrt.Value> in = List.of(
                codes("a", U8, randomCodes(random, U8, 12), 3, 4), scalar("as", 0.1f),
                scalar("az", U8, 100),
                codes("b", S8, randomCodes(random, S8, 8), 4, 2).asConstant(),
                scalar("bs", 0.02f), scalar("bz", S8, 0), scalar("ys", 0.3f),
                scalar("yz", U8, 90));
        OnnxNode node = QuantizedOrt.node("QLinearMatMul", in, 1);
        QuantizedOrt.Result plain = ort.ours(node, 10, in).get(0);
        try (ai.djl.ndarray.NDManager run = ort.fp32Manager().newSubManager()) {
            java.util.List<ai.djl.ndarray.NDArray> arrays = new java.util.ArrayList<>();
            for (QuantizedOrt.Value v : in) {
                arrays.add(ort.array(run, v));
            }
            org.quantint8.ndarray.QuantInt8NDArray carried =
                    ort.quantManager().from(arrays.get(0));
            carried.setQuantization(org.quantint8.ndarray.QuantizationParameters.perTensor(
                    0.1f, 100, ai.djl.ndarray.types.DataType.UINT8));
            arrays.set(0, carried);
            QuantizedOrt.Result withParameters =
                    ort.apply(node, ort.context(10, new HashMap<>(), 8), arrays).get(0);
            Assert.assertEquals(withParameters.codes(), plain.codes());
            carried.close();
        }
    }

    static void closeAll(Map<Object, Object> cache) {
        for (Object v : cache.values()) {
            if (v instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        }
    }
}
