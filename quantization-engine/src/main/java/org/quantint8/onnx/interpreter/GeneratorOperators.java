package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.OperatorSupport.input;
import static org.quantint8.onnx.interpreter.OperatorSupport.longs;
import static org.quantint8.onnx.interpreter.OperatorSupport.scalar;
import static org.quantint8.onnx.interpreter.OperatorSupport.single;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;

import java.util.Arrays;
import java.util.List;

/** Operators that make tensors: {@code Constant}, {@code ConstantOfShape} and {@code Range}. */
final class GeneratorOperators {

    /** Range refuses to make more elements than this (a guard against absurd limits). */
    private static final long MAX_RANGE = 1L << 28;

    private GeneratorOperators() {}

    static void register(OperatorRegistry registry) {
        registry.register("", "Constant", GeneratorOperators::constant);
        registry.register("", "ConstantOfShape", GeneratorOperators::constantOfShape);
        registry.register("", "Range", GeneratorOperators::range);
    }

    private static NDList constant(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        OnnxTensor tensor = node.getTensor("value", null);
        if (tensor != null) {
            return single(TensorConversion.toNDArray(context.manager(), tensor));
        }
        if (node.hasAttribute("value_float")) {
            return single(TensorConversion.owned(context.manager().create(node.getFloat("value_float", 0))));
        }
        if (node.hasAttribute("value_floats")) {
            return single(TensorConversion.owned(context.manager().create(node.getFloats("value_floats", null))));
        }
        if (node.hasAttribute("value_int")) {
            return single(TensorConversion.owned(context.manager().create(node.getInt("value_int", 0))));
        }
        if (node.hasAttribute("value_ints")) {
            return single(TensorConversion.owned(context.manager().create(node.getInts("value_ints", null))));
        }
        throw new IllegalArgumentException(
                "Constant has none of the supported value attributes (value, value_float(s),"
                        + " value_int(s)); attributes: " + node.getAttributes().keySet());
    }

    private static NDList constantOfShape(
            OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        Shape shape = new Shape(longs(input(inputs, 0)));
        OnnxTensor value = node.getTensor("value", null);
        if (value == null) {
            return single(context.manager().zeros(shape, DataType.FLOAT32));
        }
        if (value.getElementCount() != 1) {
            throw new IllegalArgumentException(
                    "ConstantOfShape's value must have one element, has " + value.getShape());
        }
        try (NDArray one = TensorConversion.toNDArray(context.manager(), value);
                NDArray lifted = one.reshape(new Shape(ones(shape.dimension())));
                NDArray expanded = lifted.broadcast(shape)) {
            return single(expanded.duplicate());
        }
    }

    private static long[] ones(int rank) {
        long[] dims = new long[rank];
        Arrays.fill(dims, 1);
        return dims;
    }

    /** {@code Range}: {@code max(ceil((limit - start) / delta), 0)} elements of the start's type. */
    private static NDList range(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray startArray = input(inputs, 0);
        DataType type = startArray.getDataType();
        double start = scalar(startArray);
        double limit = scalar(input(inputs, 1));
        double delta = scalar(input(inputs, 2));
        if (delta == 0) {
            throw new IllegalArgumentException("Range's delta is 0");
        }
        long count = (long) Math.max(Math.ceil((limit - start) / delta), 0);
        if (count > MAX_RANGE) {
            throw new IllegalArgumentException("Range would make " + count + " elements");
        }
        if (type.isInteger()) {
            long[] values = new long[(int) count];
            long s = (long) start;
            long d = (long) delta;
            for (int i = 0; i < count; i++) {
                values[i] = s + i * d;
            }
            return single(TensorConversion.owned(context.manager().create(values), type));
        }
        double[] values = new double[(int) count];
        for (int i = 0; i < count; i++) {
            values[i] = start + i * delta;
        }
        return single(TensorConversion.owned(context.manager().create(values), type));
    }
}
