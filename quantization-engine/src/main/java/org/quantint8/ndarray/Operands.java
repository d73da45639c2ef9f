package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.ChannelLayout;
import org.quantint8.kernels.ElementwiseKernels;
import org.quantint8.kernels.FloatRange;
import org.quantint8.kernels.QuantizedStorage;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The operands of one operator call: it checks them, brings arrays of other engines into
 * QuantInt8 memory, and closes every temporary it made when the call ends.
 */
final class Operands implements AutoCloseable {

    private final String op;
    private final QuantInt8NDManager manager;
    private final List<NDArray> temporaries = new ArrayList<>();
    private boolean channelsLastAccepted;

    /**
     * Starts an operator call.
     *
     * @param op the operator name, used in every message
     * @param candidates the operands; the first QuantInt8 array among them provides the manager
     */
    Operands(String op, NDArray... candidates) {
        this.op = op;
        QuantInt8NDManager found = null;
        for (NDArray candidate : candidates) {
            if (candidate instanceof QuantInt8NDArray q) {
                found = (QuantInt8NDManager) q.getManager();
                break;
            }
        }
        if (found == null) {
            throw new IllegalArgumentException(
                    op + ": no operand is a QuantInt8 array; create the arrays with a QuantInt8"
                            + " NDManager");
        }
        this.manager = found;
    }

    Operands(String op, QuantInt8NDManager manager) {
        this.op = op;
        this.manager = manager;
    }

    String op() {
        return op;
    }

    QuantInt8NDManager manager() {
        return manager;
    }

    /**
     * Lets this operator read channels-last arrays ({@link QuantInt8NDArray#isChannelsLast}),
     * whose layout it handles; every other operator refuses them.
     */
    Operands acceptingChannelsLast() {
        channelsLastAccepted = true;
        return this;
    }

    /** Returns the array itself if it is a QuantInt8 array, else a temporary copy. */
    QuantInt8NDArray own(NDArray x) {
        if (x instanceof QuantInt8NDArray q) {
            return layoutChecked("an operand", q);
        }
        return track(manager.from(x));
    }

    /** Allocates a temporary array, closed with this call. */
    QuantInt8NDArray temporary(Shape shape, DataType type, QuantizationParameters q) {
        return track(manager.allocate(shape, type, q));
    }

    /** Allocates a temporary array that the kernel overwrites entirely: it is not zeroed. */
    QuantInt8NDArray overwrittenTemporary(Shape shape, DataType type, QuantizationParameters q) {
        return track(manager.allocateOverwritten(shape, type, q));
    }

    /** Allocates a result array that the kernel overwrites entirely: it is not zeroed. */
    QuantInt8NDArray overwrittenResult(Shape shape, DataType type, QuantizationParameters q) {
        return manager.allocateOverwritten(shape, type, q);
    }

    /** Allocates the result array, which outlives this call. */
    QuantInt8NDArray result(Shape shape, DataType type, QuantizationParameters q) {
        return manager.allocate(shape, type, q);
    }

    /**
     * Returns the result in the engine of {@code like}: a QuantInt8 array when {@code like} is
     * one, else a copy in {@code like}'s manager, so that the result lives as long as the caller
     * expects from the input it passed.
     */
    NDArray inEngineOf(NDArray like, QuantInt8NDArray result) {
        if (like instanceof QuantInt8NDArray || result.isQuantized()) {
            return result;
        }
        try (result) {
            return like.getManager().from(result);
        }
    }

    /** Requires a quantized QuantInt8 array. */
    QuantInt8NDArray quantized(String name, NDArray x) {
        if (x instanceof QuantInt8NDArray q && q.isQuantized()) {
            return layoutChecked(name, q);
        }
        throw new IllegalArgumentException(
                op
                        + ": "
                        + name
                        + " must be a quantized QuantInt8 array (see Int8Ops.quantize), got "
                        + describe(x));
    }

