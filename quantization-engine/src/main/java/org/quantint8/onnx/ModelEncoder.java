package org.quantint8.onnx;

import org.quantint8.onnx.OnnxFields.Attribute;
import org.quantint8.onnx.OnnxFields.Graph;
import org.quantint8.onnx.OnnxFields.Model;
import org.quantint8.onnx.OnnxFields.Node;
import org.quantint8.onnx.OnnxFields.OpsetId;
import org.quantint8.onnx.OnnxFields.Tensor;
import org.quantint8.onnx.OnnxFields.ValueInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * Encodes an {@link OnnxModel} into protobuf messages, the inverse of {@link ModelDecoder} and
 * {@link TensorDecoder}.
 *
 * <p>Fields are written in field-number order, repeated scalars the way {@code onnx.proto}
 * declares them (tensor data packed, dims and attribute lists not), and fields at their default
 * value are left out, as protobuf serializers do. Tensor data is appended by reference.
 */
final class ModelEncoder {

    private final OnnxModelWriter.TensorEncoding tensorEncoding;
    private final ExternalDataWriter externalData;

    /**
     * Creates an encoder.
     *
     * @param tensorEncoding where numeric tensor data goes inside the model
     * @param externalData receives the data of large tensors, or {@code null} to keep all inside
     */
    ModelEncoder(OnnxModelWriter.TensorEncoding tensorEncoding, ExternalDataWriter externalData) {
        this.tensorEncoding = tensorEncoding;
        this.externalData = externalData;
    }

    /**
     * Encodes a model.
     *
     * @param model the model
     * @return the encoded {@code ModelProto}
     * @throws IOException if writing external data fails
     */
    ProtoWriter encodeModel(OnnxModel model) throws IOException {
        ProtoWriter out = new ProtoWriter();
        out.writeVarintField(Model.IR_VERSION, model.getIrVersion());
        out.writeStringFieldIfSet(Model.PRODUCER_NAME, model.getProducerName());
        out.writeStringFieldIfSet(Model.PRODUCER_VERSION, model.getProducerVersion());
        out.writeStringFieldIfSet(Model.DOMAIN, model.getDomain());
        if (model.getModelVersion() != 0) {
            out.writeVarintField(Model.MODEL_VERSION, model.getModelVersion());
        }
        out.writeStringFieldIfSet(Model.DOC_STRING, model.getDocString());
        out.writeMessageField(Model.GRAPH, encodeGraph(model.getGraph()));
        for (OnnxOpsetImport opset : model.getOpsetImports()) {
            ProtoWriter entry = new ProtoWriter();
            entry.writeStringFieldIfSet(OpsetId.DOMAIN, opset.domain());
            entry.writeVarintField(OpsetId.VERSION, opset.version());
            out.writeMessageField(Model.OPSET_IMPORT, entry);
        }
        for (Map.Entry<String, String> prop : model.getMetadataProps().entrySet()) {
            new StringEntry(prop.getKey(), prop.getValue()).write(out, Model.METADATA_PROPS);
        }
        return out;
    }

    private ProtoWriter encodeGraph(OnnxGraph graph) throws IOException {
        ProtoWriter out = new ProtoWriter();
        for (OnnxNode node : graph.getNodes()) {
            out.writeMessageField(Graph.NODE, encodeNode(node));
        }
        out.writeStringFieldIfSet(Graph.NAME, graph.getName());
        for (OnnxTensor tensor : graph.getInitializers().values()) {
            out.writeMessageField(Graph.INITIALIZER, encodeTensor(tensor));
        }
        out.writeStringFieldIfSet(Graph.DOC_STRING, graph.getDocString());
        writeValueInfos(out, Graph.INPUT, graph.getInputs());
        writeValueInfos(out, Graph.OUTPUT, graph.getOutputs());
        writeValueInfos(out, Graph.VALUE_INFO, graph.getValueInfos());
        return out;
    }

    private ProtoWriter encodeNode(OnnxNode node) throws IOException {
        ProtoWriter out = new ProtoWriter();
        for (String input : node.getInputs()) {
            out.writeStringField(Node.INPUT, input); // empty names are meaningful: keep them
        }
        for (String output : node.getOutputs()) {
            out.writeStringField(Node.OUTPUT, output);
        }
        out.writeStringFieldIfSet(Node.NAME, node.getName());
        out.writeStringField(Node.OP_TYPE, node.getOpType());
        for (OnnxAttribute attribute : node.getAttributes().values()) {
            out.writeMessageField(Node.ATTRIBUTE, encodeAttribute(attribute));
        }
        out.writeStringFieldIfSet(Node.DOC_STRING, node.getDocString());
        out.writeStringFieldIfSet(Node.DOMAIN, node.getDomain());
        return out;
    }

