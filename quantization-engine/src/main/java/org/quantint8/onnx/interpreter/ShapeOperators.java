package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.OperatorSupport.axes;
import static org.quantint8.onnx.interpreter.OperatorSupport.axesAttributeOrInput;
import static org.quantint8.onnx.interpreter.OperatorSupport.axis;
import static org.quantint8.onnx.interpreter.OperatorSupport.input;
import static org.quantint8.onnx.interpreter.OperatorSupport.longs;
import static org.quantint8.onnx.interpreter.OperatorSupport.optionalInput;
import static org.quantint8.onnx.interpreter.OperatorSupport.single;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

import org.quantint8.onnx.OnnxNode;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Operators that rearrange data without computing on it: {@code Reshape}, {@code Transpose},
 * {@code Unsqueeze}, {@code Squeeze}, {@code Flatten}, {@code Shape}, {@code Concat},
 * {@code Split} and {@code Expand}. {@code Slice} and {@code Gather} are in {@link
 * IndexingOperators}.
 */
final class ShapeOperators {

    private ShapeOperators() {}

    static void register(OperatorRegistry registry) {
        registry.register("", "Reshape", OnnxOperator.readingInPlace(ShapeOperators::reshape, 1));
        registry.register("", "Transpose", ShapeOperators::transpose);
        registry.register("", "Unsqueeze",
                OnnxOperator.readingInPlace(ShapeOperators::unsqueeze, 1));
        registry.register("", "Squeeze", ShapeOperators::squeeze);
        registry.register("", "Flatten", ShapeOperators::flatten);
        registry.register("", "Shape", ShapeOperators::shape);
        registry.register("", "Concat", ShapeOperators::concat);
        registry.register("", "Split", ShapeOperators::split);
        registry.register("", "Expand", ShapeOperators::expand);
    }

    private static NDList reshape(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        long[] requested =
                context.opset() >= 5
                        ? longs(input(inputs, 1))
                        : node.getInts("shape", new long[0]);
        boolean allowZero = node.getInt("allowzero", 0) != 0;
        return single(x.reshape(resolveShape(x.getShape(), requested, allowZero)));
    }

