package org.quantint8.ndarray;

import static org.quantint8.ndarray.GemmOpsTest.assertFails;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.QuantMath;
import org.testng.Assert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Random;
import java.util.function.Function;

/** Element-wise, pooling and gather operators against element-by-element references. */
public class Int8OpsTest {

    private NDManager manager;

    @BeforeClass
    public void setUp() {
        manager = Engine.getEngine("QuantInt8").newBaseManager();
    }

    @AfterClass
    public void tearDown() {
        manager.close();
    }

    @DataProvider
    public Object[][] quantizations() {
        return new Object[][] {
            {new Shape(1), -1, DataType.UINT8},
            {new Shape(7, 3), 0, DataType.INT8},
            {new Shape(2, 5, 3), 1, DataType.UINT8},
            {new Shape(3, 1, 13), 2, DataType.INT8},
            {new Shape(4, 17), -1, DataType.INT8}
        };
    }

    @Test(dataProvider = "quantizations")
    public void quantizeAndDequantizeMatchScalarMath(Shape shape, int axis, DataType type) {
        Random random = new Random(shape.hashCode());
        float[] x = Reference.uniform(random, (int) shape.size(), -5, 4);
        int channels = axis < 0 ? 1 : (int) shape.get(axis);
        float[] scales = Reference.uniform(random, channels, 0.01f, 0.05f);
        int[] zeros = new int[channels];
        for (int c = 0; c < channels; c++) {
            zeros[c] = type == DataType.UINT8 ? random.nextInt(256) : random.nextInt(256) - 128;
        }
        QuantizationParameters p = axis < 0
                ? QuantizationParameters.perTensor(scales[0], zeros[0], type)
                : QuantizationParameters.perChannel(scales, zeros, axis, type);
        QuantInt8NDArray q = Int8Ops.quantize(manager.create(x, shape), p);
        int[] codes = Reference.codes(q);
        long inner = axis < 0 ? shape.size() : shape.slice(axis + 1).size();
        for (int i = 0; i < x.length; i++) {
            int c = axis < 0 ? 0 : (int) ((i / inner) % channels);
            int expected = QuantMath.quantize(x[i], scales[c], zeros[c], p.getQuantMin(),
                    p.getQuantMax());
            Assert.assertEquals(codes[i], expected, "code " + i);
        }
        double[] real = Reference.realValues(q);
        float[] back = Int8Ops.dequantize(q).toFloatArray();
        for (int i = 0; i < back.length; i++) {
            Assert.assertEquals(back[i], (float) real[i], "dequantized " + i);
        }
    }