    /**
     * Returns an 8-bit per-tensor quantized activation: the array itself when it is one, or a
     * temporary UINT8 quantization of an FP32 array over its own range (dynamic quantization).
     */
    QuantInt8NDArray activation(String name, NDArray x) {
        if (x instanceof QuantInt8NDArray q && q.isQuantized()) {
            QuantizationParameters p = q.getQuantization();
            if (p.isPerChannel() || p.getDataType() == DataType.INT32) {
                throw new IllegalArgumentException(
                        op + ": " + name + " must be quantized per tensor to 8 bits, got " + p);
            }
            return layoutChecked(name, q);
        }
        if (x.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException(
                    op + ": " + name + " must be FLOAT32 or quantized, got " + describe(x));
        }
        QuantInt8NDArray real = own(x);
        float[] range = finiteRange(name, real);
        QuantizationParameters p =
                QuantizationParameters.forRange(range[0], range[1], DataType.UINT8);
        QuantInt8NDArray q = temporary(real.getShape(), DataType.UINT8, p);
        if (real.isChannelsLast()) {
            q.markChannelsLast(); // element-wise: the codes keep the layout
        }
        ElementwiseKernels.quantize(
                real.getDataSegment(),
                q.getDataSegment(),
                QuantizedStorage.UINT8,
                ChannelLayout.perTensor(real.getShape().size()),
                p.getScales(),
                p.getZeroPoints());
        return q;
    }

    private QuantInt8NDArray layoutChecked(String name, QuantInt8NDArray x) {
        if (x.isChannelsLast() && !channelsLastAccepted) {
            throw new IllegalArgumentException(op + ": " + name + " is channels-last " + x.getShape()
                    + " (a fused convolution's output for another convolution), which " + op
                    + " does not read");
        }
        return x;
    }

    /** Returns [min, max] of an FP32 array, refusing NaN and infinite values. */
    float[] finiteRange(String name, QuantInt8NDArray x) {
        FloatRange range = ElementwiseKernels.range(x.getDataSegment(), x.getShape().size());
        if (!range.isFinite()) {
            throw new IllegalArgumentException(op + ": " + range.nonFiniteMessage(name));
        }
        return new float[] {range.min(), range.max()};
    }

    /** Reads an optional FP32 vector of the given length (a bias), or returns null. */
    float[] optionalVector(String name, NDArray x, long length) {
        if (x == null) {
            return null;
        }
        if (x.getDataType() != DataType.FLOAT32 || x.getShape().size() != length) {
            throw new IllegalArgumentException(
                    op + ": " + name + " must be FLOAT32 with " + length + " elements, got "
                            + describe(x));
        }
        return x.toFloatArray();
    }

    /**
     * Reads an optional FP32 vector of the given length (a bias) as memory, or returns null: a
     * QuantInt8 array's own memory, valid while it is open (a constant of the model stays so),
     * else a heap copy.
     */
    MemorySegment optionalVectorMemory(String name, NDArray x, long length) {
        if (x instanceof QuantInt8NDArray q && !q.isQuantized()
                && q.getDataType() == DataType.FLOAT32 && q.getShape().size() == length) {
            return q.getDataSegment();
        }
        float[] values = optionalVector(name, x, length);
        return values == null ? null : MemorySegment.ofArray(values);
    }

    private QuantInt8NDArray track(QuantInt8NDArray array) {
        temporaries.add(array);
        return array;
    }

    static String describe(NDArray x) {
        if (x == null) {
            return "null";
        }
        String quant = x instanceof QuantInt8NDArray q && q.isQuantized() ? " quantized" : "";
        return x.getDataType() + quant + " " + x.getClass().getSimpleName() + " of shape "
                + x.getShape();
    }

    /** Closes the temporaries. */
    @Override
    public void close() {
        for (NDArray t : temporaries) {
            t.close();
        }
        temporaries.clear();
    }
}