    /**
     * Resolves a {@code Reshape} target: 0 copies the input dimension (unless {@code allowzero}),
     * -1 is inferred from the element count.
     */
    static Shape resolveShape(Shape input, long[] requested, boolean allowZero) {
        long[] dims = requested.clone();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == 0 && !allowZero) {
                if (i >= input.dimension()) {
                    throw new IllegalArgumentException(
                            "shape " + Arrays.toString(requested) + " copies dimension " + i
                                    + " of " + input + ", which has none");
                }
                dims[i] = input.get(i);
            }
            if (dims[i] == -1) {
                if (inferred >= 0) {
                    throw new IllegalArgumentException(
                            "shape " + Arrays.toString(requested) + " has two -1 dimensions");
                }
                inferred = i;
            } else if (dims[i] < 0) {
                throw new IllegalArgumentException(
                        "shape " + Arrays.toString(requested) + " has a negative dimension");
            } else {
                known = Math.multiplyExact(known, dims[i]);
            }
        }
        if (inferred >= 0) {
            if (known == 0 || input.size() % known != 0) {
                throw new IllegalArgumentException(
                        "cannot reshape " + input + " to " + Arrays.toString(requested));
            }
            dims[inferred] = input.size() / known;
        } else if (known != input.size()) {
            throw new IllegalArgumentException(
                    "cannot reshape " + input + " (" + input.size() + " elements) to "
                            + Arrays.toString(requested));
        }
        return new Shape(dims);
    }

    private static NDList transpose(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        int rank = x.getShape().dimension();
        long[] perm = node.getInts("perm", null);
        int[] axes = new int[rank];
        for (int i = 0; i < rank; i++) {
            axes[i] = perm == null ? rank - 1 - i : axis(perm[i], rank);
        }
        if (perm != null && perm.length != rank) {
            throw new IllegalArgumentException(
                    "perm " + Arrays.toString(perm) + " does not match rank " + rank);
        }
        return single(x.transpose(axes));
    }

    private static NDList unsqueeze(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        long[] requested = axesAttributeOrInput(context, node, inputs, 1, 13);
        if (requested == null) {
            throw new IllegalArgumentException("Unsqueeze needs axes");
        }
        int[] axes = axes(requested, x.getShape().dimension() + requested.length);
        long[] dims = new long[x.getShape().dimension() + axes.length];
        for (int i = 0, a = 0, d = 0; i < dims.length; i++) {
            if (a < axes.length && axes[a] == i) {
                dims[i] = 1;
                a++;
            } else {
                dims[i] = x.getShape().get(d++);
            }
        }
        return single(x.reshape(new Shape(dims)));
    }

    private static NDList squeeze(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        Shape shape = x.getShape();
        long[] requested = axesAttributeOrInput(context, node, inputs, 1, 13);
        int[] axes;
        if (requested == null) {
            axes = IntStream.range(0, shape.dimension())
                    .filter(i -> shape.get(i) == 1)
                    .toArray();
        } else {
            axes = axes(requested, shape.dimension());
        }
        long[] dims = new long[shape.dimension() - axes.length];
        for (int i = 0, a = 0, d = 0; i < shape.dimension(); i++) {
            if (a < axes.length && axes[a] == i) {
                if (shape.get(i) != 1) {
                    throw new IllegalArgumentException(
                            "cannot squeeze axis " + i + " of " + shape + ": it is not 1");
                }
                a++;
            } else {
                dims[d++] = shape.get(i);
            }
        }
        return single(x.reshape(new Shape(dims)));
    }

    private static NDList flatten(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        Shape shape = x.getShape();
        long at = node.getInt("axis", 1);
        int axis = at == shape.dimension() ? shape.dimension() : axis(at, shape.dimension());
        long outer = 1;
        long inner = 1;
        for (int i = 0; i < shape.dimension(); i++) {
            if (i < axis) {
                outer *= shape.get(i);
            } else {
                inner *= shape.get(i);
            }
        }
        return single(x.reshape(outer, inner));
    }

    private static NDList shape(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        long[] dims = input(inputs, 0).getShape().getShape();
        int rank = dims.length;
        int start = clampAxis(node.getInt("start", 0), rank);
        int end = clampAxis(node.getInt("end", rank), rank);
        long[] part = Arrays.copyOfRange(dims, start, Math.max(start, end));
        return single(TensorConversion.owned(context.manager().create(part)));
    }

    /** {@code Shape}'s start and end: negative counts from the end, then clamped to the rank. */
    private static int clampAxis(long value, int rank) {
        long v = value < 0 ? value + rank : value;
        return (int) Math.max(0, Math.min(rank, v));
    }

    private static NDList concat(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray first = input(inputs, 0);
        int axis = axis(node.getInt("axis", 0), first.getShape().dimension());
        if (inputs.size() == 1) {
            return single(first);
        }
        NDList list = new NDList(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            list.add(input(inputs, i));
        }
        return single(NDArrays.concat(list, axis));
    }

    private static NDList split(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        int axis = axis(node.getInt("axis", 0), x.getShape().dimension());
        long dim = x.getShape().get(axis);
        NDArray splitInput = context.opset() >= 13 ? optionalInput(inputs, 1) : null;
        long[] sizes = splitInput != null ? longs(splitInput) : node.getInts("split", null);
        int count = node.getOutputs().size();
        if (sizes == null) {
            long parts = node.getInt("num_outputs", count);
            long chunk = (dim + parts - 1) / parts;
            sizes = new long[(int) parts];
            for (int i = 0; i < parts; i++) {
                sizes[i] = Math.max(0, Math.min(chunk, dim - i * chunk));
            }
        }
        if (Arrays.stream(sizes).sum() != dim || Arrays.stream(sizes).anyMatch(s -> s < 0)) {
            throw new IllegalArgumentException(
                    "split sizes " + Arrays.toString(sizes) + " do not add up to " + dim);
        }
        NDList outputs = new NDList(sizes.length);
        long offset = 0;
        for (long size : sizes) {
            outputs.add(x.get(NDIndex.sliceAxis(axis, offset, offset + size)));
            offset += size;
        }
        return outputs;
    }

    private static NDList expand(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        Shape target = OperatorSupport.broadcast(x.getShape(), new Shape(longs(input(inputs, 1))));
        return single(OperatorSupport.broadcastTo(x, target));
    }
}
