/**
 * Runs ONNX graphs on DJL NDArrays: a {@link org.quantint8.onnx.interpreter.OperatorRegistry} of
 * operator implementations; nodes without one run on ONNX Runtime.
 */
package org.quantint8.onnx.interpreter;
