package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.OperatorSupport.axes;
import static org.quantint8.onnx.interpreter.OperatorSupport.axesAttributeOrInput;
import static org.quantint8.onnx.interpreter.OperatorSupport.axis;
import static org.quantint8.onnx.interpreter.OperatorSupport.input;
import static org.quantint8.onnx.interpreter.OperatorSupport.single;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;

import org.quantint8.onnx.OnnxNode;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Reductions over axes ({@code ReduceMean}, {@code ReduceSum}, {@code ReduceMax}, {@code
 * ReduceMin}, {@code ReduceProd}) and the normalizations along one axis ({@code Softmax}, {@code
 * LogSoftmax}).
 */
final class ReductionOperators {

    /** A DJL reduction: the array, the axes, whether to keep them. */
    @FunctionalInterface
    interface Reduction {
        NDArray reduce(NDArray x, int[] axes, boolean keepDims);
    }

    private ReductionOperators() {}

    static void register(OperatorRegistry registry) {
        reduce(registry, "ReduceMean", 18, NDArray::mean);
        reduce(registry, "ReduceSum", 13, NDArray::sum);
        reduce(registry, "ReduceMax", 18, NDArray::max);
        reduce(registry, "ReduceMin", 18, NDArray::min);
        reduce(registry, "ReduceProd", 18, NDArray::prod);
        registry.register("", "Softmax", (c, n, in) -> softmax(c, n, in, false));
        registry.register("", "LogSoftmax", (c, n, in) -> softmax(c, n, in, true));
    }

    /**
     * Registers a reduction whose axes become an input in opset {@code axesInputSince}; no axes
     * means all axes, unless {@code noop_with_empty_axes} is set.
     */
    private static void reduce(
            OperatorRegistry registry, String opType, long axesInputSince, Reduction reduction) {
        registry.register(
                "",
                opType,
                (context, node, inputs) -> {
                    NDArray x = input(inputs, 0);
                    int rank = x.getShape().dimension();
                    long[] requested =
                            axesAttributeOrInput(context, node, inputs, 1, axesInputSince);
                    boolean keepDims = node.getInt("keepdims", 1) != 0;
                    if (requested == null || requested.length == 0) {
                        if (node.getInt("noop_with_empty_axes", 0) != 0) {
                            return single(x);
                        }
                        requested = IntStream.range(0, rank).asLongStream().toArray();
                    }
                    if (rank == 0) {
                        return single(x);
                    }
                    return single(reduce(x, axes(requested, rank), keepDims, reduction));
                });
    }

    /**
     * Reduces over several axes one at a time (PyTorch's DJL binding reduces one axis per call),
     * from the last, keeping dimensions until the end.
     *
     * @param x the input
     * @param axes the axes, sorted, in {@code [0, rank)}
     * @param keepDims whether the reduced axes stay as dimensions of size 1
     * @param reduction the reduction
     * @return the result
     */
    static NDArray reduce(NDArray x, int[] axes, boolean keepDims, Reduction reduction) {
        NDArray result = x;
        for (int i = axes.length - 1; i >= 0; i--) {
            NDArray next = reduction.reduce(result, new int[] {axes[i]}, true);
            if (result != x) {
                result.close();
            }
            result = next;
        }
        if (keepDims) {
            return result;
        }
        long[] dims = new long[x.getShape().dimension() - axes.length];
        for (int i = 0, a = 0, d = 0; i < x.getShape().dimension(); i++) {
            if (a < axes.length && axes[a] == i) {
                a++;
            } else {
                dims[d++] = x.getShape().get(i);
            }
        }
        try (NDArray kept = result) {
            return kept.reshape(new Shape(dims));
        }
    }

    /**
     * Softmax: along one axis from opset 13; before, over the input coerced to 2-D at the axis
     * (all dimensions from the axis on form one row).
     */
    private static NDList softmax(
            OperatorContext context, OnnxNode node, List<NDArray> inputs, boolean log) {
        NDArray x = input(inputs, 0);
        Shape shape = x.getShape();
        int rank = shape.dimension();
        if (context.opset() >= 13) {
            int axis = axis(node.getInt("axis", -1), rank);
            return single(log ? x.logSoftmax(axis) : x.softmax(axis));
        }
        int axis = axis(node.getInt("axis", 1), rank);
        if (axis == rank - 1) {
            return single(log ? x.logSoftmax(axis) : x.softmax(axis));
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape.get(i);
        }
        long inner = outer == 0 ? 0 : shape.size() / outer;
        try (NDArray flat = x.reshape(outer, inner);
                NDArray normalized = log ? flat.logSoftmax(1) : flat.softmax(1)) {
            return single(normalized.reshape(shape));
        }
    }
}
