package org.quantint8.onnx;

import java.util.ArrayList;
import java.util.List;

/**
 * Decodes the structural messages of an ONNX file: {@code ModelProto}, {@code GraphProto}, {@code
 * NodeProto}, {@code ValueInfoProto} and the type and shape messages inside it.
 *
 * <p>Fields this package does not model (training info, functions, quantization annotations,
 * per-node metadata) are skipped as the wire format allows. Subgraphs may nest at most {@value
 * #MAX_SUBGRAPH_DEPTH} levels deep, so a hostile file cannot exhaust the stack.
 */
final class ModelDecoder {

    /** Far deeper than any real control-flow nesting. */
    static final int MAX_SUBGRAPH_DEPTH = 16;

    private final ProtoReader in;
    private final DecodeContext context;
    private final TensorDecoder tensors;
    private final AttributeDecoder attributes;
    private int subgraphDepth;

    /**
     * Creates a decoder.
     *
     * @param in the reader over the whole file
     * @param externalData resolves tensors stored outside the model file
     */
    ModelDecoder(ProtoReader in, ExternalDataResolver externalData) {
        this.in = in;
        this.context = in.context();
        this.tensors = new TensorDecoder(in, externalData);
        this.attributes = new AttributeDecoder(in, tensors, this);
    }

    /**
     * Decodes the {@code ModelProto} that makes up the whole input.
     *
     * @return the model
     * @throws OnnxFormatException if the file is malformed
     */
    OnnxModel decodeModel() throws OnnxFormatException {
        OnnxModel.Builder model = OnnxModel.builder().optIrVersion(0);
        boolean hasGraph = false;
        while (in.hasMore()) {
            int tag = in.readTag();
            switch (ProtoReader.fieldNumber(tag)) {
                case 1 -> model.optIrVersion(in.readVarint(tag, "ir_version"));
                case 2 -> model.optProducerName(in.readString(tag, "producer_name"));
                case 3 -> model.optProducerVersion(in.readString(tag, "producer_version"));
                case 4 -> model.optDomain(in.readString(tag, "domain"));
                case 5 -> model.optModelVersion(in.readVarint(tag, "model_version"));
                case 6 -> model.optDocString(in.readString(tag, "doc_string"));
                case 7 -> {
                    model.setGraph(decodeGraph(tag));
                    hasGraph = true;
                }
                case 8 -> decodeOpsetImport(tag, model);
                case 14 -> {
                    in.expectWireType(tag, ProtoReader.LEN, "metadata_props");
                    StringEntry entry = StringEntry.read(in);
                    model.addMetadataProp(entry.key(), entry.value());
                }
                default -> in.skipField(tag);
            }
        }
        if (!hasGraph) {
            throw context.error("the model has no graph");
        }
        return model.build();
    }

    /**
     * Decodes a graph-valued attribute, counting the nesting depth.
     *
     * @param tag the tag of the field holding the graph
     * @return the graph
     * @throws OnnxFormatException if the graph is malformed or nested too deeply
     */
    OnnxGraph decodeSubgraph(int tag) throws OnnxFormatException {
        if (subgraphDepth >= MAX_SUBGRAPH_DEPTH) {
            throw in.error("subgraphs nested deeper than " + MAX_SUBGRAPH_DEPTH + " levels");
        }
        subgraphDepth++;
        try {
            return decodeGraph(tag);
        } finally {
            subgraphDepth--;
        }
    }

