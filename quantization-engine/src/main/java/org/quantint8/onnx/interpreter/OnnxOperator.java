package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import org.quantint8.onnx.OnnxNode;

import java.util.List;

/**
 * The implementation of one ONNX operator type on DJL NDArrays.
 *
 * <p>An operator is stateless; whatever it wants to keep between runs of the same node (a
 * transposed or quantized constant weight, say) goes into {@link OperatorContext#nodeCache()}.
 */
@FunctionalInterface
public interface OnnxOperator {

    /**
     * Runs one node.
     *
     * @param context the run's managers, the opset and the node's cache
     * @param node the node, for its attributes
     * @param inputs the input values in the node's order; {@code null} for an omitted optional
     *     input (an empty name in the graph)
     * @return the outputs, in the node's order (an operator may return fewer than the node names
     *     when trailing optional outputs are not produced)
     * @throws IllegalArgumentException if an input or attribute is invalid; the message need not
     *     name the node, the interpreter adds it
     */
    NDList apply(OperatorContext context, OnnxNode node, List<NDArray> inputs);
}
