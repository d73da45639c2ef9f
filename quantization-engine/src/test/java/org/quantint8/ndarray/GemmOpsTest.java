package org.quantint8.ndarray;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.Activation;
import org.quantint8.kernels.FloatKernels;
import org.testng.Assert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Random;

/** Linear, matMul and conv2d against direct computations over the same quantized values. */
public class GemmOpsTest {

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
    public Object[][] linearShapes() {
        // M, K, N: sizes 1, primes, K not a multiple of 4 or 16.
        return new Object[][] {
            {1, 1, 1}, {1, 7, 3}, {3, 13, 5}, {5, 16, 17}, {2, 31, 7}, {7, 64, 1}, {4, 97, 11},
            {1, 768, 5}, {11, 2, 13}
        };
    }

    @Test(dataProvider = "linearShapes")
    public void linearMatchesReference(int m, int k, int n) {
        Random random = new Random(31L * m + 7L * k + n);
        try (NDManager sub = manager.newSubManager()) {
            NDArray x = sub.create(Reference.uniform(random, m * k, -2f, 3f), new Shape(m, k));
            NDArray w = sub.create(Reference.uniform(random, n * k, -1f, 1f), new Shape(n, k));
            NDArray bias = sub.create(Reference.uniform(random, n, -1f, 1f));
            QuantInt8NDArray[] inputs = {
                Int8Ops.quantizeDynamic(x, DataType.UINT8), Int8Ops.quantizeDynamic(x, DataType.INT8)
            };
            QuantInt8NDArray[] weights = {
                Int8Ops.quantizePerChannel(w, 0), Int8Ops.quantizeDynamic(w, DataType.INT8)
            };
            for (QuantInt8NDArray qx : inputs) {
                for (QuantInt8NDArray qw : weights) {
                    checkLinear(qx, qw, bias, m, k, n);
                }
            }
            // An FP32 input is quantized dynamically to UINT8 over its own range.
            float[] dynamic = Int8Ops.linear(x, weights[0], bias, Int8Output.float32())
                    .toFloatArray();
            float[] explicit = Int8Ops.linear(inputs[0], weights[0], bias, Int8Output.float32())
                    .toFloatArray();
            Assert.assertEquals(dynamic, explicit);
        }
    }

