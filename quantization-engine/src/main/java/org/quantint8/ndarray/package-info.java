/**
 * The NDArrays of the QuantInt8 engine and its INT8 operators.
 *
 * <p>{@link org.quantint8.ndarray.QuantInt8NDManager} owns off-heap memory; {@link
 * org.quantint8.ndarray.QuantInt8NDArray} holds FP32, INT32, INT8, UINT8 or any other fixed-size
 * data and, when quantized, its {@link org.quantint8.ndarray.QuantizationParameters}; {@link
 * org.quantint8.ndarray.Int8Ops} is the public operator API. Operations the engine does not
 * implement run on the alternative engine (PyTorch).
 */
package org.quantint8.ndarray;
