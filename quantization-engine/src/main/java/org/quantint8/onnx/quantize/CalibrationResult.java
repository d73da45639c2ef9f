package org.quantint8.onnx.quantize;

import org.quantint8.calibration.TensorStatistics;
import org.quantint8.ndarray.QuantizationParameters;

import java.util.Map;

/**
 * What calibration learned about the inputs of the quantizable layers.
 *
 * @param samples the number of calibration samples
 * @param parameters per-tensor quantization parameters chosen by the activation observer, by
 *     tensor name
 * @param channelAbsMax the largest magnitude of each channel (last axis), by tensor name; the
 *     input of SmoothQuant
 * @param statistics what each observer counted, including NaN and infinite values
 */
public record CalibrationResult(
        int samples,
        Map<String, QuantizationParameters> parameters,
        Map<String, float[]> channelAbsMax,
        Map<String, TensorStatistics> statistics) {

    /** Copies the maps. */
    public CalibrationResult {
        parameters = Map.copyOf(parameters);
        channelAbsMax = Map.copyOf(channelAbsMax);
        statistics = Map.copyOf(statistics);
    }
}
