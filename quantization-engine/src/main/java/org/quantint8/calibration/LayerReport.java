package org.quantint8.calibration;

import org.quantint8.ndarray.QuantizationParameters;

/**
 * What was done to one layer.
 *
 * @param layerName the layer
 * @param opType the operator type, for example {@code "Linear"}
 * @param quantized whether the layer runs in INT8
 * @param reason why the layer is quantized or kept in FP32
 * @param observer the activation observer's description, empty if none
 * @param weightParameters the weight parameters, {@code null} if the weights stay in FP32 or the
 *     layer has none
 * @param activationParameters the input activation parameters, {@code null} if not quantized or
 *     dynamic
 * @param weightSqnrDb the SQNR of the quantized weights in dB, NaN if not measured
 * @param outputSqnrDb the model output SQNR with only this layer quantized in dB, NaN if not
 *     measured
 * @param weightElements the number of weight values
 */
public record LayerReport(
        String layerName,
        String opType,
        boolean quantized,
        String reason,
        String observer,
        QuantizationParameters weightParameters,
        QuantizationParameters activationParameters,
        double weightSqnrDb,
        double outputSqnrDb,
        long weightElements) {

    /** Bytes of one stored scale (FP32) plus one stored 8-bit zero point. */
    private static final int BYTES_PER_CHANNEL_PARAMETERS = Float.BYTES + Byte.BYTES;

    /**
     * Validates the report.
     *
     * @throws IllegalArgumentException naming the layer if a field is inconsistent
     */
    public LayerReport {
        if (layerName == null || layerName.isEmpty()) {
            throw new IllegalArgumentException("A layer report needs a layer name");
        }
        if (weightElements < 0) {
            throw new IllegalArgumentException(
                    "Layer '" + layerName + "': negative weight count " + weightElements);
        }
        if (quantized && weightElements > 0 && weightParameters == null) {
            throw new IllegalArgumentException(
                    "Layer '" + layerName + "': quantized weights need their parameters");
        }
        opType = opType == null ? "" : opType;
        reason = reason == null ? "" : reason;
        observer = observer == null ? "" : observer;
    }

    /**
     * Returns the weight storage in FP32.
     *
     * @return 4 bytes per weight
     */
    public long fp32WeightBytes() {
        return weightElements * Float.BYTES;
    }

    /**
     * Returns the weight storage as deployed: 1 byte per weight plus a scale and a zero point per
     * channel when quantized, FP32 otherwise.
     *
     * @return the bytes after quantization
     */
    public long deployedWeightBytes() {
        if (!quantized || weightParameters == null) {
            return fp32WeightBytes();
        }
        return weightElements
                + (long) weightParameters.getChannelCount() * BYTES_PER_CHANNEL_PARAMETERS;
    }
}
