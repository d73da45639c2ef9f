package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.QuantizedOrt.codes;
import static org.quantint8.onnx.interpreter.QuantizedOrt.floats;
import static org.quantint8.onnx.interpreter.QuantizedOrt.scalar;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxNode;
import org.testng.Assert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Arrays;
import java.util.List;

/** Every quantized operator refuses invalid inputs with a message naming the problem. */
public class QuantizedBadInputTest {

    private static final OnnxDataType U8 = OnnxDataType.UINT8;
    private static final OnnxDataType S8 = OnnxDataType.INT8;

    private final QuantizedOrt ort = new QuantizedOrt();

    @AfterClass
    public void tearDown() {
        ort.close();
    }

    private static QuantizedOrt.Value x() {
        return floats("x", new float[] {1f, 2f, 3f, 4f, 5f, 6f}, 2, 3);
    }

    private static QuantizedOrt.Value u8(String name, long... dims) {
        int n = (int) Arrays.stream(dims).reduce(1, Math::multiplyExact);
        return codes(name, U8, new int[n], dims);
    }

    private static QuantizedOrt.Value s8(String name, long... dims) {
        int n = (int) Arrays.stream(dims).reduce(1, Math::multiplyExact);
        return codes(name, S8, new int[n], dims);
    }

    private static List<QuantizedOrt.Value> qLinearMatMul(QuantizedOrt.Value a,
            QuantizedOrt.Value bScale, QuantizedOrt.Value yZero) {
        return Arrays.asList(a, scalar("as", 0.1f), scalar("az", U8, 0), s8("b", 3, 2),
                bScale, scalar("bz", S8, 0), scalar("ys", 0.1f), yZero);
    }

    private static List<QuantizedOrt.Value> qLinearConv(QuantizedOrt.Value x,
            QuantizedOrt.Value w, QuantizedOrt.Value bias) {
        return Arrays.asList(x, scalar("xs", 0.1f), scalar("xz", U8, 0), w,
                scalar("ws", 0.1f), scalar("wz", S8, 0), scalar("ys", 0.1f),
                scalar("yz", U8, 0), bias);
    }

