package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDManager;

import org.quantint8.ndarray.QuantInt8NDManager;

import java.util.Map;

/**
 * What an operator may use while it runs one node.
 *
 * @param manager the manager of this run's FP32 and integer values (the alternative engine's, so
 *     that chains of FP32 operators run without copies); results attached to it are freed after
 *     the run
 * @param quantManager the QuantInt8 manager of this run, for quantized values
 * @param opset the model's default-domain opset version
 * @param nodeCache a map that lives as long as the loaded model, private to this node; values that
 *     are {@link AutoCloseable} are closed with the model
 * @param constantInputs for each input of the node, whether its value is the same on every run
 *     (an initializer, or the output of a {@code Constant} node)
 */
public record OperatorContext(
        NDManager manager,
        QuantInt8NDManager quantManager,
        long opset,
        Map<Object, Object> nodeCache,
        boolean[] constantInputs) {

    /**
     * Returns whether an input is the same on every run.
     *
     * @param index the input index
     * @return {@code true} for an initializer or a {@code Constant} output
     */
    public boolean isConstant(int index) {
        return index < constantInputs.length && constantInputs[index];
    }
}
