package org.quantint8.ndarray;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.testng.Assert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.nio.ByteBuffer;
import java.util.Random;

public class QuantInt8NDArrayTest {

    private NDManager manager;

    @BeforeClass
    public void setUp() {
        manager = Engine.getEngine("QuantInt8").newBaseManager();
    }

    @AfterClass
    public void tearDown() {
        manager.close();
    }

    @Test
    public void createOverwrittenOnlySkipsTheZeroing() {
        try (QuantInt8NDManager quant = (QuantInt8NDManager) manager.newSubManager()) {
            QuantInt8NDArray first = quant.createOverwritten(new Shape(4, 4), DataType.FLOAT32);
            Assert.assertEquals(first.getShape(), new Shape(4, 4));
            Assert.assertEquals(first.getDataType(), DataType.FLOAT32);
            first.getDataSegment().fill((byte) 1);
            long address = first.getDataSegment().address();
            first.close();
            QuantInt8NDArray reused = quant.createOverwritten(new Shape(16), DataType.FLOAT32);
            Assert.assertEquals(reused.getDataSegment().address(), address, "the block is reused");
            reused.close();
            Assert.assertEquals(quant.create(new Shape(16), DataType.FLOAT32).toFloatArray(),
                    new float[16], "create still zeroes it");
        }
    }

    @Test
    public void holdsEveryFixedSizeType() {
        NDArray f = manager.create(new float[] {1.5f, -2f}, new Shape(2));
        Assert.assertEquals(f.toFloatArray(), new float[] {1.5f, -2f});
        NDArray i = manager.create(new int[] {7, -9, Integer.MAX_VALUE});
        Assert.assertEquals(i.getDataType(), DataType.INT32);
        Assert.assertEquals(i.toIntArray(), new int[] {7, -9, Integer.MAX_VALUE});
        NDArray b = manager.create(new byte[] {-128, 127}, new Shape(2));
        Assert.assertEquals(b.getDataType(), DataType.INT8);
        Assert.assertEquals(b.toByteArray(), new byte[] {-128, 127});
        NDArray u = manager.create(ByteBuffer.wrap(new byte[] {(byte) 255, 0}), new Shape(2),
                DataType.UINT8);
        Assert.assertEquals(u.toUint8Array(), new int[] {255, 0});
        NDArray l = manager.create(new long[] {1L << 40});
        Assert.assertEquals(l.toLongArray(), new long[] {1L << 40});
        for (NDArray x : new NDArray[] {f, i, b, u, l}) {
            Assert.assertTrue(x instanceof QuantInt8NDArray);
            x.close();
        }
    }