    private void checkLinear(QuantInt8NDArray qx, QuantInt8NDArray qw, NDArray bias, int m,
            int k, int n) {
        long[] exact = new long[m * n];
        double[] real = new double[m * n];
        int[] a = Reference.codes(qx);
        int[] w = Reference.codes(qw);
        double[] ra = Reference.realValues(qx);
        double[] rw = Reference.realValues(qw);
        float[] b = bias.toFloatArray();
        QuantizationParameters pw = qw.getQuantization();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int zw = pw.getZeroPoint(pw.isPerChannel() ? j : 0);
                for (int t = 0; t < k; t++) {
                    exact[i * n + j] += (long) (a[i * k + t] - qx.getQuantization().getZeroPoint(0))
                            * (w[j * k + t] - zw);
                    real[i * n + j] += ra[i * k + t] * rw[j * k + t];
                }
                real[i * n + j] += b[j];
            }
        }
        NDArray acc = Int8Ops.linear(qx, qw, null, Int8Output.int32());
        Assert.assertEquals(acc.getDataType(), DataType.INT32);
        Assert.assertEquals(acc.getShape(), new Shape(m, n));
        int[] got = acc.toIntArray();
        for (int i = 0; i < got.length; i++) {
            Assert.assertEquals(got[i], exact[i], "INT32 accumulator at " + i);
        }
        float[] fp = Int8Ops.linear(qx, qw, bias, Int8Output.float32()).toFloatArray();
        Reference.assertClose(fp, real, 1e-5, "FP32 linear " + qx.getDataType());
        QuantizationParameters po = QuantizationParameters.forRange(-4f, 4f, DataType.UINT8);
        int[] q = Reference.codes(Int8Ops.linear(qx, qw, bias, Int8Output.quantized(po)));
        for (int i = 0; i < q.length; i++) {
            // Float and double rounding may disagree by one code at a tie.
            Assert.assertTrue(Math.abs(q[i] - Reference.quantize(real[i], po)) <= 1,
                    "requantized output at " + i);
        }
    }

    /**
     * The FP32 epilogue gives, bit for bit, the formula of its scalar form: the FP32 product of
     * the INT32 sum with the FP32 product of the two scales, plus the bias or +0.
     */
    @Test(dataProvider = "linearShapes")
    public void floatEpilogueIsTheScalarFormulaBitForBit(int m, int k, int n) {
        Random random = new Random(5L * m + 3L * k + n);
        try (NDManager sub = manager.newSubManager()) {
            NDArray x = sub.create(Reference.uniform(random, m * k, -2f, 3f), new Shape(m, k));
            NDArray w = sub.create(Reference.uniform(random, n * k, -1f, 1f), new Shape(n, k));
            float[] b = Reference.uniform(random, n, -1f, 1f);
            QuantInt8NDArray qx = Int8Ops.quantizeDynamic(x, DataType.UINT8);
            float inputScale = qx.getQuantization().getScale(0);
            for (QuantInt8NDArray qw : new QuantInt8NDArray[] {Int8Ops.quantizePerChannel(w, 0),
                Int8Ops.quantizeDynamic(w, DataType.INT8)}) {
                int[] acc = Int8Ops.linear(qx, qw, null, Int8Output.int32()).toIntArray();
                for (float[] bias : new float[][] {null, b}) {
                    NDArray biasArray = bias == null ? null : sub.create(bias);
                    float[] got = Int8Ops.linear(qx, qw, biasArray, Int8Output.float32())
                            .toFloatArray();
                    QuantizationParameters pw = qw.getQuantization();
                    for (int i = 0; i < got.length; i++) {
                        int c = i % n;
                        float scale = inputScale * pw.getScale(pw.isPerChannel() ? c : 0);
                        float expected = acc[i] * scale + (bias == null ? 0f : bias[c]);
                        Assert.assertEquals(Float.floatToRawIntBits(got[i]),
                                Float.floatToRawIntBits(expected),
                                "value " + i + " (bias " + (bias != null) + "): " + got[i]
                                        + " != " + expected);
                    }
                }
            }
        }
    }

    @Test
    public void linearKeepsLeadingDimensions() {
        Random random = new Random(3);
        NDArray x = manager.create(Reference.uniform(random, 2 * 3 * 5, -1, 1), new Shape(2, 3, 5));
        NDArray w = Int8Ops.quantizePerChannel(
                manager.create(Reference.uniform(random, 4 * 5, -1, 1), new Shape(4, 5)), 0);
        NDArray y = Int8Ops.linear(x, w, null, Int8Output.float32());
        Assert.assertEquals(y.getShape(), new Shape(2, 3, 4));
        NDArray flat = Int8Ops.linear(x.reshape(6, 5), w, null, Int8Output.float32());
        Assert.assertEquals(y.toFloatArray(), flat.toFloatArray());
    }

    @Test
    public void matMulTakesKByN() {
        Random random = new Random(5);
        NDArray a = manager.create(Reference.uniform(random, 3 * 7, -1, 1), new Shape(3, 7));
        float[] bData = Reference.uniform(random, 7 * 4, -1, 1);
        NDArray b = Int8Ops.quantizePerChannel(manager.create(bData, new Shape(7, 4)), 1);
        NDArray bt = b.transpose();
        Assert.assertEquals(((QuantInt8NDArray) bt).getQuantization().getAxis(), 0);
        Assert.assertEquals(Int8Ops.matMul(a, b, Int8Output.int32()).toIntArray(),
                Int8Ops.linear(a, bt, null, Int8Output.int32()).toIntArray());
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> Int8Ops.matMul(a, Int8Ops.quantizePerChannel(
                        manager.create(bData, new Shape(7, 4)), 0), Int8Output.int32()));
        Assert.assertTrue(e.getMessage().startsWith("matMul:"), e.getMessage());
    }

    @DataProvider
    public Object[][] convolutions() {
        // N, C, H, W, OC, KH, KW, stride, pad, dilation, groups
        return new Object[][] {
            {1, 1, 5, 5, 1, 3, 3, 1, 0, 1, 1},
            {2, 3, 7, 6, 4, 3, 3, 2, 1, 1, 1},
            {1, 4, 9, 9, 4, 3, 3, 1, 1, 1, 4},
            {1, 6, 8, 7, 4, 3, 2, 1, 1, 2, 2},
            {1, 3, 11, 13, 5, 1, 1, 1, 0, 1, 1},
            {1, 2, 5, 5, 3, 5, 5, 1, 2, 1, 1},
            {3, 5, 13, 7, 10, 7, 3, 3, 3, 1, 5},
            {1, 8, 4, 4, 8, 3, 3, 2, 1, 1, 8},
            // a strided 1x1 (ResNet's downsampling shortcut); padding wider than the dilated taps
            {1, 4, 7, 7, 3, 1, 1, 2, 0, 1, 1},
            {1, 2, 3, 4, 2, 3, 3, 2, 2, 2, 1}
        };
    }

    @Test(dataProvider = "convolutions")
    public void conv2dMatchesDirectConvolution(int n, int c, int h, int w, int oc, int kh,
            int kw, int stride, int pad, int dilation, int groups) {
        Random random = new Random(h * 131L + w * 17L + oc);
        try (NDManager sub = manager.newSubManager()) {
            NDArray x = sub.create(Reference.uniform(random, n * c * h * w, -1, 2),
                    new Shape(n, c, h, w));
            int cg = c / groups;
            NDArray wf = sub.create(Reference.uniform(random, oc * cg * kh * kw, -1, 1),
                    new Shape(oc, cg, kh, kw));
            NDArray bias = sub.create(Reference.uniform(random, oc, -1, 1));
            QuantInt8NDArray qx = Int8Ops.quantizeDynamic(x, DataType.UINT8);
            QuantInt8NDArray qw = Int8Ops.quantizePerChannel(wf, 0);
            Shape s = new Shape(stride, stride);
            Shape p = new Shape(pad, pad);
            Shape d = new Shape(dilation, dilation);
            NDArray acc = Int8Ops.conv2d(qx, qw, null, s, p, d, groups, Int8Output.int32());
            NDArray fp = Int8Ops.conv2d(qx, qw, bias, s, p, d, groups, Int8Output.float32());
            DirectConv ref = new DirectConv(qx, qw, bias.toFloatArray(), stride, pad, dilation,
                    groups);
            Assert.assertEquals(acc.getShape(), ref.outputShape());
            Assert.assertEquals(acc.toIntArray(), ref.integer());
            Reference.assertClose(fp.toFloatArray(), ref.real(), 1e-5, "conv2d FP32");
            // Cross-check with PyTorch's FP32 convolution of the dequantized operands.
            try (NDManager pt = Engine.getEngine("PyTorch").newBaseManager()) {
                NDArray ptOut = ai.djl.nn.convolutional.Conv2d.conv2d(
                        pt.from(Int8Ops.dequantize(qx)), pt.from(Int8Ops.dequantize(qw)),
                        pt.from(bias), s, p, d, groups).singletonOrThrow();
                float[] expected = ptOut.toFloatArray();
                float[] got = fp.toFloatArray();
                for (int i = 0; i < got.length; i++) {
                    Assert.assertEquals(got[i], expected[i], 1e-4 * (1 + Math.abs(expected[i])));
                }
            }
        }
    }

    /**
     * FP32 convolutions put the positions on the GEMM's rows when the kernels choose to ({@link
     * org.quantint8.kernels.Int8Kernels#positionsOnRows}); others keep channels on rows. Both
     * give, bit for bit, the INT32 accumulators (always channels on rows) run through the
     * epilogue's FP32 steps: scale and bias, normalization, residual, Relu, for two images and
     * two groups.
     */
    @Test(dataProvider = "eitherOrientation")
    public void bothOrientationsGiveTheEpilogueOfTheAccumulators(int size, int groupChannels) {
        Random random = new Random(size * 31L + groupChannels);
        int oc = 34; // 17 a group: a full panel of columns and one more
        int groups = 2;
        float[] scale = Reference.uniform(random, oc, 0.5f, 1.5f);
        float[] shift = Reference.uniform(random, oc, -0.5f, 0.5f);
        try (NDManager sub = manager.newSubManager()) {
            int c = groups * groupChannels;
            NDArray x = sub.create(Reference.uniform(random, 2 * c * size * size, -1, 2),
                    new Shape(2, c, size, size));
            NDArray wf = sub.create(Reference.uniform(random, oc * groupChannels * 9, -1, 1),
                    new Shape(oc, groupChannels, 3, 3));
            NDArray bias = sub.create(Reference.uniform(random, oc, -1, 1));
            NDArray residual = sub.create(Reference.uniform(random, 2 * oc * size * size, -2, 2),
                    new Shape(2, oc, size, size));
            QuantInt8NDArray qx = Int8Ops.quantizeDynamic(x, DataType.UINT8);
            QuantInt8NDArray qw = Int8Ops.quantizePerChannel(wf, 0);
            Shape one = new Shape(1, 1);
            int[] acc = Int8Ops.conv2d(qx, qw, null, one, one, one, groups, Int8Output.int32())
                    .toIntArray();
            float[] got = Int8Ops.conv2d(qx, qw, bias, one, one, one, groups,
                    Int8Output.float32(scale, shift, true).withResidual(residual))
                    .toFloatArray();
            float inputScale = qx.getQuantization().getScale(0);
            float[] b = bias.toFloatArray();
            float[] r = residual.toFloatArray();
            int plane = size * size;
            Assert.assertEquals(got.length, acc.length);
            for (int i = 0; i < acc.length; i++) {
                int ch = i / plane % oc;
                float y = acc[i] * (inputScale * qw.getQuantization().getScale(ch)) + b[ch];
                y = y * scale[ch] + shift[ch];
                y = y + r[i];
                Assert.assertEquals(Float.floatToRawIntBits(got[i]),
                        Float.floatToRawIntBits(y < 0f ? 0f : y), "element " + i);
            }
        }
    }

    @DataProvider
    public Object[][] eitherOrientation() {
        // 3x3 windows, 17 output channels a group; with the native kernels
        // (NativeConvKernelsTest checks their choice):
        // 7 x 7 and 15 x 15 positions on rows, 17 x 17 (289) over 2 channels channels on rows,
        // 17 x 17 over 16 channels positions on rows (the patches' runs are long enough)
        return new Object[][] {{7, 2}, {15, 2}, {17, 2}, {17, 16}};
    }

    @DataProvider
    public Object[][] postSteps() {
        // kernel (1x1 stride 1: several blocks of the epilogue; 3x3 stride 3), affine, Relu
        return new Object[][] {
            {1, true, true}, {3, true, false}, {3, false, true}, {1, false, false}
        };
    }

    /**
     * The affine step and Relu of the FP32 output give the values of the plain FP32 output run
     * through them afterwards, in the same FP32 steps, for convolutions and linear layers.
     */
    @Test(dataProvider = "postSteps")
    public void outputAffineStepAndReluMatchAFollowingPass(int kernel, boolean affine,
            boolean relu) {
        Random random = new Random(kernel * 7L + (affine ? 1 : 0) + (relu ? 2 : 0));
        int oc = 6;
        float[] scale = affine ? Reference.uniform(random, oc, 0.5f, 1.5f) : null;
        float[] shift = affine ? Reference.uniform(random, oc, -0.5f, 0.5f) : null;
        Int8Output post = Int8Output.float32(scale, shift, relu);
        try (NDManager sub = manager.newSubManager()) {
            // 150 positions: more than one block of the convolution epilogue
            NDArray x = sub.create(Reference.uniform(random, 2 * 4 * 15 * 20, -1, 2),
                    new Shape(2, 4, 15, 20));
            NDArray wf = sub.create(Reference.uniform(random, oc * 2 * kernel * kernel, -1, 1),
                    new Shape(oc, 2, kernel, kernel));
            NDArray bias = sub.create(Reference.uniform(random, oc, -1, 1));
            QuantInt8NDArray qx = Int8Ops.quantizeDynamic(x, DataType.UINT8);
            QuantInt8NDArray qw = Int8Ops.quantizePerChannel(wf, 0);
            Shape stride = new Shape(kernel, kernel);
            Shape pad = new Shape(kernel / 2, kernel / 2);
            Shape one = new Shape(1, 1);
            float[] plain = Int8Ops.conv2d(qx, qw, bias, stride, pad, one, 2,
                    Int8Output.float32()).toFloatArray();
            float[] fused = Int8Ops.conv2d(qx, qw, bias, stride, pad, one, 2, post)
                    .toFloatArray();
            int plane = plain.length / (2 * oc);
            assertPostStep(fused, plain, scale, shift, relu, i -> i / plane % oc);
            NDArray rows = sub.create(Reference.uniform(random, 5 * 8, -1, 2), new Shape(5, 8));
            QuantInt8NDArray lw = Int8Ops.quantizePerChannel(
                    sub.create(Reference.uniform(random, oc * 8, -1, 1), new Shape(oc, 8)), 0);
            QuantInt8NDArray qr = Int8Ops.quantizeDynamic(rows, DataType.UINT8);
            assertPostStep(Int8Ops.linear(qr, lw, bias, post).toFloatArray(),
                    Int8Ops.linear(qr, lw, bias, Int8Output.float32()).toFloatArray(),
                    scale, shift, relu, i -> i % oc);
        }
    }

    private static void assertPostStep(float[] fused, float[] plain, float[] scale,
            float[] shift, boolean relu, java.util.function.IntUnaryOperator channel) {
        Assert.assertEquals(fused.length, plain.length);
        for (int i = 0; i < plain.length; i++) {
            int c = channel.applyAsInt(i);
            float y = scale == null ? plain[i] : plain[i] * scale[c] + shift[c];
            Assert.assertEquals(fused[i], relu && y < 0f ? 0f : y, 0f, "element " + i);
        }
    }

    @Test
    public void rejectsMismatchedOutputSteps() {
        Assert.assertThrows(IllegalArgumentException.class,
                () -> Int8Output.float32(new float[2], null, false));
        Assert.assertThrows(IllegalArgumentException.class,
                () -> Int8Output.float32(new float[2], new float[3], false));
        NDArray x = manager.create(new float[12], new Shape(3, 4));
        NDArray w = Int8Ops.quantizePerChannel(manager.create(new float[8], new Shape(2, 4)), 0);
        assertFails(() -> Int8Ops.linear(x, w, null,
                Int8Output.float32(new float[3], new float[3], true)),
                "linear: the output's affine step has 3 channels, the operator has 2");
    }

    @Test
    public void rejectsBadOperands() {
        NDArray x = manager.create(new float[12], new Shape(3, 4));
        NDArray wf = manager.create(new float[8], new Shape(2, 4));
        NDArray w = Int8Ops.quantizePerChannel(wf, 0);
        assertFails(() -> Int8Ops.linear(x, wf, null, Int8Output.float32()),
                "linear: weight must be a quantized");
        assertFails(() -> Int8Ops.linear(x.reshape(4, 3), w, null, Int8Output.float32()),
                "linear: input shape (4, 3) must end with");
        assertFails(() -> Int8Ops.linear(x, Int8Ops.quantizePerChannel(wf, 1), null,
                Int8Output.float32()), "per output channel (axis 0), got axis 1");
        assertFails(() -> Int8Ops.linear(x, w, manager.create(new float[3]), Int8Output.float32()),
                "linear: bias must be FLOAT32 with 2 elements");
        assertFails(() -> Int8Ops.linear(x, w, manager.create(new float[2]), Int8Output.int32()),
                "takes no FP32 bias");
        NDArray nan = manager.create(new float[] {1f, Float.NaN, 0f, 0f}, new Shape(1, 4));
        assertFails(() -> Int8Ops.linear(nan, w, null, Int8Output.float32()),
                "linear: input has a non-finite value NaN at index 1");
        NDArray img = manager.create(new float[2 * 3 * 5 * 5], new Shape(2, 3, 5, 5));
        NDArray cw = Int8Ops.quantizePerChannel(
                manager.create(new float[4 * 2 * 3 * 3], new Shape(4, 2, 3, 3)), 0);
        Shape one = new Shape(1, 1);
        Shape zero = new Shape(0, 0);
        assertFails(() -> Int8Ops.conv2d(img, cw, null, one, zero, one, 1, Int8Output.float32()),
                "do not fit 1 group(s)");
        NDArray big = Int8Ops.quantizePerChannel(
                manager.create(new float[4 * 3 * 7 * 7], new Shape(4, 3, 7, 7)), 0);
        assertFails(() -> Int8Ops.conv2d(img, big, null, one, zero, one, 1, Int8Output.float32()),
                "kernel 7x7 does not fit");
        assertFails(() -> Int8Ops.conv2d(img, big, null, new Shape(0, 1), zero, one, 1,
                Int8Output.float32()), "stride and dilation must be positive");
        assertFails(() -> Int8Ops.conv2d(img.reshape(6, 5, 5), big, null, one, zero, one, 1,
                Int8Output.float32()), "conv2d: input must be 4-D NCHW");
    }

    static void assertFails(Runnable call, String messagePart) {
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                call::run);
        Assert.assertTrue(e.getMessage().contains(messagePart),
                "message '" + e.getMessage() + "' should contain '" + messagePart + "'");
    }

    /**
     * The per-row linear gives, bit for bit, its scalar formula over 3-D codes: the exact INT32
     * sum against the weight's centred codes, the row correction, then each FP32 step in order.
     */
    @Test
    public void linearPerRowMatchesItsFormula() {
        Random random = new Random(17);
        int rows = 6;
        int k = 37;
        int n = 9;
        try (NDManager sub = manager.newSubManager()) {
            NDArray w = sub.create(Reference.uniform(random, n * k, -1f, 1f), new Shape(n, k));
            QuantInt8NDArray qw = Int8Ops.quantizeDynamic(w, DataType.UINT8);
            byte[] codes = new byte[rows * k];
            random.nextBytes(codes);
            NDArray x = sub.create(java.nio.ByteBuffer.wrap(codes), new Shape(2, 3, k),
                    DataType.UINT8);
            float[] scales = Reference.uniform(random, rows, 0.01f, 0.1f);
            int[] zeros = new int[rows];
            for (int r = 0; r < rows; r++) {
                zeros[r] = random.nextInt(256);
            }
            int[] w8 = Reference.codes(qw);
            int wZero = qw.getQuantization().getZeroPoint(0);
            int[] sums = new int[n];
            for (int j = 0; j < n * k; j++) {
                sums[j / k] += w8[j] - wZero;
            }
            float[] bias = Reference.uniform(random, n, -1f, 1f);
            NDArray y = Int8Ops.linearPerRow(x, scales, zeros, qw, sums, sub.create(bias),
                    Activation.NONE);
            Assert.assertEquals(y.getShape(), new Shape(2, 3, n));
            float[] got = y.toFloatArray();
            float[] gelu = Int8Ops.linearPerRow(x, scales, zeros, qw, sums, sub.create(bias),
                    Activation.GELU_ERF).toFloatArray();
            float ws = qw.getQuantization().getScale(0);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < n; c++) {
                    int acc = 0;
                    for (int t = 0; t < k; t++) {
                        acc += Byte.toUnsignedInt(codes[r * k + t]) * (w8[c * k + t] - wZero);
                    }
                    float expected = (float) (acc - zeros[r] * sums[c]) * scales[r] * ws + bias[c];
                    Assert.assertEquals(got[r * n + c], expected, 0f, "row " + r + ", col " + c);
                    Assert.assertEquals(gelu[r * n + c], FloatKernels.geluErf(expected), 0f,
                            "GELU, row " + r + ", col " + c);
                }
            }
            IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> Int8Ops.linearPerRow(x, scales, zeros, qw, new int[n - 1], null,
                            Activation.NONE));
            Assert.assertTrue(e.getMessage().contains(n + " column sums"), e.getMessage());
        }
    }
}
