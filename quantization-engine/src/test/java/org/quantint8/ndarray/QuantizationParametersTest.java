package org.quantint8.ndarray;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.testng.Assert;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Arrays;

public class QuantizationParametersTest {

    @DataProvider
    public Object[][] badScales() {
        return new Object[][] {{0f}, {-1f}, {Float.NaN}, {Float.POSITIVE_INFINITY}, {-0f}};
    }

    @Test(dataProvider = "badScales")
    public void rejectsInvalidScale(float scale) {
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.perTensor(scale, 0, DataType.INT8));
        Assert.assertTrue(e.getMessage().contains("scale"), e.getMessage());
    }

    @Test
    public void scaleVectorHoldsOneNativeScaleAChannel() {
        QuantizationParameters perChannel = QuantizationParameters.perChannel(
                new float[] {0.5f, 0.25f, 2f}, new int[] {0, 0, 0}, 0, DataType.INT8);
        MemorySegment vector = perChannel.scaleVector(3);
        Assert.assertTrue(vector.isNative());
        Assert.assertEquals(vector.toArray(ValueLayout.JAVA_FLOAT), new float[] {0.5f, 0.25f, 2f});
        Assert.assertSame(perChannel.scaleVector(3), vector, "made once");
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> perChannel.scaleVector(4));
        Assert.assertTrue(e.getMessage().contains("3 scales cannot scale 4 channels"),
                e.getMessage());

        QuantizationParameters perTensor = QuantizationParameters.perTensor(0.1f, 3,
                DataType.UINT8);
        Assert.assertEquals(perTensor.scaleVector(4).toArray(ValueLayout.JAVA_FLOAT),
                new float[] {0.1f, 0.1f, 0.1f, 0.1f});
        Assert.assertEquals(perTensor.scaleVector(2).byteSize(), 8L, "another channel count");
    }

    @Test
    public void rejectsZeroPointOutOfRange() {
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.perTensor(1f, 128, DataType.INT8));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.perTensor(1f, -1, DataType.UINT8));
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.perChannel(
                        new float[] {1f, 1f}, new int[] {0, 300}, 0, DataType.UINT8));
        Assert.assertTrue(e.getMessage().contains("channel 1"), e.getMessage());
    }

    @Test
    public void rejectsNonQuantizedType() {
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.perTensor(1f, 0, DataType.FLOAT32));
    }

    @Test
    public void perChannelNeedsOneZeroPointPerScale() {
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.perChannel(
                        new float[] {1f, 1f}, new int[] {0}, 0, DataType.INT8));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.perChannel(
                        new float[] {1f}, new int[] {0}, -2, DataType.INT8));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.symmetricPerChannel(new float[3], 0));
    }

    @Test
    public void checksChannelCountAgainstShape() {
        QuantizationParameters p =
                QuantizationParameters.symmetricPerChannel(new float[] {1f, 2f, 3f}, 1);
        p.checkCompatible("op", new Shape(4, 3), DataType.INT8);
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> p.checkCompatible("myop", new Shape(3, 4), DataType.INT8));
        Assert.assertTrue(e.getMessage().startsWith("myop:"), e.getMessage());
        Assert.assertTrue(e.getMessage().contains("3 per-channel scales"), e.getMessage());
        Assert.expectThrows(IllegalArgumentException.class,
                () -> p.checkCompatible("op", new Shape(3), DataType.INT8));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> p.checkCompatible("op", new Shape(4, 3), DataType.UINT8));
    }

    @Test
    public void forRangeIncludesZeroAndIsNeverDegenerate() {
        QuantizationParameters u = QuantizationParameters.forRange(2f, 6f, DataType.UINT8);
        Assert.assertEquals(u.getZeroPoint(0), 0);
        Assert.assertEquals(u.getScale(0), 6f / 255, 1e-7);
        QuantizationParameters neg = QuantizationParameters.forRange(-3f, -1f, DataType.UINT8);
        Assert.assertEquals(neg.getZeroPoint(0), 255);
        QuantizationParameters s = QuantizationParameters.forRange(-4f, 2f, DataType.INT8);
        Assert.assertEquals(s.getZeroPoint(0), 0);
        Assert.assertEquals(s.getScale(0), 4f / 127, 1e-7);
        QuantizationParameters constant = QuantizationParameters.forRange(0f, 0f, DataType.UINT8);
        Assert.assertEquals(constant.getScale(0), 1f);
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.forRange(Float.NaN, 1f, DataType.UINT8));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.forRange(2f, 1f, DataType.UINT8));
    }

    @Test
    public void encodeDecodeRoundTrip() {
        QuantizationParameters p = QuantizationParameters.perChannel(
                new float[] {0.5f, 0.25f}, new int[] {3, 7}, 1, DataType.UINT8);
        Assert.assertEquals(QuantizationParameters.decode(ByteBuffer.wrap(p.encode())), p);
    }

    @Test
    public void decodeRejectsCorruptBytes() {
        byte[] good = QuantizationParameters.perTensor(0.5f, 1, DataType.INT8).encode();
        for (int cut = 0; cut < good.length; cut++) {
            byte[] truncated = Arrays.copyOf(good, cut);
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> QuantizationParameters.decode(ByteBuffer.wrap(truncated)));
        }
        byte[] zeroScale = good.clone();
        Arrays.fill(zeroScale, good.length - 8, good.length - 4, (byte) 0);
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.decode(ByteBuffer.wrap(zeroScale)));
        byte[] hugeCount = good.clone();
        ByteBuffer.wrap(hugeCount).putInt(13, Integer.MAX_VALUE);
        Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationParameters.decode(ByteBuffer.wrap(hugeCount)));
    }
}
