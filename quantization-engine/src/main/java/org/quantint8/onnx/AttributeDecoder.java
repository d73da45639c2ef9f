package org.quantint8.onnx;

import org.quantint8.onnx.OnnxFields.Attribute;

import java.util.ArrayList;
import java.util.List;

/**
 * Decodes {@code AttributeProto} messages into {@link OnnxAttribute}s.
 *
 * <p>Graph-valued attributes are handed back to the {@link ModelDecoder}, which limits how deeply
 * subgraphs may nest.
 */
final class AttributeDecoder {

    private final ProtoReader in;
    private final DecodeContext context;
    private final TensorDecoder tensors;
    private final ModelDecoder graphs;

    /**
     * Creates a decoder.
     *
     * @param in the reader, shared with the other decoders
     * @param tensors decodes tensor values
     * @param graphs decodes graph values
     */
    AttributeDecoder(ProtoReader in, TensorDecoder tensors, ModelDecoder graphs) {
        this.in = in;
        this.context = in.context();
        this.tensors = tensors;
        this.graphs = graphs;
    }

    /** The fields of one {@code AttributeProto}, as read. */
    private static final class Fields {
        String name = "";
        long type;
        float f;
        long i;
        String s = "";
        OnnxTensor t;
        OnnxGraph g;
        final LongList floats = new LongList();
        final LongList ints = new LongList();
        final List<String> strings = new ArrayList<>();
        final List<OnnxTensor> tensors = new ArrayList<>();
        final List<OnnxGraph> graphs = new ArrayList<>();
    }

    /**
     * Decodes an attribute; the reader is positioned at its length prefix.
     *
     * @param tag the tag of the field holding the attribute
     * @return the attribute
     * @throws OnnxFormatException if the encoding is malformed or the attribute unsupported
     */
    OnnxAttribute decode(int tag) throws OnnxFormatException {
        Fields fields = new Fields();
        context.enter("attribute");
        try {
            int enclosing = in.enterMessage(tag, "attribute");
            while (in.hasMore()) {
                readField(in.readTag(), fields);
            }
            in.exitMessage(enclosing);
            return build(fields);
        } finally {
            context.leave();
        }
    }

    private void readField(int tag, Fields fields) throws OnnxFormatException {
        switch (ProtoReader.fieldNumber(tag)) {
            case Attribute.NAME -> {
                fields.name = in.readString(tag, "name");
                // Errors in the value, which in practice follows the name, then name the attribute.
                context.leave();
                context.enter("attribute '" + fields.name + "'");
            }
            case Attribute.TYPE -> fields.type = in.readVarint(tag, "type");
            case Attribute.F -> {
                in.expectWireType(tag, ProtoReader.FIXED32, "f");
                fields.f = Float.intBitsToFloat(in.readFixed32());
            }
            case Attribute.I -> fields.i = in.readVarint(tag, "i");
            case Attribute.S -> fields.s = in.readString(tag, "s");
            case Attribute.T -> fields.t = tensors.decode(tag);
            case Attribute.G -> fields.g = graphs.decodeSubgraph(tag);
            case Attribute.FLOATS -> in.readFixeds(tag, false, fields.floats, "floats");
            case Attribute.INTS -> in.readVarints(tag, fields.ints, "ints");
            case Attribute.STRINGS -> fields.strings.add(in.readString(tag, "strings"));
            case Attribute.TENSORS -> fields.tensors.add(tensors.decode(tag));
            case Attribute.GRAPHS -> fields.graphs.add(graphs.decodeSubgraph(tag));
            case Attribute.REF_ATTR_NAME ->
                    throw in.error(
                            "reference attributes (ref_attr_name) belong in functions and are"
                                    + " not supported");
            default -> in.skipField(tag);
        }
    }

    private OnnxAttribute build(Fields f) throws OnnxFormatException {
        OnnxAttribute.Type type = OnnxAttribute.Type.fromCode(f.type);
        if (type == null || type == OnnxAttribute.Type.UNDEFINED) {
            throw context.error("unknown or missing attribute type " + f.type);
        }
        String name = f.name;
        return context.build(
                () ->
                        switch (type) {
                            case FLOAT -> OnnxAttribute.ofFloat(name, f.f);
                            case INT -> OnnxAttribute.ofInt(name, f.i);
                            case STRING -> OnnxAttribute.ofString(name, f.s);
                            case TENSOR -> OnnxAttribute.ofTensor(name, required(f.t, type));
                            case GRAPH -> OnnxAttribute.ofGraph(name, required(f.g, type));
                            case FLOATS -> OnnxAttribute.ofFloats(name, floats(f.floats));
                            case INTS -> OnnxAttribute.ofInts(name, f.ints.toArray());
                            case STRINGS -> OnnxAttribute.ofStrings(name, f.strings);
                            case TENSORS -> OnnxAttribute.ofTensors(name, f.tensors);
                            case GRAPHS -> OnnxAttribute.ofGraphs(name, f.graphs);
                            default ->
                                    throw new IllegalArgumentException(
                                            "attribute type " + type + " is not supported");
                        });
    }

    private static <T> T required(T value, OnnxAttribute.Type type) {
        if (value == null) {
            throw new IllegalArgumentException("attribute of type " + type + " has no value");
        }
        return value;
    }

    private static float[] floats(LongList bits) {
        float[] values = new float[bits.size()];
        for (int k = 0; k < values.length; k++) {
            values[k] = Float.intBitsToFloat((int) bits.get(k));
        }
        return values;
    }
}
