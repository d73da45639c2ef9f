package org.quantint8.calibration;

/** When activation ranges are decided. */
public enum QuantizationMode {

    /**
     * Activation ranges are measured on every call from the tensor itself; weights are quantized
     * ahead of time. Needs no calibration data, costs a range scan per call.
     */
    DYNAMIC,

    /**
     * Activation ranges are fixed ahead of time by observers that watch a calibration set. Fastest
     * at inference, needs representative calibration data.
     */
    STATIC
}
