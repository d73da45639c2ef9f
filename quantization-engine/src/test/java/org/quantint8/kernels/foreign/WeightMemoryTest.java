package org.quantint8.kernels.foreign;

import org.testng.Assert;
import org.testng.SkipException;
import org.testng.annotations.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Blocks of huge-page mappings: shared, aligned, zeroed, and unmapped once all are given back. */
public class WeightMemoryTest {

    private static WeightMemory memory() {
        NativeBindings bindings = NativeBindings.loaded();
        if (bindings == null) {
            throw new SkipException("native library not loaded: " + NativeBindings.loadFailure());
        }
        return new WeightMemory(bindings, true);
    }

    @Test
    public void smallBlocksShareOneMappingUntilAllAreBack() {
        WeightMemory memory = memory();
        Arena first = Arena.ofShared();
        Arena second = Arena.ofShared();
        MemorySegment a = memory.allocate(1000, first);
        MemorySegment b = memory.allocate(5000, second);
        Assert.assertEquals(a.byteSize(), 1000);
        Assert.assertEquals(a.address() % WeightMemory.HUGE_PAGE, 0, "a mapping starts aligned");
        Assert.assertEquals(b.address(), a.address() + 1024, "the next 64-byte boundary");
        Assert.assertEquals(memory.mappedBytes(), WeightMemory.CHUNK);
        Assert.assertEquals(b.get(ValueLayout.JAVA_BYTE, 4999), 0, "fresh memory reads zero");
        a.fill((byte) 7);
        Assert.assertEquals(b.get(ValueLayout.JAVA_BYTE, 0), 0, "blocks do not overlap");

        first.close();
        Assert.assertEquals(memory.mappedBytes(), WeightMemory.CHUNK, "b still lives there");
        Assert.expectThrows(IllegalStateException.class, () -> a.get(ValueLayout.JAVA_BYTE, 0));
        second.close();
        Assert.assertEquals(memory.mappedBytes(), 0L, "unmapped with its last block");
    }

    @Test
    public void aLargeBlockHasAMappingOfItsOwnInWholeHugePages() {
        WeightMemory memory = memory();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment large = memory.allocate(WeightMemory.CHUNK / 2 + 1, arena);
            Assert.assertEquals(large.address() % WeightMemory.HUGE_PAGE, 0);
            Assert.assertEquals(memory.mappedBytes(), WeightMemory.CHUNK / 2 + WeightMemory.HUGE_PAGE);
            large.set(ValueLayout.JAVA_BYTE, large.byteSize() - 1, (byte) 1);
        }
        Assert.assertEquals(memory.mappedBytes(), 0L);
    }

    @Test
    public void aFullMappingStaysUntilItsBlocksAreBack() {
        WeightMemory memory = memory();
        Arena halves = Arena.ofShared();
        Arena next = Arena.ofShared();
        memory.allocate(WeightMemory.CHUNK / 2, halves);
        memory.allocate(WeightMemory.CHUNK / 2, halves);
        Assert.assertEquals(memory.mappedBytes(), WeightMemory.CHUNK, "two halves fill one");
        memory.allocate(64, next);
        Assert.assertEquals(memory.mappedBytes(), 2 * WeightMemory.CHUNK, "a new one for more");
        halves.close();
        Assert.assertEquals(memory.mappedBytes(), WeightMemory.CHUNK);
        next.close();
        Assert.assertEquals(memory.mappedBytes(), 0L);
    }

    @Test
    public void turnedOffItLeavesTheBlockToTheArena() {
        NativeBindings bindings = NativeBindings.loaded();
        if (bindings == null) {
            throw new SkipException("native library not loaded");
        }
        try (Arena arena = Arena.ofShared()) {
            Assert.assertNull(new WeightMemory(bindings, false).allocate(100, arena));
        }
    }
}