    private void decodeOpsetImport(int tag, OnnxModel.Builder model) throws OnnxFormatException {
        String domain = "";
        long version = 0;
        int enclosing = in.enterMessage(tag, "opset_import");
        while (in.hasMore()) {
            int field = in.readTag();
            switch (ProtoReader.fieldNumber(field)) {
                case 1 -> domain = in.readString(field, "domain");
                case 2 -> version = in.readVarint(field, "version");
                default -> in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        model.addOpsetImport(domain, version);
    }

    private OnnxGraph decodeGraph(int tag) throws OnnxFormatException {
        OnnxGraph.Builder graph = OnnxGraph.builder();
        int[] counts = new int[16]; // per field number, to name elements in errors
        int enclosing = in.enterMessage(tag, "graph");
        while (in.hasMore()) {
            int field = in.readTag();
            int number = ProtoReader.fieldNumber(field);
            switch (number) {
                case 1 -> graph.addNode(decodeNode(field, counts[number]++));
                case 2 -> graph.optName(in.readString(field, "name"));
                case 5 -> {
                    context.enter("initializer #" + counts[number]++);
                    OnnxTensor tensor = tensors.decode(field);
                    context.build(() -> graph.addInitializer(tensor));
                    context.leave();
                }
                case 10 -> graph.optDocString(in.readString(field, "doc_string"));
                case 11 -> graph.addInput(decodeValueInfo(field, "input #" + counts[number]++));
                case 12 -> graph.addOutput(decodeValueInfo(field, "output #" + counts[number]++));
                case 13 ->
                        graph.addValueInfo(
                                decodeValueInfo(field, "value_info #" + counts[number]++));
                case 15 -> throw in.error("sparse initializers are not supported");
                default -> in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        return graph.build();
    }

    private OnnxNode decodeNode(int tag, int index) throws OnnxFormatException {
        OnnxNode.Builder node = OnnxNode.builder();
        context.enter("node #" + index);
        int enclosing = in.enterMessage(tag, "node");
        while (in.hasMore()) {
            int field = in.readTag();
            switch (ProtoReader.fieldNumber(field)) {
                case 1 -> node.addInput(in.readString(field, "input"));
                case 2 -> node.addOutput(in.readString(field, "output"));
                case 3 -> node.optName(in.readString(field, "name"));
                case 4 -> node.setOpType(in.readString(field, "op_type"));
                case 5 -> {
                    OnnxAttribute attribute = attributes.decode(field);
                    context.build(() -> node.addAttribute(attribute));
                }
                case 6 -> node.optDocString(in.readString(field, "doc_string"));
                case 7 -> node.optDomain(in.readString(field, "domain"));
                default -> in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        OnnxNode built = context.build(node::build);
        context.leave();
        return built;
    }

    private OnnxValueInfo decodeValueInfo(int tag, String element) throws OnnxFormatException {
        context.enter(element);
        String name = "";
        String docString = "";
        TensorType type = TensorType.NONE;
        int enclosing = in.enterMessage(tag, "value info");
        while (in.hasMore()) {
            int field = in.readTag();
            switch (ProtoReader.fieldNumber(field)) {
                case 1 -> name = in.readString(field, "name");
                case 2 -> type = decodeType(field);
                case 3 -> docString = in.readString(field, "doc_string");
                default -> in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        String valueName = name;
        TensorType valueType = type;
        String valueDoc = docString;
        OnnxValueInfo info =
                context.build(
                        () -> OnnxValueInfo.of(valueName, valueType.elemType, valueType.shape, valueDoc));
        context.leave();
        return info;
    }

    /** The parts of a {@code TypeProto.Tensor}; other kinds of type decode to {@link #NONE}. */
    private record TensorType(OnnxDataType elemType, List<OnnxDimension> shape) {
        static final TensorType NONE = new TensorType(OnnxDataType.UNDEFINED, null);
    }

    private TensorType decodeType(int tag) throws OnnxFormatException {
        TensorType type = TensorType.NONE;
        int enclosing = in.enterMessage(tag, "type");
        while (in.hasMore()) {
            int field = in.readTag();
            if (ProtoReader.fieldNumber(field) == 1) {
                type = decodeTensorType(field);
            } else {
                in.skipField(field); // sequence, map, optional, sparse, opaque: not modelled
            }
        }
        in.exitMessage(enclosing);
        return type;
    }

    private TensorType decodeTensorType(int tag) throws OnnxFormatException {
        OnnxDataType elemType = OnnxDataType.UNDEFINED;
        List<OnnxDimension> shape = null;
        int enclosing = in.enterMessage(tag, "tensor_type");
        while (in.hasMore()) {
            int field = in.readTag();
            switch (ProtoReader.fieldNumber(field)) {
                case 1 -> {
                    long code = in.readVarint(field, "elem_type");
                    elemType = OnnxDataType.fromCode(code);
                    if (elemType == null) {
                        throw in.error("unknown element type " + code);
                    }
                }
                case 2 -> shape = decodeShape(field);
                default -> in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        return new TensorType(elemType, shape);
    }

    private List<OnnxDimension> decodeShape(int tag) throws OnnxFormatException {
        List<OnnxDimension> shape = new ArrayList<>();
        int enclosing = in.enterMessage(tag, "shape");
        while (in.hasMore()) {
            int field = in.readTag();
            if (ProtoReader.fieldNumber(field) == 1) {
                shape.add(decodeDimension(field));
            } else {
                in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        return shape;
    }

    private OnnxDimension decodeDimension(int tag) throws OnnxFormatException {
        OnnxDimension dimension = OnnxDimension.unknown();
        int enclosing = in.enterMessage(tag, "dim");
        while (in.hasMore()) {
            int field = in.readTag();
            switch (ProtoReader.fieldNumber(field)) {
                case 1 -> {
                    long value = in.readVarint(field, "dim_value");
                    // Some exporters write -1 for "dynamic"; treat any negative size that way.
                    dimension = value >= 0 ? OnnxDimension.of(value) : OnnxDimension.unknown();
                }
                case 2 -> dimension = OnnxDimension.symbolic(in.readString(field, "dim_param"));
                default -> in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        return dimension;
    }
}