    @Test
    public void quantizeRoundsHalfToEvenAndSaturates() {
        QuantizationParameters p = QuantizationParameters.perTensor(0.5f, 10, DataType.UINT8);
        NDArray x = manager.create(new float[] {0.25f, 0.75f, 1.25f, -0.25f, 1e9f, -1e9f,
            Float.POSITIVE_INFINITY});
        Assert.assertEquals(Reference.codes(Int8Ops.quantize(x, p)),
                new int[] {10, 12, 12, 10, 255, 0, 255});
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> Int8Ops.quantize(manager.create(new float[] {1f, Float.NaN}), p));
        Assert.assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        assertFails(() -> Int8Ops.quantize(manager.create(new int[] {1}), p),
                "quantize: input must be FLOAT32");
    }

    @Test
    public void requantizeMatchesQuantizingRealValues() {
        Random random = new Random(11);
        NDArray x = manager.create(Reference.uniform(random, 6 * 9, -3, 3), new Shape(6, 9));
        QuantInt8NDArray perChannel = Int8Ops.quantizePerChannel(x, 1);
        QuantizationParameters target = QuantizationParameters.perTensor(0.03f, 128,
                DataType.UINT8);
        int[] codes = Reference.codes(Int8Ops.requantize(perChannel, target));
        double[] real = Reference.realValues(perChannel);
        for (int i = 0; i < codes.length; i++) {
            Assert.assertEquals(codes[i], Reference.quantize(real[i], target));
        }
        float[] ones = new float[6];
        java.util.Arrays.fill(ones, 1f);
        QuantizationParameters otherAxis = QuantizationParameters.perChannel(
                ones, new int[6], 0, DataType.INT8);
        assertFails(() -> Int8Ops.requantize(perChannel, otherAxis),
                "requantize: source axis 1 and target axis 0 differ");
    }

    @Test
    public void reluAndClampWorkOnCodes() {
        NDArray x = manager.create(new float[] {-1f, -0.2f, 0f, 0.3f, 2f, 5f});
        QuantInt8NDArray q = Int8Ops.quantizeDynamic(x, DataType.UINT8);
        int zero = q.getQuantization().getZeroPoint(0);
        int[] codes = Reference.codes(q);
        int[] relu = Reference.codes(Int8Ops.relu(q));
        for (int i = 0; i < codes.length; i++) {
            Assert.assertEquals(relu[i], Math.max(codes[i], zero));
        }
        float[] clamped = Int8Ops.dequantize(Int8Ops.clamp(q, -0.5f, 1f)).toFloatArray();
        double[] real = Reference.realValues(q);
        float s = q.getQuantization().getScale(0);
        for (int i = 0; i < real.length; i++) {
            Assert.assertEquals(clamped[i], Math.clamp(real[i], -0.5, 1.0), s / 2 + 1e-6);
        }
        assertFails(() -> Int8Ops.clamp(q, 1f, 0f), "clamp: min 1.0 must not exceed max 0.0");
        assertFails(() -> Int8Ops.relu(x), "relu: input must be a quantized");
    }

    @Test
    public void addHandlesDifferentScales() {
        Random random = new Random(13);
        Shape shape = new Shape(3, 7);
        QuantInt8NDArray a = Int8Ops.quantizeDynamic(
                manager.create(Reference.uniform(random, 21, -1, 1), shape), DataType.UINT8);
        QuantInt8NDArray b = Int8Ops.quantizeDynamic(
                manager.create(Reference.uniform(random, 21, -10, 3), shape), DataType.INT8);
        double[] ra = Reference.realValues(a);
        double[] rb = Reference.realValues(b);
        double[] sum = new double[21];
        for (int i = 0; i < 21; i++) {
            sum[i] = ra[i] + rb[i];
        }
        Reference.assertClose(Int8Ops.add(a, b, Int8Output.float32()).toFloatArray(), sum, 1e-6,
                "add");
        QuantizationParameters po = QuantizationParameters.forRange(-11, 4, DataType.UINT8);
        int[] q = Reference.codes(Int8Ops.add(a, b, Int8Output.quantized(po)));
        for (int i = 0; i < 21; i++) {
            Assert.assertTrue(Math.abs(q[i] - Reference.quantize(sum[i], po)) <= 1);
        }
        assertFails(() -> Int8Ops.add(a, a.reshape(7, 3), Int8Output.float32()),
                "add: shapes (3, 7) and (7, 3) differ");
    }

    @Test
    public void maxPoolMatchesPyTorchOnRealValues() {
        Random random = new Random(17);
        Shape shape = new Shape(2, 3, 9, 8);
        NDArray x = manager.create(Reference.uniform(random, (int) shape.size(), -2, 2), shape);
        QuantInt8NDArray q = Int8Ops.quantizeDynamic(x, DataType.UINT8);
        try (NDManager pt = Engine.getEngine("PyTorch").newBaseManager()) {
            assertMaxPoolsMatch(c -> Int8Ops.dequantize(Int8Ops.maxPool2d(q, c.kernel(),
                    c.stride(), c.padding(), c.ceil())), pt.from(Int8Ops.dequantize(q)),
                    new PoolCase(new Shape(3, 3), new Shape(2, 2), new Shape(1, 1), false),
                    new PoolCase(new Shape(2, 2), new Shape(2, 2), new Shape(0, 0), false),
                    new PoolCase(new Shape(3, 2), new Shape(2, 3), new Shape(1, 1), true),
                    new PoolCase(new Shape(3, 3), new Shape(2, 2), new Shape(0, 0), true));
        }
        assertFails(() -> Int8Ops.maxPool2d(q, new Shape(2, 2), new Shape(1, 1),
                new Shape(2, 2), false), "padding (2, 2) at most half");
    }

    @Test
    public void maxPoolOfFloatsMatchesPyTorch() {
        Random random = new Random(23);
        Shape shape = new Shape(2, 3, 11, 13);
        float[] values = Reference.uniform(random, (int) shape.size(), -2, 2);
        values[5] = Float.NaN;
        values[40] = Float.NEGATIVE_INFINITY;
        values[77] = -0f;
        NDArray x = manager.create(values, shape);
        try (NDManager pt = Engine.getEngine("PyTorch").newBaseManager()) {
            assertMaxPoolsMatch(c -> Int8Ops.maxPool2d(x, c.kernel(), c.stride(), c.padding(),
                    c.ceil()), pt.create(values, shape),
                    new PoolCase(new Shape(3, 3), new Shape(2, 2), new Shape(1, 1), false),
                    new PoolCase(new Shape(3, 3), new Shape(1, 1), new Shape(1, 1), false),
                    new PoolCase(new Shape(2, 4), new Shape(3, 3), new Shape(1, 2), true),
                    new PoolCase(new Shape(3, 3), new Shape(2, 2), new Shape(0, 0), true),
                    new PoolCase(new Shape(1, 1), new Shape(2, 2), new Shape(0, 0), false));
        }
    }

    /** One max pooling configuration. */
    private record PoolCase(Shape kernel, Shape stride, Shape padding, boolean ceil) {}

    /** Checks each case against PyTorch's max pooling of the same values, bit for bit. */
    private static void assertMaxPoolsMatch(Function<PoolCase, NDArray> ours, NDArray real,
            PoolCase... cases) {
        for (PoolCase c : cases) {
            NDArray mine = ours.apply(c);
            NDArray theirs = ai.djl.nn.pooling.Pool.maxPool2d(real, c.kernel(), c.stride(),
                    c.padding(), c.ceil());
            Assert.assertEquals(mine.getShape(), theirs.getShape(), c.toString());
            Assert.assertEquals(mine.toByteArray(), theirs.toByteArray(), c.toString());
        }
    }

    @Test
    public void globalAvgPoolAveragesCodes() {
        Random random = new Random(19);
        Shape shape = new Shape(2, 5, 3, 7);
        QuantInt8NDArray q = Int8Ops.quantizeDynamic(
                manager.create(Reference.uniform(random, (int) shape.size(), -1, 3), shape),
                DataType.UINT8);
        NDArray pooled = Int8Ops.globalAvgPool(q);
        Assert.assertEquals(pooled.getShape(), new Shape(2, 5));
        int[] codes = Reference.codes(q);
        int[] out = Reference.codes(pooled);
        for (int p = 0; p < 10; p++) {
            long sum = 0;
            for (int i = 0; i < 21; i++) {
                sum += codes[p * 21 + i];
            }
            Assert.assertEquals(out[p], (int) Math.rint(sum / 21.0));
        }
    }

    @Test
    public void gatherDequantizesRows() {
        Random random = new Random(23);
        NDArray table = manager.create(Reference.uniform(random, 11 * 6, -1, 1), new Shape(11, 6));
        for (int axis : new int[] {0, 1}) {
            QuantInt8NDArray q = Int8Ops.quantizePerChannel(table, axis);
            double[] real = Reference.realValues(q);
            NDArray idx = manager.create(new long[] {3, 0, 10, 3}, new Shape(2, 2));
            NDArray out = Int8Ops.gather(q, idx);
            Assert.assertEquals(out.getShape(), new Shape(2, 2, 6));
            float[] got = out.toFloatArray();
            long[] rows = {3, 0, 10, 3};
            for (int i = 0; i < 4; i++) {
                for (int d = 0; d < 6; d++) {
                    Assert.assertEquals(got[i * 6 + d], (float) real[(int) rows[i] * 6 + d]);
                }
            }
            assertFails(() -> Int8Ops.gather(q, manager.create(new int[] {2, 11})),
                    "gather: index 11 at position 1 is outside [0, 11)");
            assertFails(() -> Int8Ops.gather(q, manager.create(new int[] {-1})),
                    "gather: index -1");
            assertFails(() -> Int8Ops.gather(q, manager.create(new float[] {1f})),
                    "gather: indices must be INT32 or INT64");
        }
    }
}
