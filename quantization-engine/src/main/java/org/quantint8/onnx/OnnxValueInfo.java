package org.quantint8.onnx;

import java.util.List;

/**
 * The declared type of a named value ({@code ValueInfoProto}): a graph input or output, or an
 * intermediate value. Instances are immutable.
 *
 * <p>Only tensor types are modelled. A value declared with another type (sequence, map, optional,
 * sparse tensor) has element type {@link OnnxDataType#UNDEFINED} and no shape, as does a value
 * declared without a type.
 */
public final class OnnxValueInfo {

    private final String name;
    private final OnnxDataType elemType;
    private final List<OnnxDimension> shape;
    private final String docString;

    private OnnxValueInfo(
            String name, OnnxDataType elemType, List<OnnxDimension> shape, String docString) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("A value info needs a name");
        }
        this.name = name;
        this.elemType = elemType;
        this.shape = shape == null ? null : List.copyOf(shape);
        this.docString = docString;
    }

    /**
     * Returns the value info of a tensor of known rank.
     *
     * @param name the value name
     * @param elemType the element type
     * @param shape the dimensions, fixed, symbolic or unknown
     * @return the value info
     */
    public static OnnxValueInfo tensor(
            String name, OnnxDataType elemType, List<OnnxDimension> shape) {
        return new OnnxValueInfo(name, elemType, shape, "");
    }

    /**
     * Returns the value info of a tensor of fixed shape.
     *
     * @param name the value name
     * @param elemType the element type
     * @param dims the dimensions, each non-negative
     * @return the value info
     */
    public static OnnxValueInfo tensor(String name, OnnxDataType elemType, long... dims) {
        List<OnnxDimension> shape =
                java.util.Arrays.stream(dims).mapToObj(OnnxDimension::of).toList();
        return tensor(name, elemType, shape);
    }

    /**
     * Returns a value info with every part given.
     *
     * @param name the value name
     * @param elemType the element type, {@link OnnxDataType#UNDEFINED} if unknown
     * @param shape the dimensions, or {@code null} if the rank is unknown
     * @param docString the documentation string, empty if none
     * @return the value info
     */
    public static OnnxValueInfo of(
            String name, OnnxDataType elemType, List<OnnxDimension> shape, String docString) {
        return new OnnxValueInfo(name, elemType, shape, docString);
    }

    /**
     * Returns the value name.
     *
     * @return the value name
     */
    public String getName() {
        return name;
    }

    /**
     * Returns the element type; {@link OnnxDataType#UNDEFINED} if not a known tensor type.
     *
     * @return the element type; {@link OnnxDataType#UNDEFINED} if not a known tensor type
     */
    public OnnxDataType getElemType() {
        return elemType;
    }

    /**
     * Tells whether the rank, and so {@link #getShape()}, is known.
     *
     * @return {@code true} if the value has a declared shape
     */
    public boolean hasShape() {
        return shape != null;
    }

    /**
     * Returns the declared dimensions.
     *
     * @return the dimensions, unmodifiable
     * @throws IllegalStateException if the rank is unknown
     */
    public List<OnnxDimension> getShape() {
        if (shape == null) {
            throw new IllegalStateException("Value '" + name + "' has no declared shape");
        }
        return shape;
    }

    /**
     * Returns the documentation string; empty if none.
     *
     * @return the documentation string; empty if none
     */
    public String getDocString() {
        return docString;
    }

    @Override
    public String toString() {
        return name + ": " + elemType + (shape == null ? "" : shape.toString());
    }
}
