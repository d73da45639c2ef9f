package org.quantint8.ndarray;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.testng.Assert;
import org.testng.annotations.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Small arrays share their manager's memory; moving between managers keeps the data; a poisoned
 * pool reports writes into freed blocks.
 */
public class MemoryPoolTest {

    private static QuantInt8NDManager newManager() {
        return (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager();
    }

    @Test
    public void closedBlocksAreReusedAndZeroed() {
        try (QuantInt8NDManager manager = newManager()) {
            for (int i = 0; i < 1000; i++) {
                NDArray x = manager.create(new Shape(100), DataType.FLOAT32);
                Assert.assertEquals(x.toFloatArray(), new float[100], "fresh memory reads zero");
                manager.create(new float[] {1f, 2f, 3f}).close();
                x.add(0); // a fallback op: its result belongs to PyTorch, not to this pool
                ((QuantInt8NDArray) x).getDataSegment().fill((byte) 7);
                x.close();
            }
            // Two live arrays at most: a 512-byte and a 64-byte block, whatever the loop count.
            Assert.assertTrue(manager.pool().reservedBytes() <= 1024,
                    "reserved " + manager.pool().reservedBytes());
        }
    }

    @Test
    public void arraysMovedToAnotherManagerOutliveTheirFirst() {
        try (QuantInt8NDManager parent = newManager()) {
            NDArray attached;
            NDArray detached;
            NDArray quantized;
            try (NDManager child = parent.newSubManager()) {
                attached = child.create(new float[] {1f, 2f});
                attached.attach(parent);
                detached = child.create(new int[] {5, 6});
                detached.detach();
                quantized = Int8Ops.quantizeDynamic(child.create(new float[] {-1f, 2f}),
                        DataType.UINT8);
                quantized.attach(parent);
            }
            Assert.assertEquals(attached.toFloatArray(), new float[] {1f, 2f});
            Assert.assertEquals(detached.toIntArray(), new int[] {5, 6});
            Assert.assertNotNull(((QuantInt8NDArray) quantized).getQuantization());
            Assert.assertEquals(Int8Ops.dequantize(quantized).toFloatArray()[1], 2f, 0.01f);
            detached.close();
        }
    }

    @Test
    public void largeArraysHaveMemoryOfTheirOwn() {
        try (QuantInt8NDManager manager = newManager()) {
            long before = QuantInt8NDManager.getOffHeapBytesInUse();
            NDArray big = manager.create(new Shape(1 << 19), DataType.FLOAT32); // 2 MiB
            Assert.assertEquals(manager.pool().reservedBytes(), 0L);
            Assert.assertEquals(QuantInt8NDManager.getOffHeapBytesInUse(), before + (2 << 20));
            big.close();
            Assert.assertEquals(QuantInt8NDManager.getOffHeapBytesInUse(), before);
        }
    }

    @Test
    public void runManagersPoolLargeArraysUntilTheyClose() {
        try (QuantInt8NDManager manager = newManager()) {
            long before = QuantInt8NDManager.getOffHeapBytesInUse();
            NDArray kept;
            try (QuantInt8NDManager run = manager.newRunManager()) {
                for (int i = 0; i < 50; i++) {
                    NDArray big = run.create(new Shape(3 << 18), DataType.FLOAT32); // 3 MiB
                    Assert.assertEquals(big.toFloatArray()[(3 << 18) - 1], 0f,
                            "reused memory reads zero");
                    ((QuantInt8NDArray) big).getDataSegment().fill((byte) 7);
                    big.close();
                }
                // One 4 MiB block serves every iteration.
                Assert.assertEquals(run.pool().reservedBytes(), 4L << 20);
                kept = run.create(new Shape(3 << 18), DataType.FLOAT32);
                ((QuantInt8NDArray) kept).getDataSegment().fill((byte) 1);
                kept.attach(manager); // out of the run: it leaves with its arena, uncopied
                Assert.assertEquals(run.pool().reservedBytes(), 0L, "the block left the pool");
                Assert.assertEquals(QuantInt8NDManager.getOffHeapBytesInUse(), before + (3 << 20));
            }
            // The run closed and freed its pool; the array that left it still reads its data.
            Assert.assertEquals(kept.toFloatArray()[(3 << 18) - 1],
                    Float.intBitsToFloat(0x01010101));
            kept.close();
            Assert.assertEquals(manager.pool().reservedBytes(), 0L);
            Assert.assertEquals(QuantInt8NDManager.getOffHeapBytesInUse(), before);
        }
    }

    @Test
    public void internAcrossManagersCopies() {
        try (QuantInt8NDManager a = newManager(); QuantInt8NDManager b = newManager()) {
            long before = QuantInt8NDManager.getOffHeapBytesInUse();
            NDArray target = a.create(new float[] {0f, 0f, 0f});
            NDArray source = b.create(new float[] {4f, 5f, 6f});
            target.intern(source);
            b.close();
            Assert.assertEquals(target.toFloatArray(), new float[] {4f, 5f, 6f});
            Assert.assertEquals(QuantInt8NDManager.getOffHeapBytesInUse(), before + 12);
        }
    }

    @Test
    public void aPoisonedPoolReportsAWriteAfterFree() {
        MemoryPool pool = new MemoryPool(false, true);
        try {
            OffHeapBlock first = pool.allocate(200);
            MemorySegment stale = first.data();
            first.free();
            Assert.assertTrue(Float.isNaN(stale.get(ValueLayout.JAVA_FLOAT, 0)),
                    "a read through the stale view sees NaN");
            stale.set(ValueLayout.JAVA_FLOAT, 12, 1f); // the use after free
            IllegalStateException failure =
                    Assert.expectThrows(IllegalStateException.class, () -> pool.allocate(256));
            Assert.assertTrue(failure.getMessage().contains("a free block of 256 bytes"),
                    failure.getMessage());
            Assert.assertTrue(failure.getMessage()
                    .contains("holds 0x00 at byte 12 instead of the 0xff"), failure.getMessage());
        } finally {
            pool.close();
        }
    }

    @Test
    public void aPoisonedPoolReportsAWriteAfterFreeWhenItCloses() {
        MemoryPool pool = new MemoryPool(true, true);
        OffHeapBlock block = pool.allocate(3 << 20); // a run pool's large block
        MemorySegment stale = block.data();
        block.free();
        stale.set(ValueLayout.JAVA_BYTE, 5, (byte) 1);
        IllegalStateException failure =
                Assert.expectThrows(IllegalStateException.class, pool::close);
        Assert.assertTrue(failure.getMessage().contains("found when freed with the pool"),
                failure.getMessage());
        Assert.assertEquals(pool.reservedBytes(), 0L, "the memory is freed all the same");
        pool.close(); // once only
    }

    @Test
    public void aPoisonedPoolServesZeroedMemoryAsAnyOther() {
        MemoryPool pool = new MemoryPool(false, true);
        try {
            for (int i = 0; i < 100; i++) {
                OffHeapBlock block = pool.allocate(1000);
                MemorySegment data = block.data();
                for (long b = 0; b < data.byteSize(); b++) {
                    Assert.assertEquals(data.get(ValueLayout.JAVA_BYTE, b), (byte) 0);
                }
                data.fill((byte) i);
                block.free();
            }
            Assert.assertEquals(pool.reservedBytes(), 1024L);
        } finally {
            pool.close();
        }
    }
}
