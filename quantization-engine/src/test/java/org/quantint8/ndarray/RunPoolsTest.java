package org.quantint8.ndarray;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.testng.Assert;
import org.testng.annotations.Test;

/** A model's run pools keep one pass's memory for the next, and never a block still in use. */
public class RunPoolsTest {

    private static final int LARGE = 3 << 18; // 3 MiB of floats: a block of its own arena

    private static QuantInt8NDManager newManager() {
        return (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager();
    }

    @Test
    public void theNextPassReusesTheMemoryZeroed() {
        try (QuantInt8NDManager model = newManager()) {
            RunPools pools = new RunPools(model);
            long reserved = -1;
            for (int pass = 0; pass < 20; pass++) {
                try (QuantInt8NDManager run = pools.newRunManager()) {
                    NDArray big = run.create(new Shape(LARGE), DataType.FLOAT32);
                    NDArray small = run.create(new Shape(1000), DataType.FLOAT32);
                    Assert.assertEquals(big.toFloatArray()[LARGE - 1], 0f, "pass " + pass);
                    Assert.assertEquals(small.toFloatArray()[999], 0f, "pass " + pass);
                    ((QuantInt8NDArray) big).getDataSegment().fill((byte) 7);
                    ((QuantInt8NDArray) small).getDataSegment().fill((byte) 7);
                }
                Assert.assertEquals(pools.idlePools(), 1);
                if (pass == 0) {
                    reserved = pools.idleReservedBytes();
                    Assert.assertEquals(reserved, (4L << 20) + 4096, "one 4 MiB and one 4 KiB block");
                } else {
                    Assert.assertEquals(pools.idleReservedBytes(), reserved, "pass " + pass);
                }
            }
        }
    }

    @Test
    public void outputsSurviveTheNextPass() {
        try (QuantInt8NDManager model = newManager(); QuantInt8NDManager caller = newManager()) {
            RunPools pools = new RunPools(model);
            NDArray[] kept = new NDArray[2];
            try (QuantInt8NDManager run = pools.newRunManager()) {
                kept[0] = run.create(new Shape(LARGE), DataType.FLOAT32);
                kept[1] = run.create(new Shape(1000), DataType.FLOAT32);
                for (NDArray array : kept) {
                    ((QuantInt8NDArray) array).getDataSegment().fill((byte) 1);
                    array.attach(caller);
                }
            }
            // The next pass takes every block the pool has and overwrites it.
            try (QuantInt8NDManager run = pools.newRunManager()) {
                for (int i = 0; i < 4; i++) {
                    ((QuantInt8NDArray) run.create(new Shape(LARGE), DataType.FLOAT32))
                            .getDataSegment().fill((byte) 9);
                    ((QuantInt8NDArray) run.create(new Shape(1000), DataType.FLOAT32))
                            .getDataSegment().fill((byte) 9);
                }
            }
            float one = Float.intBitsToFloat(0x01010101);
            Assert.assertEquals(kept[0].toFloatArray()[LARGE - 1], one);
            Assert.assertEquals(kept[1].toFloatArray()[999], one);
        }
    }

    @Test
    public void aSubManagerReusesTheMemoryOfAClosedSibling() {
        try (QuantInt8NDManager model = newManager()) {
            long address;
            try (QuantInt8NDManager step = (QuantInt8NDManager) model.newSubManager()) {
                QuantInt8NDArray a = step.create(new Shape(1000), DataType.FLOAT32);
                a.getDataSegment().fill((byte) 5);
                address = a.getDataSegment().address();
            }
            try (QuantInt8NDManager step = (QuantInt8NDManager) model.newSubManager()) {
                QuantInt8NDArray b = step.create(new Shape(1000), DataType.FLOAT32);
                Assert.assertEquals(b.getDataSegment().address(), address, "the same block");
                Assert.assertEquals(b.toFloatArray()[999], 0f, "zeroed again");
                // Two at once: the second gets a pool of its own.
                try (QuantInt8NDManager other = (QuantInt8NDManager) model.newSubManager()) {
                    QuantInt8NDArray c = other.create(new Shape(1000), DataType.FLOAT32);
                    c.getDataSegment().fill((byte) 6);
                    Assert.assertEquals(b.toFloatArray()[999], 0f);
                }
            }
        }
    }

    @Test
    public void aParentKeepsFewIdleSubManagerPools() {
        try (QuantInt8NDManager model = newManager()) {
            int many = RunPools.MAX_IDLE_SUB_POOLS + 3;
            QuantInt8NDManager[] subs = new QuantInt8NDManager[many];
            for (int i = 0; i < many; i++) {
                subs[i] = (QuantInt8NDManager) model.newSubManager();
                subs[i].create(new Shape(1000), DataType.FLOAT32);
            }
            for (QuantInt8NDManager sub : subs) {
                sub.close();
            }
            RunPools pools = model.childPools();
            Assert.assertEquals(pools.idlePools(), RunPools.MAX_IDLE_SUB_POOLS);
            Assert.assertEquals(pools.idleReservedBytes(), 4096L * RunPools.MAX_IDLE_SUB_POOLS);
        }
    }

    @Test
    public void aLargeResultGivesItsMemoryBackWhenItCloses() {
        try (QuantInt8NDManager model = newManager(); QuantInt8NDManager caller = newManager()) {
            RunPools pools = new RunPools(model);
            QuantInt8NDArray result;
            long address;
            try (QuantInt8NDManager run = pools.newRunManager()) {
                result = (QuantInt8NDArray) run.create(new Shape(LARGE), DataType.FLOAT32);
                address = result.getDataSegment().address();
                result.attach(caller);
            }
            Assert.assertEquals(pools.idleReservedBytes(), 0, "the result took its block along");
            result.close();
            Assert.assertEquals(pools.idleReservedBytes(), 4L << 20, "given back on close");
            try (QuantInt8NDManager run = pools.newRunManager()) {
                QuantInt8NDArray next = (QuantInt8NDArray) run.create(new Shape(LARGE),
                        DataType.FLOAT32);
                Assert.assertEquals(next.getDataSegment().address(), address);
                Assert.assertEquals(next.toFloatArray()[LARGE - 1], 0f, "zeroed again");
            }
        }
    }

    @Test
    public void aLargeResultClosedAfterTheModelIsFreed() {
        QuantInt8NDArray result;
        try (QuantInt8NDManager caller = newManager()) {
            try (QuantInt8NDManager model = newManager()) {
                RunPools pools = new RunPools(model);
                try (QuantInt8NDManager run = pools.newRunManager()) {
                    result = (QuantInt8NDArray) run.create(new Shape(LARGE), DataType.FLOAT32);
                    result.attach(caller);
                }
            }
            result.getDataSegment().fill((byte) 3);
            long before = QuantInt8NDManager.getOffHeapBytesInUse();
            result.close();
            Assert.assertEquals(QuantInt8NDManager.getOffHeapBytesInUse(), before - 4L * LARGE);
        }
    }

    @Test
    public void largeBlocksTheLastPassDidNotUseAreFreed() {
        try (QuantInt8NDManager model = newManager()) {
            RunPools pools = new RunPools(model);
            try (QuantInt8NDManager run = pools.newRunManager()) {
                run.create(new Shape(LARGE), DataType.FLOAT32);
                run.create(new Shape(100), DataType.FLOAT32);
            }
            try (QuantInt8NDManager run = pools.newRunManager()) {
                run.create(new Shape(100), DataType.FLOAT32);
            }
            Assert.assertEquals(pools.idleReservedBytes(), 512L, "only the small block stays");
        }
    }

    @Test
    public void concurrentPassesGetPoolsOfTheirOwnAndClosingFreesAll() {
        long before = QuantInt8NDManager.getOffHeapBytesInUse();
        QuantInt8NDManager model = newManager();
        RunPools pools = new RunPools(model);
        QuantInt8NDManager first = pools.newRunManager();
        QuantInt8NDManager second = pools.newRunManager();
        Assert.assertNotSame(first.pool(), second.pool());
        first.create(new Shape(LARGE), DataType.FLOAT32);
        first.close();
        first.close(); // a second close must not give the pool back twice
        QuantInt8NDManager third = pools.newRunManager();
        Assert.assertSame(third.pool(), first.pool());
        Assert.assertEquals(pools.idlePools(), 0);
        third.close();
        model.close(); // closes the run still open, its pool with it
        Assert.assertEquals(pools.idlePools(), 0);
        Assert.assertEquals(first.pool().reservedBytes(), 0L);
        Assert.assertEquals(second.pool().reservedBytes(), 0L);
        Assert.assertEquals(QuantInt8NDManager.getOffHeapBytesInUse(), before);
        Assert.assertThrows(IllegalStateException.class, pools::newRunManager);
    }
}
