package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The codes of a value that several fused nodes quantize are quantized once and closed when the
 * last reader gives them back; unshared codes are closed at once. (IntegerConvFusionTest runs a
 * residual block whose input two convolutions share, against the unfused chain.)
 */
public class SharedCodesTest {

    @Test
    public void sharedCodesAreQuantizedOnceAndClosedAfterTheLastReader() {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            AtomicInteger quantized = new AtomicInteger();
            Supplier<QuantInt8NDArray> quantize = () -> {
                quantized.incrementAndGet();
                return manager.create(new Shape(4), DataType.FLOAT32);
            };
            InputCodes shared = new SharedCodes(3);
            QuantInt8NDArray first = shared.get(quantize);
            shared.release(first);
            QuantInt8NDArray second = shared.get(quantize);
            Assert.assertSame(second, first);
            shared.release(second);
            Assert.assertFalse(first.isReleased(), "a third reader still needs the codes");
            QuantInt8NDArray third = shared.get(quantize);
            shared.release(third);
            Assert.assertEquals(quantized.get(), 1);
            Assert.assertTrue(first.isReleased());

            QuantInt8NDArray foreign = manager.create(new Shape(2), DataType.FLOAT32);
            new SharedCodes(2).release(foreign);
            Assert.assertTrue(foreign.isReleased(), "codes the sharing did not make are closed");
            QuantInt8NDArray alone = InputCodes.UNSHARED.get(quantize);
            InputCodes.UNSHARED.release(alone);
            Assert.assertTrue(alone.isReleased());
            Assert.assertEquals(quantized.get(), 2);
        }
    }
}
