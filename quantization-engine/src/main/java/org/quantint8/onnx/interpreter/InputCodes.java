package org.quantint8.onnx.interpreter;

import org.quantint8.ndarray.QuantInt8NDArray;

import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The 8-bit codes of a fused operator's quantized FP32 input ({@code QuantizeConv}, a
 * per-tensor {@code QuantizeMatMul}; over its range or with static parameters). Each node
 * quantizes for itself, unless several such nodes read the same value in a run (a ResNet block's first
 * convolution and its shortcut read the block's input; a transformer's Q, K and V projections
 * their normalized input): then the first quantizes, the others take its codes, and the last to
 * release them closes them. The codes depend on the value alone (and a static node's
 * parameters: only readers that quantize alike share), so sharing changes no bit.
 */
public interface InputCodes {

    /** Codes quantized by and for one node. */
    InputCodes UNSHARED = new InputCodes() {
        @Override
        public QuantInt8NDArray get(Supplier<QuantInt8NDArray> quantize) {
            return quantize.get();
        }

        @Override
        public void release(QuantInt8NDArray codes) {
            codes.close();
        }
    };

    /**
     * Returns the codes of the input, quantizing it unless another reader did.
     *
     * @param quantize quantizes the input, in the run's QuantInt8 manager
     * @return the codes, to be given back with {@link #release}, never closed by the caller
     */
    QuantInt8NDArray get(Supplier<QuantInt8NDArray> quantize);

    /**
     * Gives the codes back: they are closed when no other reader will need them.
     *
     * @param codes what {@link #get} returned
     */
    void release(QuantInt8NDArray codes);

    /**
     * Runs {@code use} on the codes ({@link #get}) and gives them back ({@link #release}), also
     * when it throws.
     *
     * @param quantize quantizes the input, in the run's QuantInt8 manager
     * @param use what reads the codes; it must not close them
     * @param <R> the result type
     * @return what {@code use} returned
     */
    default <R> R apply(Supplier<QuantInt8NDArray> quantize,
            Function<QuantInt8NDArray, R> use) {
        QuantInt8NDArray codes = get(quantize);
        try {
            return use.apply(codes);
        } finally {
            release(codes);
        }
    }
}
