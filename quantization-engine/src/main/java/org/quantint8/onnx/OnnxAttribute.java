package org.quantint8.onnx;

import java.util.Arrays;
import java.util.List;

/**
 * A named attribute of a node ({@code AttributeProto}): a float, integer, string, tensor or graph,
 * or a list of one of these. Instances are immutable.
 */
public final class OnnxAttribute {

    /** The kinds of attribute value ({@code AttributeProto.AttributeType}). */
    public enum Type {
        /** No type set. */
        UNDEFINED,
        /** A 32-bit float. */
        FLOAT,
        /** A 64-bit integer. */
        INT,
        /** A UTF-8 string. */
        STRING,
        /** A tensor. */
        TENSOR,
        /** A graph, the body of a control-flow node. */
        GRAPH,
        /** A list of floats. */
        FLOATS,
        /** A list of integers. */
        INTS,
        /** A list of strings. */
        STRINGS,
        /** A list of tensors. */
        TENSORS,
        /** A list of graphs. */
        GRAPHS,
        /** A sparse tensor; not supported by this package. */
        SPARSE_TENSOR,
        /** A list of sparse tensors; not supported by this package. */
        SPARSE_TENSORS,
        /** A type; not supported by this package. */
        TYPE_PROTO,
        /** A list of types; not supported by this package. */
        TYPE_PROTOS;

        /**
         * Returns the type with an ONNX code.
         *
         * @param code the {@code AttributeType} number
         * @return the type, or {@code null} if the code is unknown
         */
        public static Type fromCode(long code) {
            // The constants are declared in code order, so the code is the ordinal.
            return code >= 0 && code < values().length ? values()[(int) code] : null;
        }

        /**
         * Returns the ONNX code of this type.
         *
         * @return the {@code AttributeType} number
         */
        public int getCode() {
            return ordinal();
        }
    }

    private final String name;
    private final Type type;
    private final Object value;

