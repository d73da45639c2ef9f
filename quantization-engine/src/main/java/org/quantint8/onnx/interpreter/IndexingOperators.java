package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.OperatorSupport.axes;
import static org.quantint8.onnx.interpreter.OperatorSupport.axis;
import static org.quantint8.onnx.interpreter.OperatorSupport.input;
import static org.quantint8.onnx.interpreter.OperatorSupport.longs;
import static org.quantint8.onnx.interpreter.OperatorSupport.optionalInput;
import static org.quantint8.onnx.interpreter.OperatorSupport.single;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

import org.quantint8.onnx.OnnxNode;

import java.util.Arrays;
import java.util.List;

/** Operators that select elements: {@code Gather} and {@code Slice}. */
final class IndexingOperators {

    private IndexingOperators() {}

    static void register(OperatorRegistry registry) {
        registry.register("", "Gather", IndexingOperators::gather);
        registry.register("", "Slice", IndexingOperators::slice);
    }

    /** Gather along an axis; negative indices count from the end, others must be in range. */
    private static NDList gather(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray data = input(inputs, 0);
        NDArray indices = input(inputs, 1);
        Shape shape = data.getShape();
        int axis = axis(node.getInt("axis", 0), shape.dimension());
        long dim = shape.get(axis);
        // The indices are checked and made non-negative in Java: a handful of values, where a
        // chain of engine operators (lt, add, where, min, max) cost a round trip each.
        long[] values = longs(indices);
        for (int i = 0; i < values.length; i++) {
            long v = values[i];
            if (v < -dim || v >= dim) {
                throw new IllegalArgumentException("index " + v + " out of range [" + -dim + ", "
                        + dim + ") on axis " + axis + " of " + shape);
            }
            values[i] = v < 0 ? v + dim : v;
        }
        try (NDArray index = indices.getManager().create(values, indices.getShape())) {
            NDIndex selection = new NDIndex();
            for (int i = 0; i < axis; i++) {
                selection.addAllDim();
            }
            selection.addIndices("{}", index);
            return single(data.get(selection));
        }
    }

    /**
     * Slice with starts, ends, axes and steps (attributes before opset 10, inputs after),
     * clamped as ONNX specifies; negative steps walk backwards.
     */
    private static NDList slice(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray data = input(inputs, 0);
        Shape shape = data.getShape();
        int rank = shape.dimension();
        long[] starts;
        long[] ends;
        long[] axesValues;
        long[] steps;
        if (context.opset() >= 10) {
            starts = longs(input(inputs, 1));
            ends = longs(input(inputs, 2));
            NDArray axesInput = optionalInput(inputs, 3);
            NDArray stepsInput = optionalInput(inputs, 4);
            axesValues = axesInput == null ? null : longs(axesInput);
            steps = stepsInput == null ? null : longs(stepsInput);
        } else {
            starts = node.getInts("starts", new long[0]);
            ends = node.getInts("ends", new long[0]);
            axesValues = node.getInts("axes", null);
            steps = null;
        }
        if (axesValues == null) {
            axesValues = new long[starts.length];
            Arrays.setAll(axesValues, i -> i);
        }
        if (steps == null) {
            steps = new long[starts.length];
            Arrays.fill(steps, 1);
        }
        if (ends.length != starts.length
                || axesValues.length != starts.length
                || steps.length != starts.length) {
            throw new IllegalArgumentException(
                    "starts, ends, axes and steps differ in length: " + starts.length + ", "
                            + ends.length + ", " + axesValues.length + ", " + steps.length);
        }
        axes(axesValues, rank); // checks range and repetition
        long[][] bounds = new long[rank][];
        for (int i = 0; i < starts.length; i++) {
            int axis = axis(axesValues[i], rank);
            bounds[axis] = clamp(starts[i], ends[i], steps[i], shape.get(axis));
        }
        return single(apply(context, data, bounds));
    }

    /** Returns {start, end, step} clamped to a dimension, as ONNX's Slice does. */
    private static long[] clamp(long start, long end, long step, long dim) {
        if (step == 0) {
            throw new IllegalArgumentException("slice step is 0");
        }
        long s = start < 0 ? start + dim : start;
        long e = end < 0 ? end + dim : end;
        if (step > 0) {
            s = Math.max(0, Math.min(dim, s));
            e = Math.max(0, Math.min(dim, e));
        } else {
            s = Math.max(0, Math.min(dim - 1, s));
            e = Math.max(-1, Math.min(dim - 1, e));
        }
        return new long[] {s, e, step};
    }

    private static NDArray apply(OperatorContext context, NDArray data, long[][] bounds) {
        NDIndex forward = new NDIndex();
        boolean backward = false;
        for (long[] b : bounds) {
            if (b == null) {
                forward.addAllDim();
            } else if (b[2] > 0) {
                forward.addSliceDim(b[0], Math.max(b[0], b[1]), b[2]);
            } else {
                forward.addAllDim();
                backward = true;
            }
        }
        NDArray result = data.get(forward);
        if (!backward) {
            return result;
        }
        for (int axis = 0; axis < bounds.length; axis++) {
            long[] b = bounds[axis];
            if (b == null || b[2] > 0) {
                continue;
            }
            long count = b[0] > b[1] ? (b[0] - b[1] - b[2] - 1) / -b[2] : 0;
            long[] picks = new long[(int) count];
            for (int i = 0; i < count; i++) {
                picks[i] = b[0] + i * b[2];
            }
            NDIndex selection = new NDIndex();
            for (int i = 0; i < axis; i++) {
                selection.addAllDim();
            }
            try (NDArray index = context.manager().create(picks);
                    NDArray previous = result) {
                selection.addIndices("{}", index);
                result = previous.get(selection);
            }
        }
        return result;
    }
}
