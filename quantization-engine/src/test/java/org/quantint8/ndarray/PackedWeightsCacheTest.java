package org.quantint8.ndarray;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.PackedInt8Matrix;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.nio.ByteBuffer;
import java.util.Random;

/** A weight array is packed once for repeated linear calls, and repacked after its data change. */
public class PackedWeightsCacheTest {

    @Test
    public void linearPacksOnceAndRepacksAfterSet() {
        Random random = new Random(5);
        try (NDManager manager = Engine.getEngine("QuantInt8").newBaseManager()) {
            NDArray x = manager.create(Reference.uniform(random, 4 * 40, -1f, 1f), new Shape(4, 40));
            NDArray w = manager.create(Reference.uniform(random, 24 * 40, -1f, 1f), new Shape(24, 40));
            QuantInt8NDArray qw = Int8Ops.quantizePerChannel(w, 0);
            Int8Kernels kernels = Int8Kernels.best();

            float[] first = Int8Ops.linear(x, qw, null, Int8Output.float32()).toFloatArray();
            PackedInt8Matrix[] cached = qw.packed(kernels, 1, g -> {
                throw new AssertionError("the weights should already be packed");
            });
            Int8Ops.linear(x, qw, null, Int8Output.float32());
            Assert.assertSame(qw.packed(kernels, 1, g -> null), cached, "packed again");

            // New codes: every weight negated. The result must follow, not the stale packing.
            byte[] codes = new byte[24 * 40];
            qw.getDataSegment().asByteBuffer().get(codes);
            for (int i = 0; i < codes.length; i++) {
                codes[i] = (byte) Math.max(-127, -codes[i]);
            }
            qw.set(ByteBuffer.wrap(codes));
            float[] second = Int8Ops.linear(x, qw, null, Int8Output.float32()).toFloatArray();
            for (int i = 0; i < first.length; i++) {
                Assert.assertEquals(second[i], -first[i], 1e-5f * (1 + Math.abs(first[i])), "y" + i);
            }
            qw.close();
            Assert.expectThrows(IllegalStateException.class, () -> qw.packed(kernels, 1, g -> null));
        }
    }
}
