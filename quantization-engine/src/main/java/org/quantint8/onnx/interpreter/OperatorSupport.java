package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxNode;

import java.util.Arrays;
import java.util.List;

/**
 * Helpers shared by the standard operators: reading inputs, normalizing axes and broadcasting
 * shapes the ONNX way. Every check throws {@link IllegalArgumentException} with a message that
 * says what was wrong; the interpreter adds the node.
 */
final class OperatorSupport {

    private OperatorSupport() {}

    /**
     * Returns a required input.
     *
     * @param inputs the node's inputs
     * @param index the input index
     * @return the input
     * @throws IllegalArgumentException if the input is missing
     */
    static NDArray input(List<NDArray> inputs, int index) {
        NDArray array = optionalInput(inputs, index);
        if (array == null) {
            throw new IllegalArgumentException("input " + index + " is required but missing");
        }
        return array;
    }

    /**
     * Returns an optional input.
     *
     * @param inputs the node's inputs
     * @param index the input index
     * @return the input, or {@code null} if omitted
     */
    static NDArray optionalInput(List<NDArray> inputs, int index) {
        return index < inputs.size() ? inputs.get(index) : null;
    }

    /**
     * Returns the values of an integer tensor (a shape, axes, starts...), as ONNX reads them.
     *
     * @param array an integer array of rank 0 or 1
     * @return its values
     * @throws IllegalArgumentException if the array is not an integer tensor
     */
    static long[] longs(NDArray array) {
        DataType type = array.getDataType();
        if (!type.isInteger()) {
            throw new IllegalArgumentException(
                    "expected an integer tensor of shape values, got " + type);
        }
        if (type == DataType.INT64) {
            return array.toLongArray();
        }
        try (NDArray wide = array.toType(DataType.INT64, true)) {
            return wide.toLongArray();
        }
    }

    /**
     * Returns a scalar input as a double.
     *
     * @param array a tensor of one element
     * @return its value
     * @throws IllegalArgumentException if the tensor does not have exactly one element
     */
    static double scalar(NDArray array) {
        if (array.size() != 1) {
            throw new IllegalArgumentException(
                    "expected a scalar, got shape " + array.getShape());
        }
        try (NDArray wide = array.toType(DataType.FLOAT64, true)) {
            return wide.toDoubleArray()[0];
        }
    }

    /**
     * Normalizes an axis: a negative axis counts from the end.
     *
     * @param axis the axis, in {@code [-rank, rank)}
     * @param rank the rank
     * @return the axis in {@code [0, rank)}
     * @throws IllegalArgumentException if the axis is out of range
     */
    static int axis(long axis, int rank) {
        if (axis < -rank || axis >= rank) {
            throw new IllegalArgumentException(
                    "axis " + axis + " is out of range for rank " + rank);
        }
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /**
     * Normalizes a list of axes, which must be distinct.
     *
     * @param axes the axes, each in {@code [-rank, rank)}
     * @param rank the rank
     * @return the axes in {@code [0, rank)}, sorted
     * @throws IllegalArgumentException if an axis is out of range or repeated
     */
    static int[] axes(long[] axes, int rank) {
        int[] result = new int[axes.length];
        for (int i = 0; i < axes.length; i++) {
            result[i] = axis(axes[i], rank);
        }
        Arrays.sort(result);
        for (int i = 1; i < result.length; i++) {
            if (result[i] == result[i - 1]) {
                throw new IllegalArgumentException("axes " + Arrays.toString(axes) + " repeat");
            }
        }
        return result;
    }

    /**
     * Returns an axes list that is an attribute before some opset version and an input after.
     *
     * @param context the run context, for the opset
     * @param node the node, for the attribute
     * @param inputs the node's inputs
     * @param inputIndex the index of the axes input in later opsets
     * @param inputSince the opset from which the axes are an input
     * @return the axes, or {@code null} if none are given
     */
    static long[] axesAttributeOrInput(
            OperatorContext context,
            OnnxNode node,
            List<NDArray> inputs,
            int inputIndex,
            long inputSince) {
        if (context.opset() >= inputSince) {
            NDArray axes = optionalInput(inputs, inputIndex);
            return axes == null ? null : longs(axes);
        }
        return node.getInts("axes", null);
    }

    /**
     * Returns the shape of the multidirectional (numpy) broadcast of two shapes.
     *
     * @param a the first shape
     * @param b the second shape
     * @return the broadcast shape
     * @throws IllegalArgumentException if the shapes are not compatible
     */
    static Shape broadcast(Shape a, Shape b) {
        int rank = Math.max(a.dimension(), b.dimension());
        long[] dims = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = dimFromEnd(a, rank - 1 - i);
            long db = dimFromEnd(b, rank - 1 - i);
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(
                        "shapes " + a + " and " + b + " cannot be broadcast together");
            }
            dims[i] = da == 1 ? db : da;
        }
        return new Shape(dims);
    }

    /**
     * Returns an array broadcast to a shape it is compatible with, lifting a lower rank with
     * leading 1s first (DJL's {@code broadcast} wants equal ranks); the array itself if it already
     * has the shape.
     *
     * @param x the array
     * @param target the shape, the broadcast of {@code x}'s with others
     * @return the broadcast array, or {@code x}
     */
    static NDArray broadcastTo(NDArray x, Shape target) {
        if (target.equals(x.getShape())) {
            return x;
        }
        if (x.getShape().dimension() < target.dimension()) {
            long[] dims = new long[target.dimension()];
            Arrays.fill(dims, 1);
            long[] own = x.getShape().getShape();
            System.arraycopy(own, 0, dims, dims.length - own.length, own.length);
            try (NDArray lifted = x.reshape(new Shape(dims))) {
                return lifted.broadcast(target);
            }
        }
        return x.broadcast(target);
    }

    private static long dimFromEnd(Shape shape, int fromEnd) {
        int index = shape.dimension() - 1 - fromEnd;
        return index < 0 ? 1 : shape.get(index);
    }

    /**
     * Returns the DJL type of an ONNX type code (the {@code to} of {@code Cast}, say).
     *
     * @param code the {@code TensorProto.DataType} number
     * @return the DJL type
     * @throws IllegalArgumentException if the code is unknown or DJL has no such type
     */
    static DataType dataType(long code) {
        OnnxDataType type = OnnxDataType.fromCode(code);
        if (type == null || type.toDjl() == null || type.toDjl() == DataType.UNKNOWN) {
            throw new IllegalArgumentException("ONNX data type " + code + " has no DJL type");
        }
        return type.toDjl();
    }

    /**
     * Wraps one output.
     *
     * @param array the output
     * @return a list of it
     */
    static NDList single(NDArray array) {
        return new NDList(array);
    }
}
