package org.quantint8.zoo.weights;

import java.io.IOException;

/** A weight file is malformed, truncated, fails its checksum, or holds an unsupported type. */
public class WeightFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception.
     *
     * @param message what is wrong, naming the file and, where known, the tensor
     */
    public WeightFormatException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a cause.
     *
     * @param message what is wrong, naming the file and, where known, the tensor
     * @param cause the underlying failure
     */
    public WeightFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
