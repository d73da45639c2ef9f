/**
 * The ONNX file layer of the QuantInt8 engine: an immutable in-memory model ({@link
 * org.quantint8.onnx.OnnxModel}, {@link org.quantint8.onnx.OnnxGraph}, {@link
 * org.quantint8.onnx.OnnxNode}, {@link org.quantint8.onnx.OnnxTensor}, ...), a reader and a
 * writer for the ONNX protobuf format.
 *
 * <p>The protobuf wire format is read and written by a small bounded codec of this package
 * ({@code ProtoReader}, {@code ProtoWriter}) rather than by generated code: the reader checks every
 * declared size against the bytes present before using it, keeps tensor data as views of the
 * memory-mapped file, and reports malformed input as an {@link
 * org.quantint8.onnx.OnnxFormatException} naming the file, the element and the byte offset.
 *
 * <p>{@link org.quantint8.onnx.OrtEnvironments} is the one way QuantInt8 reaches ONNX Runtime's
 * process-wide environment (the interpreter's fallback, static calibration), so that DJL's
 * OnnxRuntime engine can still start in the same process.
 *
 * <p>Supported: IR versions of opset 11 onwards, all tensor element types, raw, typed (packed or
 * not) and external tensor data, subgraph attributes. Not supported: sparse tensors, model-local
 * functions, training information.
 */
package org.quantint8.onnx;
