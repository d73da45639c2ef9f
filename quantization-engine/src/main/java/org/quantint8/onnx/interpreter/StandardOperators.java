package org.quantint8.onnx.interpreter;

/**
 * The standard ONNX operators on FP32 and integer tensors, by family: element-wise, shape,
 * indexing, reduction, tensor generation and neural-network operators.
 */
final class StandardOperators {

    private StandardOperators() {}

    static void registerAll(OperatorRegistry registry) {
        ElementwiseOperators.register(registry);
        ShapeOperators.register(registry);
        IndexingOperators.register(registry);
        ReductionOperators.register(registry);
        GeneratorOperators.register(registry);
        NnOperators.register(registry);
        TransformerOperators.register(registry);
    }
}