    private OnnxAttribute(String name, Type type, Object value) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("An attribute needs a name");
        }
        this.name = name;
        this.type = type;
        this.value = value;
    }

    /**
     * Returns a float attribute.
     *
     * @param name the attribute name
     * @param value the value
     * @return the attribute
     */
    public static OnnxAttribute ofFloat(String name, float value) {
        return new OnnxAttribute(name, Type.FLOAT, value);
    }

    /**
     * Returns an integer attribute.
     *
     * @param name the attribute name
     * @param value the value
     * @return the attribute
     */
    public static OnnxAttribute ofInt(String name, long value) {
        return new OnnxAttribute(name, Type.INT, value);
    }

    /**
     * Returns a string attribute.
     *
     * @param name the attribute name
     * @param value the value
     * @return the attribute
     */
    public static OnnxAttribute ofString(String name, String value) {
        return new OnnxAttribute(name, Type.STRING, value);
    }

    /**
     * Returns a tensor attribute.
     *
     * @param name the attribute name
     * @param value the value
     * @return the attribute
     */
    public static OnnxAttribute ofTensor(String name, OnnxTensor value) {
        return new OnnxAttribute(name, Type.TENSOR, value);
    }

    /**
     * Returns a graph attribute.
     *
     * @param name the attribute name
     * @param value the value
     * @return the attribute
     */
    public static OnnxAttribute ofGraph(String name, OnnxGraph value) {
        return new OnnxAttribute(name, Type.GRAPH, value);
    }

    /**
     * Returns a float-list attribute.
     *
     * @param name the attribute name
     * @param values the values, copied
     * @return the attribute
     */
    public static OnnxAttribute ofFloats(String name, float... values) {
        return new OnnxAttribute(name, Type.FLOATS, values.clone());
    }

    /**
     * Returns an integer-list attribute.
     *
     * @param name the attribute name
     * @param values the values, copied
     * @return the attribute
     */
    public static OnnxAttribute ofInts(String name, long... values) {
        return new OnnxAttribute(name, Type.INTS, values.clone());
    }

    /**
     * Returns a string-list attribute.
     *
     * @param name the attribute name
     * @param values the values
     * @return the attribute
     */
    public static OnnxAttribute ofStrings(String name, List<String> values) {
        return new OnnxAttribute(name, Type.STRINGS, List.copyOf(values));
    }

    /**
     * Returns a tensor-list attribute.
     *
     * @param name the attribute name
     * @param values the values
     * @return the attribute
     */
    public static OnnxAttribute ofTensors(String name, List<OnnxTensor> values) {
        return new OnnxAttribute(name, Type.TENSORS, List.copyOf(values));
    }

    /**
     * Returns a graph-list attribute.
     *
     * @param name the attribute name
     * @param values the values
     * @return the attribute
     */
    public static OnnxAttribute ofGraphs(String name, List<OnnxGraph> values) {
        return new OnnxAttribute(name, Type.GRAPHS, List.copyOf(values));
    }

    /**
     * Returns the attribute name.
     *
     * @return the attribute name
     */
    public String getName() {
        return name;
    }

    /**
     * Returns the kind of value.
     *
     * @return the kind of value
     */
    public Type getType() {
        return type;
    }

    /**
     * Returns the value of a {@link Type#FLOAT} attribute.
     *
     * @return the value of a {@link Type#FLOAT} attribute
     * @throws IllegalStateException if the attribute is of another type
     */
    public float getFloat() {
        return (Float) value(Type.FLOAT);
    }

    /**
     * Returns the value of an {@link Type#INT} attribute.
     *
     * @return the value of an {@link Type#INT} attribute
     * @throws IllegalStateException if the attribute is of another type
     */
    public long getInt() {
        return (Long) value(Type.INT);
    }

    /**
     * Returns the value of a {@link Type#STRING} attribute.
     *
     * @return the value of a {@link Type#STRING} attribute
     * @throws IllegalStateException if the attribute is of another type
     */
    public String getString() {
        return (String) value(Type.STRING);
    }

    /**
     * Returns the value of a {@link Type#TENSOR} attribute.
     *
     * @return the value of a {@link Type#TENSOR} attribute
     * @throws IllegalStateException if the attribute is of another type
     */
    public OnnxTensor getTensor() {
        return (OnnxTensor) value(Type.TENSOR);
    }

    /**
     * Returns the value of a {@link Type#GRAPH} attribute.
     *
     * @return the value of a {@link Type#GRAPH} attribute
     * @throws IllegalStateException if the attribute is of another type
     */
    public OnnxGraph getGraph() {
        return (OnnxGraph) value(Type.GRAPH);
    }

    /**
     * Returns a copy of the values of a {@link Type#FLOATS} attribute.
     *
     * @return a copy of the values of a {@link Type#FLOATS} attribute
     * @throws IllegalStateException if the attribute is of another type
     */
    public float[] getFloats() {
        return ((float[]) value(Type.FLOATS)).clone();
    }

    /**
     * Returns a copy of the values of an {@link Type#INTS} attribute.
     *
     * @return a copy of the values of an {@link Type#INTS} attribute
     * @throws IllegalStateException if the attribute is of another type
     */
    public long[] getInts() {
        return ((long[]) value(Type.INTS)).clone();
    }

    /**
     * Returns the values of a {@link Type#STRINGS} attribute, unmodifiable.
     *
     * @return the values of a {@link Type#STRINGS} attribute, unmodifiable
     * @throws IllegalStateException if the attribute is of another type
     */
    @SuppressWarnings("unchecked")
    public List<String> getStrings() {
        return (List<String>) value(Type.STRINGS);
    }

    /**
     * Returns the values of a {@link Type#TENSORS} attribute, unmodifiable.
     *
     * @return the values of a {@link Type#TENSORS} attribute, unmodifiable
     * @throws IllegalStateException if the attribute is of another type
     */
    @SuppressWarnings("unchecked")
    public List<OnnxTensor> getTensors() {
        return (List<OnnxTensor>) value(Type.TENSORS);
    }

    /**
     * Returns the values of a {@link Type#GRAPHS} attribute, unmodifiable.
     *
     * @return the values of a {@link Type#GRAPHS} attribute, unmodifiable
     * @throws IllegalStateException if the attribute is of another type
     */
    @SuppressWarnings("unchecked")
    public List<OnnxGraph> getGraphs() {
        return (List<OnnxGraph>) value(Type.GRAPHS);
    }

    @Override
    public String toString() {
        String text =
                switch (value) {
                    case float[] floats -> Arrays.toString(floats);
                    case long[] ints -> Arrays.toString(ints);
                    default -> String.valueOf(value);
                };
        return name + "=" + text;
    }

    private Object value(Type expected) {
        if (type != expected) {
            throw new IllegalStateException(
                    "attribute '" + name + "' is " + type + ", expected " + expected);
        }
        return value;
    }
}
