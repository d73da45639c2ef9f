package org.quantint8.calibration;

/**
 * How much quantizing a single layer (all others in FP32) hurts the model output.
 *
 * @param layerName the layer
 * @param score the output metric with only this layer quantized; lower means more sensitive
 */
public record LayerSensitivity(String layerName, double score) {}
