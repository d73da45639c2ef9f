package org.quantint8.onnx;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Supplier;

/**
 * Where decoding currently is, for error messages: the file, and the path of model elements being
 * decoded, such as {@code node #3: attribute 'body': node #0}.
 *
 * <p>Kept apart from the wire-level reader so that checks made after decoding (graph topology,
 * tensor sizes) report their place the same way as encoding errors do.
 */
final class DecodeContext {

    private final String source;
    private final Deque<String> path = new ArrayDeque<>();

    /**
     * Creates a context.
     *
     * @param source the name of the file or stream, the first part of every message
     */
    DecodeContext(String source) {
        this.source = source;
    }

    /**
     * Returns the name of the file or stream.
     *
     * @return the name of the file or stream
     */
    String source() {
        return source;
    }

    /**
     * Adds an element to the path.
     *
     * @param element a description such as {@code node #3}
     */
    void enter(String element) {
        path.addLast(element);
    }

    /** Removes the element added last. */
    void leave() {
        path.removeLast();
    }

    /**
     * Returns an exception for a problem at the current path.
     *
     * @param problem what is wrong
     * @return the exception, to throw
     */
    OnnxFormatException error(String problem) {
        return new OnnxFormatException(location() + problem);
    }

    /**
     * Returns an exception for a problem at the current path caused by another failure.
     *
     * @param problem what is wrong
     * @param cause the underlying failure
     * @return the exception, to throw
     */
    OnnxFormatException error(String problem, Throwable cause) {
        return new OnnxFormatException(location() + problem + ": " + cause.getMessage(), cause);
    }

    /**
     * Returns an exception for a problem in the encoding at a byte offset.
     *
     * @param problem what is wrong
     * @param offset the offset of the offending byte in the file
     * @return the exception, to throw
     */
    OnnxFormatException errorAt(String problem, long offset) {
        return new OnnxFormatException(location() + problem + " (at byte " + offset + ")");
    }

    /**
     * Runs a model-class constructor or builder, turning its argument checks into format errors:
     * the model classes own the rules (non-negative dims, data size matching the shape, unique
     * names), the decoder only adds the place.
     *
     * @param construction the construction to run
     * @param <T> the type constructed
     * @return the object constructed
     * @throws OnnxFormatException if the construction rejects the decoded values
     */
    <T> T build(Supplier<T> construction) throws OnnxFormatException {
        try {
            return construction.get();
        } catch (IllegalArgumentException e) {
            throw error(e.getMessage());
        }
    }

    private String location() {
        StringBuilder text = new StringBuilder(source).append(": ");
        for (String element : path) {
            text.append(element).append(": ");
        }
        return text.toString();
    }
}
