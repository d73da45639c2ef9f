package org.quantint8.onnx;

import ai.djl.MalformedModelException;

/**
 * Thrown when an ONNX model file cannot be read because its content is malformed: a truncated or
 * corrupt protobuf encoding, a value ONNX does not allow, tensor data that does not match its
 * declared shape, external data outside the model's folder, or a graph whose nodes read values no
 * one produces.
 *
 * <p>The message names the file, where known the graph element (node by index, name and operator
 * type, tensor or attribute by name), the problem and, for errors in the encoding itself, the byte
 * offset.
 *
 * <p>The exception is checked and extends DJL's {@link MalformedModelException} because a bad file
 * is an expected condition that callers of a model loader must handle, and because DJL's {@code
 * Model.load} already declares that type: an engine can let it propagate unchanged.
 */
public class OnnxFormatException extends MalformedModelException {

    private static final long serialVersionUID = 1L;

    /**
     * Constructs an exception with a complete message.
     *
     * @param message what is wrong, and where
     */
    public OnnxFormatException(String message) {
        super(message);
    }

    /**
     * Constructs an exception with a complete message and the lower-level failure behind it.
     *
     * @param message what is wrong, and where
     * @param cause the underlying failure
     */
    public OnnxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
