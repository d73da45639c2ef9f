package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.OperatorSupport.input;
import static org.quantint8.onnx.interpreter.OperatorSupport.optionalInput;
import static org.quantint8.onnx.interpreter.OperatorSupport.single;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;

import org.quantint8.onnx.OnnxNode;

import java.util.List;
import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;

/**
 * Element-wise operators: arithmetic, comparisons and logic with multidirectional broadcasting,
 * unary math, {@code Cast}, {@code Clip} and {@code Where}.
 */
final class ElementwiseOperators {

    private ElementwiseOperators() {}

    static void register(OperatorRegistry registry) {
        binary(registry, "Add", NDArray::add);
        binary(registry, "Sub", NDArray::sub);
        binary(registry, "Mul", NDArray::mul);
        binary(registry, "Div", ElementwiseOperators::div);
        binary(registry, "Pow", ElementwiseOperators::pow);
        binary(registry, "Equal", NDArray::eq);
        binary(registry, "Less", NDArray::lt);
        binary(registry, "LessOrEqual", NDArray::lte);
        binary(registry, "Greater", NDArray::gt);
        binary(registry, "GreaterOrEqual", NDArray::gte);
        binary(registry, "And", NDArray::logicalAnd);
        binary(registry, "Or", NDArray::logicalOr);
        binary(registry, "Xor", NDArray::logicalXor);
        variadic(registry, "Max", NDArray::maximum);
        variadic(registry, "Min", NDArray::minimum);
        variadic(registry, "Sum", NDArray::add);
        unary(registry, "Sqrt", NDArray::sqrt);
        unary(registry, "Erf", NDArray::erf);
        unary(registry, "Tanh", NDArray::tanh);
        unary(registry, "Exp", NDArray::exp);
        unary(registry, "Log", NDArray::log);
        unary(registry, "Abs", NDArray::abs);
        unary(registry, "Neg", NDArray::neg);
        unary(registry, "Floor", NDArray::floor);
        unary(registry, "Ceil", NDArray::ceil);
        unary(registry, "Sin", NDArray::sin);
        unary(registry, "Cos", NDArray::cos);
        unary(registry, "Not", NDArray::logicalNot);
        unary(registry, "Sigmoid", Activation::sigmoid);
        unary(registry, "Relu", Activation::relu);
        unary(registry, "Reciprocal", x -> x.pow(-1));
        registry.register("", "Identity", (c, n, in) -> single(input(in, 0)));
        registry.register("", "Cast", ElementwiseOperators::cast);
        registry.register("", "CastLike", (c, n, in) ->
                single(input(in, 0).toType(input(in, 1).getDataType(), false)));
        registry.register("", "Clip", ElementwiseOperators::clip);
        registry.register("", "Where", ElementwiseOperators::where);
    }

    private static void binary(OperatorRegistry registry, String opType, BinaryOperator<NDArray> f) {
        registry.register("", opType, (c, n, in) -> single(f.apply(input(in, 0), input(in, 1))));
    }

    private static void unary(OperatorRegistry registry, String opType, UnaryOperator<NDArray> f) {
        registry.register("", opType, (c, n, in) -> single(f.apply(input(in, 0))));
    }

    private static void variadic(
            OperatorRegistry registry, String opType, BinaryOperator<NDArray> f) {
        registry.register(
                "",
                opType,
                (c, n, in) -> {
                    NDArray result = input(in, 0);
                    for (int i = 1; i < in.size(); i++) {
                        NDArray next = f.apply(result, input(in, i));
                        if (i > 1) {
                            result.close();
                        }
                        result = next;
                    }
                    return single(result);
                });
    }

    /**
     * ONNX's {@code Where} broadcasts its three inputs together (a GPT-2 causal mask {@code [q,
     * k]} against scores {@code [batch, heads, q, k]}); DJL's {@code where} needs equal shapes.
     */
    private static NDList where(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray condition = input(inputs, 0);
        NDArray x = input(inputs, 1);
        NDArray y = input(inputs, 2);
        Shape target = OperatorSupport.broadcast(
                OperatorSupport.broadcast(condition.getShape(), x.getShape()), y.getShape());
        NDArray[] operands = {condition, x, y};
        NDArray[] broadcast = new NDArray[operands.length];
        try {
            for (int i = 0; i < operands.length; i++) {
                broadcast[i] = OperatorSupport.broadcastTo(operands[i], target);
            }
            return single(NDArrays.where(broadcast[0], broadcast[1], broadcast[2]));
        } finally {
            for (int i = 0; i < operands.length; i++) {
                if (broadcast[i] != null && broadcast[i] != operands[i]) {
                    broadcast[i].close();
                }
            }
        }
    }

    /** Integer division truncates toward zero, as in C; float division is IEEE. */
    private static NDArray div(NDArray a, NDArray b) {
        DataType type = a.getDataType();
        if (!type.isInteger()) {
            return a.div(b);
        }
        try (NDArray wideA = a.toType(DataType.FLOAT64, true);
                NDArray wideB = b.toType(DataType.FLOAT64, true);
                NDArray quotient = wideA.div(wideB);
                NDArray truncated = quotient.trunc()) {
            return truncated.toType(type, true);
        }
    }

    /** The result has the base's type, whatever the exponent's. */
    private static NDArray pow(NDArray base, NDArray exponent) {
        NDArray result = base.pow(exponent);
        if (result.getDataType() == base.getDataType()) {
            return result;
        }
        try (result) {
            return result.toType(base.getDataType(), true);
        }
    }

    private static NDList cast(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        DataType target = OperatorSupport.dataType(node.getInt("to", 0));
        NDArray x = input(inputs, 0);
        if (x.getDataType() == target) {
            return single(x);
        }
        return single(x.toType(target, true));
    }

    private static NDList clip(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        if (context.opset() < 11) {
            float min = node.getFloat("min", Float.NEGATIVE_INFINITY);
            float max = node.getFloat("max", Float.POSITIVE_INFINITY);
            return single(x.clip(min, max));
        }
        NDArray min = optionalInput(inputs, 1);
        NDArray max = optionalInput(inputs, 2);
        NDArray result = min == null ? x : x.maximum(min);
        if (max != null) {
            NDArray upper = result.minimum(max);
            if (result != x) {
                result.close();
            }
            result = upper;
        }
        return single(result);
    }
}
