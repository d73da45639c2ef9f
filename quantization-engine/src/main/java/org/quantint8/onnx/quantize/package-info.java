/**
 * Post-training quantization of ONNX graphs: finds the constant-weight {@code MatMul}, {@code
 * Gemm} and {@code Conv} nodes, quantizes their weights and rewrites them as integer operators
 * that QuantInt8 and ONNX Runtime both run.
 */
package org.quantint8.onnx.quantize;