    @DataProvider
    public Object[][] cases() {
        OnnxAttribute axis5 = OnnxAttribute.ofInt("axis", 5);
        return new Object[][] {
            {"QuantizeLinear", List.of(u8("x", 2), scalar("s", 1f)), 10, null,
                "QuantizeLinear: x must be FLOAT32, got UINT8"},
            {"QuantizeLinear", List.of(x(), scalar("s", 0f)), 10, null,
                "y_scale must be finite and positive, got 0.0"},
            {"QuantizeLinear", List.of(x(), scalar("s", Float.NaN)), 10, null,
                "y_scale must be finite and positive, got NaN"},
            {"QuantizeLinear", List.of(x(), scalar("s", Float.POSITIVE_INFINITY)), 10, null,
                "y_scale must be finite and positive, got Infinity"},
            {"QuantizeLinear", List.of(x(), scalar("s", -1f)), 10, null,
                "y_scale must be finite and positive, got -1.0"},
            {"QuantizeLinear", List.of(x(), scalar("s", 1f), scalar("z", OnnxDataType.INT32, 0)),
                10, null, "y_zero_point must be [UINT8, INT8], got INT32"},
            {"QuantizeLinear", List.of(x(), floats("s", new float[] {1f, 2f, 3f}, 3)), 10, null,
                "y_scale must be a scalar (per-tensor quantization), got 3 values"},
            {"QuantizeLinear", List.of(x(), floats("s", new float[] {1f, 2f}, 2)), 13, null,
                "y_scale has 2 values but axis 1 of y (2, 3) has 3"},
            {"QuantizeLinear", List.of(x(), floats("s", new float[] {1f, 2f, 3f}, 3)), 13,
                axis5, "axis 5 is out of range for rank 2"},
            {"QuantizeLinear", List.of(x(), floats("s", new float[] {1f, 2f, 3f}, 3),
                    codes("z", U8, new int[] {1, 2}, 2)), 13, null,
                "y_zero_point has 2 values, expected 3"},
            {"QuantizeLinear", List.of(x(), floats("s", new float[4], 2, 2)), 13, null,
                "y_scale must be a scalar or a non-empty 1-D tensor, got shape (2, 2)"},
            {"QuantizeLinear", List.of(floats("x", new float[] {Float.NaN}, 1),
                    scalar("s", 1f)), 10, null, "NaN"},
            {"QuantizeLinear", List.of(x()), 10, null, "expects 2 to 3 inputs, got 1"},
            {"DequantizeLinear", List.of(x(), scalar("s", 1f)), 10, null,
                "x must be [UINT8, INT8, INT32], got FLOAT32"},
            {"DequantizeLinear", List.of(u8("x", 2), scalar("s", 1f), scalar("z", S8, 0)), 10,
                null, "x_zero_point must have the type of its tensor, UINT8, got INT8"},
            {"DequantizeLinear", List.of(codes("x", OnnxDataType.INT32, new int[2], 2),
                    scalar("s", 1f), scalar("z", OnnxDataType.INT32, 4)), 10, null,
                "x_zero_point of an INT32 tensor must be 0, got [4]"},
            {"DequantizeLinear", List.of(u8("x", 2), floats("s", new float[] {1f}, 1),
                    u8("z", 1)), 21, OnnxAttribute.ofInt("block_size", 2),
                "blocked quantization (block_size 2) is not supported"},
            {"DynamicQuantizeLinear", List.of(u8("x", 2)), 11, null,
                "DynamicQuantizeLinear: x must be FLOAT32, got UINT8"},
            {"DynamicQuantizeLinear", List.of(floats("x", new float[] {1f, Float.NaN}, 2)), 11,
                null, "x has a non-finite value NaN at index 1"},
            {"DynamicQuantizeLinear", List.of(floats("x",
                    new float[] {-Float.MAX_VALUE, Float.MAX_VALUE}, 2)), 11, null,
                "gives the unusable scale Infinity"},
            {"MatMulInteger", List.of(x(), s8("B", 3, 2)), 10, null,
                "MatMulInteger: A must be [UINT8, INT8], got FLOAT32"},
            {"MatMulInteger", List.of(u8("A", 2, 4), s8("B", 3, 2)), 10, null,
                "A (2, 4) must end with K = 3, the first dimension of B (3, 2)"},
            {"MatMulInteger", List.of(u8("A", 2, 3), s8("B", 2, 3, 2)), 10, null,
                "B must be 2-D [K, N] (batched B is not supported), got shape (2, 3, 2)"},
            {"MatMulInteger", List.of(u8("A", 2, 3), s8("B", 3, 2), u8("az", 2)), 10, null,
                "a_zero_point has 2 values, expected 1 (per-tensor)"},
            {"MatMulInteger", List.of(u8("A", 2, 3), s8("B", 3, 2), scalar("az", U8, 0),
                    s8("bz", 3)), 10, null, "b_zero_point must be a scalar or have 2 values"},
            {"MatMulInteger", List.of(u8("A", 2, 3), s8("B", 3, 2), scalar("az", S8, 0)), 10,
                null, "a_zero_point must have the type of its tensor, UINT8, got INT8"},
            {"QLinearMatMul", qLinearMatMul(u8("a", 2, 3), scalar("bs", 0.1f),
                    scalar("yz", U8, 0)).subList(0, 7), 10, null, "expects 8 inputs, got 7"},
            {"QLinearMatMul", qLinearMatMul(u8("a", 2, 3), scalar("bs", -0.1f),
                    scalar("yz", U8, 0)), 10, null, "b_scale must be finite and positive"},
            {"QLinearMatMul", qLinearMatMul(u8("a", 2, 3), floats("bs", new float[] {1f, 1f, 1f}, 3),
                    scalar("yz", U8, 0)), 10, null, "b_zero_point has 1 values, expected 3"},
            {"QLinearMatMul", qLinearMatMul(u8("a", 2, 3), scalar("bs", 0.1f),
                    scalar("yz", OnnxDataType.INT32, 0)), 10, null,
                "y_zero_point must be [UINT8, INT8], got INT32"},
            {"QLinearMatMul", qLinearMatMul(u8("a", 2, 3), scalar("bs", 0.1f), null), 10,
                null, "input 7 (y_zero_point) is required"},
            {"ConvInteger", List.of(u8("x", 1, 2, 4, 4, 4), u8("w", 1, 2, 1, 1, 1)), 10, null,
                "x must be 3-D [N, C, L] or 4-D [N, C, H, W], got shape (1, 2, 4, 4, 4)"},
            {"ConvInteger", List.of(u8("x", 1, 2, 4, 4), u8("w", 1, 3, 1, 1)), 10, null,
                "do not fit group 1"},
            {"ConvInteger", List.of(u8("x", 1, 2, 4, 4), u8("w", 1, 2, 5, 1)), 10, null,
                "does not fit x (1, 2, 4, 4)"},
            {"ConvInteger", List.of(u8("x", 1, 2, 4, 4), u8("w", 1, 2, 1, 1)), 10,
                OnnxAttribute.ofInts("pads", 1, 1), "pads must have 4 non-negative values"},
            {"ConvInteger", List.of(u8("x", 1, 2, 4, 4), u8("w", 1, 2, 1, 1)), 10,
                OnnxAttribute.ofInts("strides", 0, 1), "strides must be at least 1"},
            {"ConvInteger", List.of(u8("x", 1, 2, 4, 4), u8("w", 1, 2, 1, 1)), 10,
                OnnxAttribute.ofString("auto_pad", "SAME"), "auto_pad SAME is not one of"},
            {"ConvInteger", List.of(u8("x", 1, 2, 4, 4), u8("w", 1, 2, 1, 1)), 10,
                OnnxAttribute.ofInts("kernel_shape", 3, 3), "kernel_shape [3, 3] differs"},
            {"ConvInteger", List.of(u8("x", 1, 2, 4, 4), u8("w", 3, 2, 1, 1),
                    scalar("xz", U8, 0), u8("wz", 2)), 10, null,
                "w_zero_point must be a scalar or have 3 values"},
            {"QLinearConv", qLinearConv(u8("x", 1, 2, 3, 3), s8("w", 2, 2, 1, 1),
                    codes("B", OnnxDataType.INT32, new int[3], 3)), 10, null,
                "B must be INT32 [2], got INT32 (3)"},
            {"QLinearConv", qLinearConv(u8("x", 1, 2, 3, 3), s8("w", 2, 2, 1, 1),
                    floats("B", new float[2], 2)), 10, null, "B must be INT32 [2], got FLOAT32"},
            {"QLinearConv", qLinearConv(u8("x", 1, 2, 3, 3), x(), null), 10, null,
                "w must be [UINT8, INT8], got FLOAT32"},
        };
    }

    @Test(dataProvider = "cases")
    public void refuses(String opType, List<QuantizedOrt.Value> in, long opset,
            OnnxAttribute attribute, String expected) {
        OnnxNode node = attribute == null
                ? QuantizedOrt.node(opType, in, 1)
                : QuantizedOrt.node(opType, in, 1, attribute);
        try {
            ort.ours(node, opset, in);
            Assert.fail(opType + " accepted the input; expected: " + expected);
        } catch (IllegalArgumentException e) {
            // DJL prints data types in lower case.
            Assert.assertTrue(e.getMessage().toLowerCase().contains(expected.toLowerCase()),
                    "message \"" + e.getMessage() + "\" lacks \"" + expected + "\"");
            Assert.assertTrue(e.getMessage().startsWith(opType + ": ")
                    || e.getMessage().startsWith("quantize: "), e.getMessage());
        }
    }
}
