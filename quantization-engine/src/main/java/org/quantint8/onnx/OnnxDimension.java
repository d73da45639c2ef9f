package org.quantint8.onnx;

/**
 * One dimension of a declared tensor shape: a fixed size, a symbolic name such as {@code
 * batch_size}, or unknown.
 *
 * @param value the size, or -1 if the dimension is symbolic or unknown
 * @param param the symbolic name, or {@code null} if the dimension is fixed or unknown
 */
public record OnnxDimension(long value, String param) {

    /**
     * Checks that at most one of value and name is set.
     *
     * @param value the size, or -1
     * @param param the symbolic name, or {@code null}
     */
    public OnnxDimension {
        if (value < -1 || (value >= 0 && param != null)) {
            throw new IllegalArgumentException(
                    "A dimension is a size >= 0, a name, or unknown; got " + value + ", " + param);
        }
    }

    /**
     * Returns a fixed dimension.
     *
     * @param value the size, non-negative
     * @return the dimension
     */
    public static OnnxDimension of(long value) {
        if (value < 0) {
            throw new IllegalArgumentException("A fixed dimension must be >= 0, got " + value);
        }
        return new OnnxDimension(value, null);
    }

    /**
     * Returns a symbolic dimension.
     *
     * @param param the name shared by dimensions that have the same runtime size
     * @return the dimension
     */
    public static OnnxDimension symbolic(String param) {
        return new OnnxDimension(-1, param);
    }

    /**
     * Returns a dimension about which nothing is known.
     *
     * @return the dimension
     */
    public static OnnxDimension unknown() {
        return new OnnxDimension(-1, null);
    }

    /**
     * Tells whether the size is fixed.
     *
     * @return {@code true} if {@link #value()} is the size
     */
    public boolean isFixed() {
        return value >= 0;
    }

    /**
     * Tells whether the dimension is named.
     *
     * @return {@code true} if {@link #param()} is set
     */
    public boolean isSymbolic() {
        return param != null;
    }

    @Override
    public String toString() {
        return isFixed() ? Long.toString(value) : isSymbolic() ? param : "?";
    }
}
