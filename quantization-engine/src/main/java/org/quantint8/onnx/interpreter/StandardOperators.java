package org.quantint8.onnx.interpreter;

/** The standard ONNX operators on FP32 and integer tensors. */
final class StandardOperators {

    private StandardOperators() {}

    static void registerAll(OperatorRegistry registry) {}
}
