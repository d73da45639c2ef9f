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
 * @param resultManager the manager the caller takes the graph's outputs into, or null
 * @param graphOutputs for each output of the node, whether it is an output of the graph
 * @param inputCodes the codes of the node's quantized input 0, shared with the other readers of
 *     its value when there are several
 */
public record OperatorContext(
        NDManager manager,
        QuantInt8NDManager quantManager,
        long opset,
        Map<Object, Object> nodeCache,
        boolean[] constantInputs,
        QuantInt8NDManager resultManager,
        boolean[] graphOutputs,
        InputCodes inputCodes) {

    /**
     * Creates the context of a node whose outputs all stay with the run.
     *
     * @param manager the manager of this run's FP32 and integer values
     * @param quantManager the QuantInt8 manager of this run
     * @param opset the model's default-domain opset version
     * @param nodeCache the node's cache
     * @param constantInputs which inputs are the same on every run
     */
    public OperatorContext(NDManager manager, QuantInt8NDManager quantManager, long opset,
            Map<Object, Object> nodeCache, boolean[] constantInputs) {
        this(manager, quantManager, opset, nodeCache, constantInputs, null, new boolean[0],
                InputCodes.UNSHARED);
    }

    /**
     * Returns the manager for a QuantInt8 array that will be the node's output {@code index}:
     * the caller's result manager when that output is a graph output (the caller then takes it
     * without a copy out of the run's memory, which is freed when the run ends), else the run's.
     * Large outputs gain nothing (the run hands their memory over as it is), so this is for the
     * many small ones, such as a decoder's key/value cache.
     *
     * @param index the output index
     * @return the manager to create that output in
     */
    public QuantInt8NDManager outputManager(int index) {
        boolean graphOutput = index < graphOutputs.length && graphOutputs[index];
        return graphOutput && resultManager != null ? resultManager : quantManager;
    }

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
