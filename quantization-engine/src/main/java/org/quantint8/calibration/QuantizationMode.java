package org.quantint8.calibration;

/** When activation ranges are decided, or whether activations are quantized at all. */
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
    STATIC,

    /**
     * Weights are stored in INT8 (per output channel) and dequantized to FP32 for FP32 operators;
     * activations stay FP32. Quarters the weight bytes at no activation error, needs no
     * calibration data; suits memory-bound work such as batch-1 decoding.
     */
    WEIGHT_ONLY
}
