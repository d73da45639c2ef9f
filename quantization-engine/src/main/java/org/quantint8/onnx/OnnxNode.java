package org.quantint8.onnx;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One operator application in a graph ({@code NodeProto}): the operator type and domain, the
 * names of the values it reads and writes, and its attributes. Instances are immutable.
 *
 * <p>An empty input or output name stands for an optional argument that is omitted.
 */
public final class OnnxNode {

    private final String opType;
    private final String domain;
    private final String name;
    private final List<String> inputs;
    private final List<String> outputs;
    private final Map<String, OnnxAttribute> attributes;
    private final String docString;

    private OnnxNode(Builder builder) {
        opType = builder.opType;
        domain = builder.domain;
        name = builder.name;
        inputs = List.copyOf(builder.inputs);
        outputs = List.copyOf(builder.outputs);
        attributes = Collections.unmodifiableMap(new LinkedHashMap<>(builder.attributes));
        docString = builder.docString;
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the operator type, such as {@code Conv}.
     *
     * @return the operator type, such as {@code Conv}
     */
    public String getOpType() {
        return opType;
    }

    /**
     * Returns the operator domain; empty for the default ONNX domain.
     *
     * @return the operator domain; empty for the default ONNX domain
     */
    public String getDomain() {
        return domain;
    }

    /**
     * Returns the node name; empty if the node has none.
     *
     * @return the node name; empty if the node has none
     */
    public String getName() {
        return name;
    }

    /**
     * Returns the names of the values read, in argument order, unmodifiable.
     *
     * @return the names of the values read, in argument order, unmodifiable
     */
    public List<String> getInputs() {
        return inputs;
    }

    /**
     * Returns the names of the values written, in result order, unmodifiable.
     *
     * @return the names of the values written, in result order, unmodifiable
     */
    public List<String> getOutputs() {
        return outputs;
    }

    /**
     * Returns the attributes by name, in file order, unmodifiable.
     *
     * @return the attributes by name, in file order, unmodifiable
     */
    public Map<String, OnnxAttribute> getAttributes() {
        return attributes;
    }

    /**
     * Returns the documentation string; empty if none.
     *
     * @return the documentation string; empty if none
     */
    public String getDocString() {
        return docString;
    }

    /**
     * Tells whether the node has an attribute.
     *
     * @param attributeName the attribute name
     * @return {@code true} if present
     */
    public boolean hasAttribute(String attributeName) {
        return attributes.containsKey(attributeName);
    }

    /**
     * Returns an integer attribute.
     *
     * @param attributeName the attribute name
     * @param defaultValue the value if the attribute is absent
     * @return the value
     * @throws IllegalStateException if the attribute is not an {@code INT}
     */
    public long getInt(String attributeName, long defaultValue) {
        return typed(attributeName, defaultValue, OnnxAttribute::getInt);
    }

    /**
     * Returns a float attribute.
     *
     * @param attributeName the attribute name
     * @param defaultValue the value if the attribute is absent
     * @return the value
     * @throws IllegalStateException if the attribute is not a {@code FLOAT}
     */
    public float getFloat(String attributeName, float defaultValue) {
        return typed(attributeName, defaultValue, OnnxAttribute::getFloat);
    }

    /**
     * Returns a string attribute.
     *
     * @param attributeName the attribute name
     * @param defaultValue the value if the attribute is absent
     * @return the value
     * @throws IllegalStateException if the attribute is not a {@code STRING}
     */
    public String getString(String attributeName, String defaultValue) {
        return typed(attributeName, defaultValue, OnnxAttribute::getString);
    }

    /**
     * Returns an integer-list attribute.
     *
     * @param attributeName the attribute name
     * @param defaultValue the value if the attribute is absent, returned as is
     * @return a copy of the values, or the default
     * @throws IllegalStateException if the attribute is not an {@code INTS}
     */
    public long[] getInts(String attributeName, long[] defaultValue) {
        return typed(attributeName, defaultValue, OnnxAttribute::getInts);
    }

    /**
     * Returns a float-list attribute.
     *
     * @param attributeName the attribute name
     * @param defaultValue the value if the attribute is absent, returned as is
     * @return a copy of the values, or the default
     * @throws IllegalStateException if the attribute is not a {@code FLOATS}
     */
    public float[] getFloats(String attributeName, float[] defaultValue) {
        return typed(attributeName, defaultValue, OnnxAttribute::getFloats);
    }

    /**
     * Returns a string-list attribute.
     *
     * @param attributeName the attribute name
     * @param defaultValue the value if the attribute is absent
     * @return the values, or the default
     * @throws IllegalStateException if the attribute is not a {@code STRINGS}
     */
    public List<String> getStrings(String attributeName, List<String> defaultValue) {
        return typed(attributeName, defaultValue, OnnxAttribute::getStrings);
    }

    /**
     * Returns a tensor attribute.
     *
     * @param attributeName the attribute name
     * @param defaultValue the value if the attribute is absent, may be {@code null}
     * @return the value, or the default
     * @throws IllegalStateException if the attribute is not a {@code TENSOR}
     */
    public OnnxTensor getTensor(String attributeName, OnnxTensor defaultValue) {
        return typed(attributeName, defaultValue, OnnxAttribute::getTensor);
    }

    /**
     * Returns a graph attribute, such as the branch of an {@code If}.
     *
     * @param attributeName the attribute name
     * @param defaultValue the value if the attribute is absent, may be {@code null}
     * @return the value, or the default
     * @throws IllegalStateException if the attribute is not a {@code GRAPH}
     */
    public OnnxGraph getGraph(String attributeName, OnnxGraph defaultValue) {
        return typed(attributeName, defaultValue, OnnxAttribute::getGraph);
    }

    /**
     * Returns a short description for messages: name and operator type.
     *
     * @return for example {@code node 'conv1' (Conv)}
     */
    public String describe() {
        return "node '" + name + "' (" + (domain.isEmpty() ? "" : domain + ".") + opType + ")";
    }

    @Override
    public String toString() {
        return describe() + " " + inputs + " -> " + outputs;
    }

    private <T> T typed(String attributeName, T defaultValue, Function<OnnxAttribute, T> getter) {
        OnnxAttribute attribute = attributes.get(attributeName);
        if (attribute == null) {
            return defaultValue;
        }
        try {
            return getter.apply(attribute);
        } catch (IllegalStateException e) {
            throw new IllegalStateException(describe() + ": " + e.getMessage(), e);
        }
    }

    /** Builds {@link OnnxNode}s; the operator type is required. */
    public static final class Builder {

        private String opType;
        private String domain = "";
        private String name = "";
        private final List<String> inputs = new ArrayList<>();
        private final List<String> outputs = new ArrayList<>();
        private final Map<String, OnnxAttribute> attributes = new LinkedHashMap<>();
        private String docString = "";

        Builder() {}

        /**
         * Sets the operator type.
         *
         * @param opType the operator type, such as {@code MatMul}
         * @return this builder
         */
        public Builder setOpType(String opType) {
            this.opType = opType;
            return this;
        }

        /**
         * Sets the operator domain.
         *
         * @param domain the domain; empty (the default) for standard ONNX operators
         * @return this builder
         */
        public Builder optDomain(String domain) {
            this.domain = domain;
            return this;
        }

        /**
         * Sets the node name.
         *
         * @param name the name
         * @return this builder
         */
        public Builder optName(String name) {
            this.name = name;
            return this;
        }

        /**
         * Appends input names.
         *
         * @param names value names; empty for an omitted optional input
         * @return this builder
         */
        public Builder addInput(String... names) {
            inputs.addAll(List.of(names));
            return this;
        }

        /**
         * Appends output names.
         *
         * @param names value names; empty for an omitted optional output
         * @return this builder
         */
        public Builder addOutput(String... names) {
            outputs.addAll(List.of(names));
            return this;
        }

        /**
         * Adds an attribute.
         *
         * @param attribute the attribute
         * @return this builder
         * @throws IllegalArgumentException if the node already has an attribute of that name
         */
        public Builder addAttribute(OnnxAttribute attribute) {
            if (attributes.putIfAbsent(attribute.getName(), attribute) != null) {
                throw new IllegalArgumentException(
                        "Node '"
                                + name
                                + "' has two attributes named '"
                                + attribute.getName()
                                + "'");
            }
            return this;
        }

        /**
         * Sets the documentation string.
         *
         * @param docString the documentation
         * @return this builder
         */
        public Builder optDocString(String docString) {
            this.docString = docString;
            return this;
        }

        /**
         * Builds the node.
         *
         * @return the node
         * @throws IllegalArgumentException if the operator type is missing
         */
        public OnnxNode build() {
            if (opType == null || opType.isEmpty()) {
                throw new IllegalArgumentException("Node '" + name + "' has no operator type");
            }
            return new OnnxNode(this);
        }
    }
}
