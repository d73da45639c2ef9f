package org.quantint8.onnx;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A computation graph ({@code GraphProto}): nodes in topological order, the declared inputs and
 * outputs, constant initializers and optional type annotations of intermediate values. Instances
 * are immutable.
 *
 * <p>A subgraph (the body of a control-flow node) may also read values of the graphs enclosing it.
 */
public final class OnnxGraph {

    private final String name;
    private final List<OnnxNode> nodes;
    private final List<OnnxValueInfo> inputs;
    private final List<OnnxValueInfo> outputs;
    private final Map<String, OnnxTensor> initializers;
    private final List<OnnxValueInfo> valueInfos;
    private final String docString;

    private OnnxGraph(Builder builder) {
        name = builder.name;
        nodes = List.copyOf(builder.nodes);
        inputs = List.copyOf(builder.inputs);
        outputs = List.copyOf(builder.outputs);
        initializers = Collections.unmodifiableMap(new LinkedHashMap<>(builder.initializers));
        valueInfos = List.copyOf(builder.valueInfos);
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
     * Returns the graph name; empty if none.
     *
     * @return the graph name; empty if none
     */
    public String getName() {
        return name;
    }

    /**
     * Returns the nodes in execution order, unmodifiable.
     *
     * @return the nodes in execution order, unmodifiable
     */
    public List<OnnxNode> getNodes() {
        return nodes;
    }

    /**
     * Returns the declared inputs, in order, unmodifiable.
     *
     * @return the declared inputs, in order, unmodifiable
     */
    public List<OnnxValueInfo> getInputs() {
        return inputs;
    }

    /**
     * Returns the declared outputs, in order, unmodifiable.
     *
     * @return the declared outputs, in order, unmodifiable
     */
    public List<OnnxValueInfo> getOutputs() {
        return outputs;
    }

    /**
     * Returns the initializers by name, in file order, unmodifiable.
     *
     * @return the initializers by name, in file order, unmodifiable
     */
    public Map<String, OnnxTensor> getInitializers() {
        return initializers;
    }

    /**
     * Returns an initializer.
     *
     * @param tensorName the initializer name
     * @return the tensor, or {@code null} if there is no initializer of that name
     */
    public OnnxTensor getInitializer(String tensorName) {
        return initializers.get(tensorName);
    }

    /**
     * Returns the type annotations of intermediate values, unmodifiable.
     *
     * @return the type annotations of intermediate values, unmodifiable
     */
    public List<OnnxValueInfo> getValueInfos() {
        return valueInfos;
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
        return "graph '"
                + name
                + "' ("
                + nodes.size()
                + " nodes, "
                + initializers.size()
                + " initializers)";
    }

    /**
     * Returns a builder holding this graph's name, documentation, inputs, outputs, value infos and
     * the initializers {@code keep} accepts, but no nodes: where a graph rewrite starts, adding its
     * own node list in order and any new initializers.
     *
     * @param keep which of this graph's initializers the new graph keeps
     * @return the builder
     */
    public Builder toBuilderWithoutNodes(java.util.function.Predicate<OnnxTensor> keep) {
        Builder b = builder().optName(name).optDocString(docString);
        inputs.forEach(b::addInput);
        outputs.forEach(b::addOutput);
        valueInfos.forEach(b::addValueInfo);
        initializers.values().stream().filter(keep).forEach(b::addInitializer);
        return b;
    }

    /** Builds {@link OnnxGraph}s; every part is optional. */
    public static final class Builder {

        private String name = "";
        private final List<OnnxNode> nodes = new ArrayList<>();
        private final List<OnnxValueInfo> inputs = new ArrayList<>();
        private final List<OnnxValueInfo> outputs = new ArrayList<>();
        private final Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
        private final List<OnnxValueInfo> valueInfos = new ArrayList<>();
        private String docString = "";

        Builder() {}

        /**
         * Sets the graph name.
         *
         * @param name the name
         * @return this builder
         */
        public Builder optName(String name) {
            this.name = name;
            return this;
        }

        /**
         * Appends a node; nodes must be added in an order where each reads only earlier results.
         *
         * @param node the node
         * @return this builder
         */
        public Builder addNode(OnnxNode node) {
            nodes.add(node);
            return this;
        }

        /**
         * Appends a graph input.
         *
         * @param input the input's name and type
         * @return this builder
         */
        public Builder addInput(OnnxValueInfo input) {
            inputs.add(input);
            return this;
        }

        /**
         * Appends a graph output.
         *
         * @param output the output's name and type
         * @return this builder
         */
        public Builder addOutput(OnnxValueInfo output) {
            outputs.add(output);
            return this;
        }

        /**
         * Adds an initializer.
         *
         * @param tensor the constant, named
         * @return this builder
         * @throws IllegalArgumentException if the tensor has no name or the name is taken
         */
        public Builder addInitializer(OnnxTensor tensor) {
            if (tensor.getName().isEmpty()) {
                throw new IllegalArgumentException("An initializer needs a name");
            }
            if (initializers.putIfAbsent(tensor.getName(), tensor) != null) {
                throw new IllegalArgumentException(
                        "Two initializers are named '" + tensor.getName() + "'");
            }
            return this;
        }

        /**
         * Adds the type annotation of an intermediate value.
         *
         * @param valueInfo the value's name and type
         * @return this builder
         */
        public Builder addValueInfo(OnnxValueInfo valueInfo) {
            valueInfos.add(valueInfo);
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
         * Builds the graph.
         *
         * @return the graph
         */
        public OnnxGraph build() {
            return new OnnxGraph(this);
        }
    }
}
