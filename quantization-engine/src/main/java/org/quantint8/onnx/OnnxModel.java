package org.quantint8.onnx;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * An ONNX model ({@code ModelProto}): format and producer metadata, the operator sets it imports
 * and its main graph. Instances are immutable.
 *
 * <p>Read one with {@link OnnxModelReader}, write one with {@link OnnxModelWriter}, or build one
 * with {@link #builder()}.
 */
public final class OnnxModel {

    /** The IR version {@link Builder} uses unless told otherwise (ONNX 1.13, opsets up to 18). */
    public static final long DEFAULT_IR_VERSION = 8;

    private final long irVersion;
    private final List<OnnxOpsetImport> opsetImports;
    private final String producerName;
    private final String producerVersion;
    private final String domain;
    private final long modelVersion;
    private final String docString;
    private final OnnxGraph graph;
    private final Map<String, String> metadataProps;

    private OnnxModel(Builder builder) {
        irVersion = builder.irVersion;
        opsetImports = List.copyOf(builder.opsetImports);
        producerName = builder.producerName;
        producerVersion = builder.producerVersion;
        domain = builder.domain;
        modelVersion = builder.modelVersion;
        docString = builder.docString;
        graph = builder.graph;
        metadataProps = Collections.unmodifiableMap(new LinkedHashMap<>(builder.metadataProps));
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
     * Returns the version of the ONNX format the model follows.
     *
     * @return the version of the ONNX format the model follows
     */
    public long getIrVersion() {
        return irVersion;
    }

    /**
     * Returns the imported operator sets, unmodifiable.
     *
     * @return the imported operator sets, unmodifiable
     */
    public List<OnnxOpsetImport> getOpsetImports() {
        return opsetImports;
    }

    /**
     * Returns the imported version of an operator domain.
     *
     * @param opDomain the domain; {@code ""} and {@code "ai.onnx"} both mean the default domain
     * @return the version, or empty if the domain is not imported
     */
    public OptionalLong getOpsetVersion(String opDomain) {
        boolean wantDefault = OnnxOpsetImport.isDefaultDomain(opDomain);
        for (OnnxOpsetImport opset : opsetImports) {
            if (wantDefault ? opset.isDefaultDomain() : opset.domain().equals(opDomain)) {
                return OptionalLong.of(opset.version());
            }
        }
        return OptionalLong.empty();
    }

    /**
     * Returns the imported version of the default ONNX operator set.
     *
     * @return the version, or empty if the model imports no default-domain operators
     */
    public OptionalLong getDefaultOpsetVersion() {
        return getOpsetVersion("");
    }

    /**
     * Returns the name of the tool that produced the model; empty if unknown.
     *
     * @return the name of the tool that produced the model; empty if unknown
     */
    public String getProducerName() {
        return producerName;
    }

    /**
     * Returns the version of the producing tool; empty if unknown.
     *
     * @return the version of the producing tool; empty if unknown
     */
    public String getProducerVersion() {
        return producerVersion;
    }

    /**
     * Returns the model's namespace, in reverse-DNS form; empty if none.
     *
     * @return the model's namespace, in reverse-DNS form; empty if none
     */
    public String getDomain() {
        return domain;
    }

    /**
     * Returns the model's own version number; 0 if none.
     *
     * @return the model's own version number; 0 if none
     */
    public long getModelVersion() {
        return modelVersion;
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
     * Returns the main graph.
     *
     * @return the main graph
     */
    public OnnxGraph getGraph() {
        return graph;
    }

    /**
     * Returns the free-form metadata, in file order, unmodifiable.
     *
     * @return the free-form metadata, in file order, unmodifiable
     */
    public Map<String, String> getMetadataProps() {
        return metadataProps;
    }

    /**
     * Returns a builder holding everything of this model but its graph, which the caller sets:
     * the way graph transformations keep a model's version, opsets and metadata.
     *
     * @param graph the new graph
     * @return a builder, to add opset imports or metadata before {@code build()}
     */
    public Builder toBuilder(OnnxGraph graph) {
        Builder b = builder().setGraph(graph).optIrVersion(irVersion).optProducerName(producerName)
                .optProducerVersion(producerVersion).optDomain(domain).optModelVersion(modelVersion)
                .optDocString(docString);
        opsetImports.forEach(o -> b.addOpsetImport(o.domain(), o.version()));
        metadataProps.forEach(b::addMetadataProp);
        return b;
    }

    /** Builds {@link OnnxModel}s; the graph is required. */
    public static final class Builder {

        private long irVersion = DEFAULT_IR_VERSION;
        private final List<OnnxOpsetImport> opsetImports = new ArrayList<>();
        private String producerName = "";
        private String producerVersion = "";
        private String domain = "";
        private long modelVersion;
        private String docString = "";
        private OnnxGraph graph;
        private final Map<String, String> metadataProps = new LinkedHashMap<>();

        Builder() {}

        /**
         * Sets the main graph.
         *
         * @param graph the graph
         * @return this builder
         */
        public Builder setGraph(OnnxGraph graph) {
            this.graph = graph;
            return this;
        }

        /**
         * Sets the IR version.
         *
         * @param irVersion the version of the ONNX format
         * @return this builder
         */
        public Builder optIrVersion(long irVersion) {
            this.irVersion = irVersion;
            return this;
        }

        /**
         * Imports an operator set.
         *
         * @param opDomain the domain, {@code ""} for the default one
         * @param version the operator set version
         * @return this builder
         */
        public Builder addOpsetImport(String opDomain, long version) {
            opsetImports.add(new OnnxOpsetImport(opDomain, version));
            return this;
        }

        /**
         * Sets the producer's name.
         *
         * @param producerName the tool name
         * @return this builder
         */
        public Builder optProducerName(String producerName) {
            this.producerName = producerName;
            return this;
        }

        /**
         * Sets the producer's version.
         *
         * @param producerVersion the tool version
         * @return this builder
         */
        public Builder optProducerVersion(String producerVersion) {
            this.producerVersion = producerVersion;
            return this;
        }

        /**
         * Sets the model's namespace.
         *
         * @param domain a reverse-DNS name
         * @return this builder
         */
        public Builder optDomain(String domain) {
            this.domain = domain;
            return this;
        }

        /**
         * Sets the model's own version.
         *
         * @param modelVersion the version number
         * @return this builder
         */
        public Builder optModelVersion(long modelVersion) {
            this.modelVersion = modelVersion;
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
         * Adds a metadata entry, replacing any earlier one with the same key.
         *
         * @param key the key
         * @param value the value
         * @return this builder
         */
        public Builder addMetadataProp(String key, String value) {
            metadataProps.put(key, value);
            return this;
        }

        /**
         * Builds the model.
         *
         * @return the model
         * @throws IllegalArgumentException if the graph is missing
         */
        public OnnxModel build() {
            if (graph == null) {
                throw new IllegalArgumentException("A model needs a graph");
            }
            return new OnnxModel(this);
        }
    }
}
