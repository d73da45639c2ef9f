package org.quantint8.calibration;

/** Whether a tensor shares one scale or has one scale per channel. */
public enum Granularity {

    /** One scale and zero point for the whole tensor. */
    PER_TENSOR,

    /** One scale and zero point per slice along the channel axis (output channels of weights). */
    PER_CHANNEL
}
