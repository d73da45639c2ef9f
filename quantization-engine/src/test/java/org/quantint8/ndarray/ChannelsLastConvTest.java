package org.quantint8.ndarray;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.ConvWindow;
import org.quantint8.kernels.Int8Kernels;
import org.testng.Assert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Random;

/**
 * Convolutions whose output may be channels-last ({@link Int8Output#withChannelsLastAllowed}):
 * the channels-last output holds the bits of the NCHW one, and a convolution reading it (as its
 * input, as its residual) gives the bits it gives on the NCHW array, in every orientation.
 */
public class ChannelsLastConvTest {

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
    public Object[][] readers() {
        // The reader's kernel, output channels and groups; with the native kernels: a 1x1 over
        // 81 positions (the input is the patches), a 3x3 (patches from the pixels' channels),
        // both positions on rows; 8 output channels, channels on rows (the input transposed
        // back to planes); two groups of 16 (positions on rows over planes).
        return new Object[][] {{1, 32, 1}, {3, 32, 1}, {1, 8, 1}, {3, 32, 2}};
    }

    @Test(dataProvider = "readers")
    public void aReaderOfAChannelsLastOutputGivesTheSameBits(int kernel, int oc, int groups) {
        Random random = new Random(kernel * 100L + oc + groups);
        int size = 9;
        int c = 32;
        Shape one = new Shape(1, 1);
        Shape pad1 = new Shape(1, 1);
        try (NDManager sub = manager.newSubManager()) {
            NDArray x = sub.create(Reference.uniform(random, 2 * 16 * size * size, -1, 2),
                    new Shape(2, 16, size, size));
            QuantInt8NDArray qx = Int8Ops.quantizeDynamic(x, DataType.UINT8);
            QuantInt8NDArray w1 = weight(sub, random, c, 16, 3);
            float[] scale = Reference.uniform(random, c, 0.5f, 1.5f);
            float[] shift = Reference.uniform(random, c, -0.5f, 0.5f);
            Int8Output first = Int8Output.float32(scale, shift, true);
            NDArray planes = Int8Ops.conv2d(qx, w1, null, one, pad1, one, 1, first);
            NDArray last = Int8Ops.conv2d(qx, w1, null, one, pad1, one, 1,
                    first.withChannelsLastAllowed());
            boolean byPositions = Int8Kernels.best().positionsOnRows(
                    new ConvWindow(16, size, size, 3, 3, 1, 1, 1, 1, 1, 1, size, size), c, false);
            QuantInt8NDArray y = (QuantInt8NDArray) last;
            Assert.assertEquals(y.isChannelsLast(), byPositions, Int8Kernels.best().name());
            Assert.assertEquals(y.getShape(), byPositions ? new Shape(2, size, size, c)
                    : new Shape(2, c, size, size));
            Assert.assertEquals(Int8Ops.valueShape(y), planes.getShape());
            assertSameBits(byPositions ? Int8Ops.channelsFirst(y) : y, planes, "first output");

            // The reader, with the output of the first as input, and as residual when oc == c.
            QuantInt8NDArray w2 = weight(sub, random, oc, c / groups, kernel);
            Shape pad = kernel == 3 ? pad1 : new Shape(0, 0);
            NDArray plain = read(planes, w2, groups, pad, false);
            NDArray fromLast = read(last, w2, groups, pad, true);
            NDArray fromLastWithout = read(last, w2, groups, pad, false);
            for (NDArray r : new NDArray[] {fromLast, fromLastWithout}) {
                QuantInt8NDArray q = (QuantInt8NDArray) r;
                assertSameBits(q.isChannelsLast() ? Int8Ops.channelsFirst(q) : q, plain,
                        "reader " + kernel + "x" + kernel + " to " + oc + " in " + groups);
            }
            Assert.assertFalse(((QuantInt8NDArray) fromLastWithout).isChannelsLast());
            if (byPositions) {
                IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                        () -> Int8Ops.maxPool2d(last, new Shape(3, 3), one, pad1, false));
                Assert.assertTrue(e.getMessage().contains("channels-last"), e.getMessage());
            }
        }
    }

    /** A convolution of {@code input}, with it as the residual when the channels agree. */
    private static NDArray read(NDArray input, QuantInt8NDArray w, int groups, Shape pad,
            boolean allowLast) {
        Shape one = new Shape(1, 1);
        QuantInt8NDArray q = Int8Ops.quantizeDynamic(input, DataType.UINT8);
        Assert.assertEquals(q.isChannelsLast(), ((QuantInt8NDArray) input).isChannelsLast(),
                "the codes keep the layout");
        Int8Output out = Int8Output.float32(null, null, true);
        if (w.getShape().get(0) == Int8Ops.valueShape(input).get(1)) {
            out = out.withResidual(input);
        }
        if (allowLast) {
            out = out.withChannelsLastAllowed();
        }
        return Int8Ops.conv2d(q, w, null, one, pad, one, groups, out);
    }

    private static QuantInt8NDArray weight(NDManager m, Random random, int out, int in,
            int kernel) {
        NDArray wf = m.create(Reference.uniform(random, out * in * kernel * kernel, -1, 1),
                new Shape(out, in, kernel, kernel));
        return Int8Ops.quantizePerChannel(wf, 0);
    }

    private static void assertSameBits(NDArray actual, NDArray expected, String what) {
        Assert.assertEquals(actual.getShape(), expected.getShape(), what);
        float[] a = actual.toFloatArray();
        float[] e = expected.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            Assert.assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(e[i]),
                    what + ", element " + i);
        }
    }
}
