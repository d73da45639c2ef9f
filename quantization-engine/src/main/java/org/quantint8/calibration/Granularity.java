package org.quantint8.calibration;

/**
 * Whether a tensor shares one scale or has one scale per slice: per output channel for weights, per
 * token (row) for the activations of dynamic quantization.
 */
public enum Granularity {

    /** One scale and zero point for the whole tensor. */
    PER_TENSOR,

    /** One scale and zero point per slice along the channel axis (output channels of weights). */
    PER_CHANNEL,

    /**
     * One scale and zero point per row along the last axis, measured on every call: activations
     * only, in dynamic mode. A token with outlier features then costs precision to itself alone,
     * not to every other token of the batch.
     */
    PER_TOKEN
}