    @Test
    public void rejectsStringsAndBadShapes() {
        Assert.expectThrows(UnsupportedOperationException.class, () -> manager.create("text"));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> manager.create(new Shape(2, -1), DataType.FLOAT32));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> manager.create(new float[3], new Shape(2, 2)));
    }

    @Test
    public void memoryIsFreedOnManagerClose() {
        long before = QuantInt8NDManager.getOffHeapBytesInUse();
        NDArray survivor;
        try (NDManager sub = manager.newSubManager()) {
            sub.create(new Shape(1000, 1000), DataType.FLOAT32);
            NDArray x = sub.create(new float[1000]);
            Int8Ops.quantizeDynamic(x, DataType.UINT8);
            survivor = sub.create(new float[] {1f, 2f});
            survivor.attach(manager);
            Assert.assertTrue(QuantInt8NDManager.getOffHeapBytesInUse() >= before + 4_000_000);
        }
        Assert.assertEquals(QuantInt8NDManager.getOffHeapBytesInUse(), before + 8);
        Assert.assertEquals(survivor.toFloatArray(), new float[] {1f, 2f});
        survivor.close();
        Assert.assertEquals(QuantInt8NDManager.getOffHeapBytesInUse(), before);
    }

    @Test
    public void fallbackOpsWorkAfterTheArrayOutlivesItsFirstManager() {
        NDArray moved;
        NDArray detached;
        try (NDManager run = manager.newSubManager()) {
            moved = run.create(new float[] {1f, 2f, 3f, 6f});
            detached = run.create(new float[] {4f, 8f});
            // A fallback op caches a PyTorch copy in the run's alternative manager.
            Assert.assertEquals(moved.mean().getFloat(), 3f);
            Assert.assertEquals(detached.mean().getFloat(), 6f);
            moved.attach(manager);
            detached.detach();
        }
        // The run's PyTorch manager is closed: the arrays must not reach for its copies.
        Assert.assertEquals(moved.mean().getFloat(), 3f);
        Assert.assertEquals(detached.mean().getFloat(), 6f);
        moved.close();
        detached.close();
    }

    @Test
    public void closedArrayRefusesAccess() {
        QuantInt8NDArray x = (QuantInt8NDArray) manager.create(new float[] {1f});
        x.close();
        Assert.expectThrows(IllegalStateException.class, x::getDataSegment);
        Assert.expectThrows(IllegalStateException.class, x::toFloatArray);
    }

    @Test
    public void copiesHandedToPyTorchOutliveTheArray() {
        NDManager pt = Engine.getEngine("PyTorch").newBaseManager();
        try (pt) {
            NDArray x = manager.create(new float[] {1f, 2f, 3f});
            NDArray copy = pt.from(x);
            x.close();
            // A view of freed memory would crash or read garbage here.
            Assert.assertEquals(copy.add(1f).toFloatArray(), new float[] {2f, 3f, 4f});
        }
    }

    @Test
    public void layoutOperationsKeepPerTensorQuantization() {
        QuantInt8NDArray q = quantized(new Shape(2, 3, 4), -1);
        QuantizationParameters p = q.getQuantization();
        byte[] codes = q.toByteArray();
        QuantInt8NDArray r = (QuantInt8NDArray) q.reshape(new Shape(6, -1));
        Assert.assertEquals(r.getShape(), new Shape(6, 4));
        Assert.assertEquals(r.getQuantization(), p);
        Assert.assertEquals(r.toByteArray(), codes);
        QuantInt8NDArray f = (QuantInt8NDArray) q.flatten();
        Assert.assertEquals(f.getShape(), new Shape(24));
        Assert.assertEquals(f.getQuantization(), p);
        QuantInt8NDArray e = (QuantInt8NDArray) q.expandDims(0).squeeze();
        Assert.assertEquals(e.getShape(), q.getShape());
        Assert.assertEquals(e.getQuantization(), p);
    }

    @Test
    public void perChannelAxisFollowsLayout() {
        QuantInt8NDArray q = quantized(new Shape(2, 3, 4), 1);
        QuantInt8NDArray t = (QuantInt8NDArray) q.transpose(2, 0, 1);
        Assert.assertEquals(t.getShape(), new Shape(4, 2, 3));
        Assert.assertEquals(t.getQuantization().getAxis(), 2);
        Assert.assertEquals(Reference.realValues(t), transposeReal(q));
        QuantInt8NDArray ex = (QuantInt8NDArray) q.expandDims(0);
        Assert.assertEquals(ex.getQuantization().getAxis(), 2);
        QuantInt8NDArray merged = (QuantInt8NDArray) q.reshape(new Shape(2, 3, 2, 2));
        Assert.assertEquals(merged.getQuantization().getAxis(), 1);
        IllegalArgumentException err = Assert.expectThrows(IllegalArgumentException.class,
                () -> q.reshape(new Shape(6, 4)));
        Assert.assertTrue(err.getMessage().contains("per-channel"), err.getMessage());
    }

    @Test
    public void transposeMatchesPyTorch() {
        Random random = new Random(7);
        float[] data = Reference.uniform(random, 2 * 3 * 5 * 7, -1, 1);
        try (NDManager pt = Engine.getEngine("PyTorch").newBaseManager()) {
            NDArray ours = manager.create(data, new Shape(2, 3, 5, 7));
            NDArray theirs = pt.create(data, new Shape(2, 3, 5, 7));
            int[][] perms = {{3, 2, 1, 0}, {0, 2, 3, 1}, {1, 0, 2, 3}};
            for (int[] perm : perms) {
                Assert.assertEquals(ours.transpose(perm).toFloatArray(),
                        theirs.transpose(perm).toFloatArray());
            }
            Assert.assertEquals(ours.transpose().getShape(), new Shape(7, 5, 3, 2));
        }
    }

    @Test
    public void encodeDecodeKeepsQuantization() {
        QuantInt8NDArray q = quantized(new Shape(3, 5), 0);
        q.setName("w");
        QuantInt8NDArray back = (QuantInt8NDArray) manager.decode(q.encode());
        Assert.assertEquals(back.getQuantization(), q.getQuantization());
        Assert.assertEquals(back.toByteArray(), q.toByteArray());
        Assert.assertEquals(back.getName(), "w");
        // Other engines read the data and ignore the parameters.
        try (NDManager pt = Engine.getEngine("PyTorch").newBaseManager()) {
            NDArray plain = pt.decode(q.encode());
            Assert.assertEquals(plain.toByteArray(), q.toByteArray());
        }
        NDArray unquantized = manager.create(new float[] {1f, 2f});
        Assert.assertEquals(manager.decode(unquantized.encode()).toFloatArray(),
                new float[] {1f, 2f});
    }

    @Test
    public void setQuantizationValidates() {
        QuantInt8NDArray x = (QuantInt8NDArray) manager.create(new byte[6], new Shape(2, 3));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> x.setQuantization(QuantizationParameters.symmetricPerChannel(
                        new float[] {1f, 1f}, 1)));
        Assert.expectThrows(IllegalArgumentException.class,
                () -> x.setQuantization(QuantizationParameters.perTensor(1f, 0, DataType.UINT8)));
        x.setQuantization(QuantizationParameters.perTensor(1f, 0, DataType.INT8));
        Assert.assertTrue(x.isQuantized());
    }

    private QuantInt8NDArray quantized(Shape shape, int axis) {
        Random random = new Random(shape.hashCode() + axis);
        NDArray x = manager.create(Reference.uniform(random, (int) shape.size(), -3, 3), shape);
        return axis < 0
                ? Int8Ops.quantizeDynamic(x, DataType.UINT8)
                : Int8Ops.quantizePerChannel(x, axis);
    }

    private static double[] transposeReal(QuantInt8NDArray q) {
        double[] real = Reference.realValues(q);
        double[] out = new double[real.length];
        int n = 0;
        for (int d = 0; d < 4; d++) {
            for (int a = 0; a < 2; a++) {
                for (int b = 0; b < 3; b++) {
                    out[n++] = real[(a * 3 + b) * 4 + d];
                }
            }
        }
        return out;
    }
}
