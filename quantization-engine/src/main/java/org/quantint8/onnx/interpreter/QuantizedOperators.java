package org.quantint8.onnx.interpreter;

/**
 * The quantized ONNX operators, run on QuantInt8's INT8 operators: {@code QuantizeLinear},
 * {@code DequantizeLinear}, {@code DynamicQuantizeLinear}, {@code MatMulInteger}, {@code
 * QLinearMatMul}, {@code ConvInteger} and {@code QLinearConv}, all in the default domain.
 *
 * <p>Quantized outputs are QuantInt8 arrays that carry their {@code QuantizationParameters};
 * FP32 and INT32 outputs live in the run's FP32 manager. An 8-bit input without parameters (from
 * any engine) is accepted as well: ONNX gives every scale and zero point as node inputs, and
 * those are what the operators use.
 */
final class QuantizedOperators {

    private QuantizedOperators() {}

    static void registerAll(OperatorRegistry registry) {
        registry.register("", "QuantizeLinear", QuantizedConversions::quantizeLinear)
                .register("", "DequantizeLinear", QuantizedConversions::dequantizeLinear)
                .register("", "DynamicQuantizeLinear", QuantizedConversions::dynamicQuantizeLinear)
                .register("", "MatMulInteger", QuantizedMatMul::matMulInteger)
                .register("", "QLinearMatMul", QuantizedMatMul::qLinearMatMul)
                .register("", "ConvInteger", QuantizedConv::convInteger)
                .register("", "QLinearConv", QuantizedConv::qLinearConv)
                // The weights, their parameters and the bias: read, or prepared once per model.
                .register(IntegerLinearFusion.DOMAIN, IntegerLinearFusion.FUSED_OP,
                        OnnxOperator.readingInPlace(QuantizedMatMul::quantizeMatMul,
                                1, 2, 3, 4, 5))
                .register(IntegerLinearFusion.DOMAIN, IntegerLinearFusion.FUSED_CONV,
                        OnnxOperator.readingInPlace(QuantizedConv::quantizeConv,
                                1, 2, 3, 4, 5, 6, 7, 8));
    }
}
