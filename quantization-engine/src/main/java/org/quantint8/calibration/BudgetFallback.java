package org.quantint8.calibration;

/**
 * What automatic mixed precision does with a layer that the accuracy budget cannot afford at the
 * configured activation granularity.
 */
public enum BudgetFallback {

    /** The layer stays in FP32, weights included. */
    FP32,

    /**
     * The layer stays INT8, weights included, and its input is quantized per token (one range per
     * row of the last axis, measured on every call) instead of per tensor. For {@code MatMul} and
     * {@code Gemm} layers; a {@code Conv} layer falls back to FP32.
     */
    PER_TOKEN
}
