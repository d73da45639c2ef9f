package org.quantint8.onnx;

import org.quantint8.onnx.OnnxFields.Graph;
import org.quantint8.onnx.OnnxFields.Model;
import org.quantint8.onnx.OnnxFields.Node;
import org.quantint8.onnx.OnnxFields.OpsetId;
import org.quantint8.onnx.OnnxFields.ValueInfo;

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
                case Model.IR_VERSION -> model.optIrVersion(in.readVarint(tag, "ir_version"));
                case Model.PRODUCER_NAME ->
                        model.optProducerName(in.readString(tag, "producer_name"));
                case Model.PRODUCER_VERSION ->
                        model.optProducerVersion(in.readString(tag, "producer_version"));
                case Model.DOMAIN -> model.optDomain(in.readString(tag, "domain"));
                case Model.MODEL_VERSION ->
                        model.optModelVersion(in.readVarint(tag, "model_version"));
                case Model.DOC_STRING -> model.optDocString(in.readString(tag, "doc_string"));
                case Model.GRAPH -> {
                    model.setGraph(decodeGraph(tag));
                    hasGraph = true;
                }
                case Model.OPSET_IMPORT -> decodeOpsetImport(tag, model);
                case Model.METADATA_PROPS -> {
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
                case OpsetId.DOMAIN -> domain = in.readString(field, "domain");
                case OpsetId.VERSION -> version = in.readVarint(field, "version");
                default -> in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        model.addOpsetImport(domain, version);
    }

    private OnnxGraph decodeGraph(int tag) throws OnnxFormatException {
        OnnxGraph.Builder graph = OnnxGraph.builder();
        int[] counts =
                new int[Graph.SPARSE_INITIALIZER]; // per field number, to name elements in errors
        int enclosing = in.enterMessage(tag, "graph");
        while (in.hasMore()) {
            int field = in.readTag();
            int number = ProtoReader.fieldNumber(field);
            switch (number) {
                case Graph.NODE -> graph.addNode(decodeNode(field, counts[number]++));
                case Graph.NAME -> graph.optName(in.readString(field, "name"));
                case Graph.INITIALIZER -> {
                    context.enter("initializer #" + counts[number]++);
                    OnnxTensor tensor = tensors.decode(field);
                    context.build(() -> graph.addInitializer(tensor));
                    context.leave();
                }
                case Graph.DOC_STRING -> graph.optDocString(in.readString(field, "doc_string"));
                case Graph.INPUT ->
                        graph.addInput(decodeValueInfo(field, "input #" + counts[number]++));
                case Graph.OUTPUT ->
                        graph.addOutput(decodeValueInfo(field, "output #" + counts[number]++));
                case Graph.VALUE_INFO ->
                        graph.addValueInfo(
                                decodeValueInfo(field, "value_info #" + counts[number]++));
                case Graph.SPARSE_INITIALIZER ->
                        throw in.error("sparse initializers are not supported");
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
                case Node.INPUT -> node.addInput(in.readString(field, "input"));
                case Node.OUTPUT -> node.addOutput(in.readString(field, "output"));
                case Node.NAME -> node.optName(in.readString(field, "name"));
                case Node.OP_TYPE -> node.setOpType(in.readString(field, "op_type"));
                case Node.ATTRIBUTE -> {
                    OnnxAttribute attribute = attributes.decode(field);
                    context.build(() -> node.addAttribute(attribute));
                }
                case Node.DOC_STRING -> node.optDocString(in.readString(field, "doc_string"));
                case Node.DOMAIN -> node.optDomain(in.readString(field, "domain"));
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
                case ValueInfo.NAME -> name = in.readString(field, "name");
                case ValueInfo.TYPE -> type = decodeType(field);
                case ValueInfo.DOC_STRING -> docString = in.readString(field, "doc_string");
                default -> in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        String valueName = name;
        TensorType valueType = type;
        String valueDoc = docString;
        OnnxValueInfo info =
                context.build(
                        () ->
                                OnnxValueInfo.of(
                                        valueName, valueType.elemType, valueType.shape, valueDoc));
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
            if (ProtoReader.fieldNumber(field) == ValueInfo.TENSOR_TYPE) {
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
                case ValueInfo.ELEM_TYPE -> {
                    long code = in.readVarint(field, "elem_type");
                    elemType = OnnxDataType.fromCode(code);
                    if (elemType == null) {
                        throw in.error("unknown element type " + code);
                    }
                }
                case ValueInfo.SHAPE -> shape = decodeShape(field);
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
            if (ProtoReader.fieldNumber(field) == ValueInfo.DIM) {
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
                case ValueInfo.DIM_VALUE -> {
                    long value = in.readVarint(field, "dim_value");
                    // Some exporters write -1 for "dynamic"; treat any negative size that way.
                    dimension = value >= 0 ? OnnxDimension.of(value) : OnnxDimension.unknown();
                }
                case ValueInfo.DIM_PARAM ->
                        dimension = OnnxDimension.symbolic(in.readString(field, "dim_param"));
                default -> in.skipField(field);
            }
        }
        in.exitMessage(enclosing);
        return dimension;
    }
}
