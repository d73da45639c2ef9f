package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import org.quantint8.onnx.OnnxNode;

import java.util.Arrays;
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

    /**
     * Returns whether an input, when it is a constant of the model, may be passed as the model
     * holds it instead of as a view owned by the run, which costs an engine call to make and one
     * to close, per input and run (a model has hundreds of constant inputs). Only for an input
     * that the operator reads (values, shape, type) or derives node-cache entries from, and never
     * returns: an array that an engine operation makes from it would belong to the model's
     * manager, not the run's.
     *
     * @param input the input's index
     * @return {@code false}, unless the operator was made by {@link #readingInPlace}
     */
    default boolean readsInPlace(int input) {
        return false;
    }

    /**
     * Returns the operator, declared to read the given inputs in place ({@link #readsInPlace}).
     *
     * @param operator the operator
     * @param inputs the indices of the inputs it only reads
     * @return the same operator with the declaration
     */
    static OnnxOperator readingInPlace(OnnxOperator operator, int... inputs) {
        int[] sorted = inputs.clone();
        Arrays.sort(sorted);
        return new OnnxOperator() {
            @Override
            public NDList apply(OperatorContext context, OnnxNode node, List<NDArray> values) {
                return operator.apply(context, node, values);
            }

            @Override
            public boolean readsInPlace(int input) {
                return Arrays.binarySearch(sorted, input) >= 0;
            }
        };
    }
}
