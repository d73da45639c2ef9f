package org.quantint8.onnx.interpreter;

/** The quantized ONNX operators, run on QuantInt8's INT8 operators. */
final class QuantizedOperators {

    private QuantizedOperators() {}

    static void registerAll(OperatorRegistry registry) {}
}