    private ProtoWriter encodeAttribute(OnnxAttribute attribute) throws IOException {
        ProtoWriter out = new ProtoWriter();
        out.writeStringField(Attribute.NAME, attribute.getName());
        switch (attribute.getType()) {
            case FLOAT -> {
                out.writeTag(Attribute.F, ProtoReader.FIXED32);
                out.writeFixed32(Float.floatToRawIntBits(attribute.getFloat()));
            }
            case INT -> out.writeVarintField(Attribute.I, attribute.getInt());
            case STRING -> out.writeStringField(Attribute.S, attribute.getString());
            case TENSOR -> out.writeMessageField(Attribute.T, encodeTensor(attribute.getTensor()));
            case GRAPH -> out.writeMessageField(Attribute.G, encodeGraph(attribute.getGraph()));
            case FLOATS -> {
                for (float value : attribute.getFloats()) {
                    out.writeTag(Attribute.FLOATS, ProtoReader.FIXED32);
                    out.writeFixed32(Float.floatToRawIntBits(value));
                }
            }
            case INTS -> {
                for (long value : attribute.getInts()) {
                    out.writeVarintField(Attribute.INTS, value);
                }
            }
            case STRINGS -> {
                for (String value : attribute.getStrings()) {
                    out.writeStringField(Attribute.STRINGS, value);
                }
            }
            case TENSORS -> {
                for (OnnxTensor value : attribute.getTensors()) {
                    out.writeMessageField(Attribute.TENSORS, encodeTensor(value));
                }
            }
            case GRAPHS -> {
                for (OnnxGraph value : attribute.getGraphs()) {
                    out.writeMessageField(Attribute.GRAPHS, encodeGraph(value));
                }
            }
            default ->
                    throw new IllegalStateException(
                            "Attribute type " + attribute.getType() + " cannot be written");
        }
        out.writeVarintField(Attribute.TYPE, attribute.getType().getCode());
        return out;
    }

    private ProtoWriter encodeTensor(OnnxTensor tensor) throws IOException {
        ProtoWriter out = new ProtoWriter();
        for (long dim : tensor.getDims()) {
            out.writeVarintField(Tensor.DIMS, dim);
        }
        OnnxDataType type = tensor.getDataType();
        out.writeVarintField(Tensor.DATA_TYPE, type.getCode());
        if (type == OnnxDataType.STRING) {
            for (String value : tensor.getStrings()) {
                out.writeStringField(Tensor.STRING_DATA, value);
            }
        }
        boolean external =
                type != OnnxDataType.STRING
                        && externalData != null
                        && externalData.accepts(tensor.getData());
        boolean typed =
                type != OnnxDataType.STRING
                        && !external
                        && tensorEncoding == OnnxModelWriter.TensorEncoding.TYPED_FIELDS;
        if (typed) {
            writeTypedData(out, type, tensor.getData());
        }
        out.writeStringFieldIfSet(Tensor.NAME, tensor.getName());
        if (type != OnnxDataType.STRING && !external && !typed) {
            out.writeBytesField(Tensor.RAW_DATA, tensor.getData());
        }
        out.writeStringFieldIfSet(Tensor.DOC_STRING, tensor.getDocString());
        if (external) {
            for (StringEntry entry : externalData.append(tensor.getData())) {
                entry.write(out, Tensor.EXTERNAL_DATA);
            }
            out.writeVarintField(Tensor.DATA_LOCATION, Tensor.LOCATION_EXTERNAL);
        }
        return out;
    }

    /** Writes data in the type's typed field; the inverse of the decoder's raw-data layout. */
    private static void writeTypedData(ProtoWriter out, OnnxDataType type, ByteBuffer data) {
        int field = type.typedField().fieldNumber;
        if (type.typedField() == OnnxDataType.TypedField.FLOAT_DATA
                || type.typedField() == OnnxDataType.TypedField.DOUBLE_DATA) {
            out.writeBytesField(field, data); // packed little-endian floats are the raw bytes
            return;
        }
        int width = type.typedValueBytes();
        // Signed types of at least a byte are sign-extended, as protobuf writes negative ints.
        boolean signed = type.isSignedInteger() && type.getBits() >= 8;
        long[] values = new long[data.remaining() / width];
        for (int i = 0; i < values.length; i++) {
            values[i] = unit(data, i * width, width, signed);
        }
        out.writePackedVarints(field, values);
    }

    private static long unit(ByteBuffer data, int offset, int width, boolean signed) {
        return switch (width) {
            case 1 -> signed ? data.get(offset) : Byte.toUnsignedLong(data.get(offset));
            case 2 -> signed ? data.getShort(offset) : Short.toUnsignedLong(data.getShort(offset));
            case 4 -> signed ? data.getInt(offset) : Integer.toUnsignedLong(data.getInt(offset));
            default -> data.getLong(offset);
        };
    }

    private void writeValueInfos(ProtoWriter out, int field, List<OnnxValueInfo> infos) {
        for (OnnxValueInfo info : infos) {
            out.writeMessageField(field, encodeValueInfo(info));
        }
    }

    private static ProtoWriter encodeValueInfo(OnnxValueInfo info) {
        ProtoWriter out = new ProtoWriter();
        out.writeStringField(ValueInfo.NAME, info.getName());
        if (info.getElemType() != OnnxDataType.UNDEFINED || info.hasShape()) {
            ProtoWriter tensorType = new ProtoWriter();
            if (info.getElemType() != OnnxDataType.UNDEFINED) {
                tensorType.writeVarintField(ValueInfo.ELEM_TYPE, info.getElemType().getCode());
            }
            if (info.hasShape()) {
                tensorType.writeMessageField(ValueInfo.SHAPE, encodeShape(info.getShape()));
            }
            ProtoWriter type = new ProtoWriter();
            type.writeMessageField(ValueInfo.TENSOR_TYPE, tensorType);
            out.writeMessageField(ValueInfo.TYPE, type);
        }
        out.writeStringFieldIfSet(ValueInfo.DOC_STRING, info.getDocString());
        return out;
    }

    private static ProtoWriter encodeShape(List<OnnxDimension> shape) {
        ProtoWriter out = new ProtoWriter();
        for (OnnxDimension dimension : shape) {
            ProtoWriter dim = new ProtoWriter();
            if (dimension.isFixed()) {
                dim.writeVarintField(ValueInfo.DIM_VALUE, dimension.value());
            } else if (dimension.isSymbolic()) {
                dim.writeStringField(ValueInfo.DIM_PARAM, dimension.param());
            }
            out.writeMessageField(ValueInfo.DIM, dim);
        }
        return out;
    }
}
