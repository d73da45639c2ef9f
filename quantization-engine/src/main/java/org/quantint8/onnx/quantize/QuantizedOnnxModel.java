package org.quantint8.onnx.quantize;

import org.quantint8.calibration.QuantizationReport;
import org.quantint8.onnx.OnnxModel;

import java.util.List;

/**
 * The result of {@link OnnxQuantizer#quantize}: the quantized model, what was done to each layer,
 * and the candidates that stayed in FP32 because their form is not supported.
 *
 * @param model the quantized model, runnable by QuantInt8 and by ONNX Runtime
 * @param report one line per quantizable layer, quantized or kept in FP32 and why
 * @param unsupported the MatMul, Gemm and Conv nodes that are not quantizable, with the reason
 */
public record QuantizedOnnxModel(
        OnnxModel model, QuantizationReport report, List<String> unsupported) {

    /** Copies the list. */
    public QuantizedOnnxModel {
        unsupported = List.copyOf(unsupported);
    }
}
