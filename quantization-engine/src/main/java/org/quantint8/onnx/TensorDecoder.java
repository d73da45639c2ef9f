package org.quantint8.onnx;

import org.quantint8.onnx.OnnxFields.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes {@code TensorProto} messages into {@link OnnxTensor}s.
 *
 * <p>Raw data and external data stay views of the mapped files. Values in the typed fields
 * ({@code float_data}, {@code int32_data}, ...) are converted to raw-data layout, which needs an
 * allocation; it is bounded because every value takes at least one byte of the file, and at most
 * eight bytes of output. The element count implied by the dims is never used to allocate: it is
 * only compared with the data actually present.
 */
final class TensorDecoder {

    private final ProtoReader in;
    private final DecodeContext context;
    private final ExternalDataResolver externalData;

    /**
     * Creates a decoder.
     *
     * @param in the reader, shared with the other decoders
     * @param externalData resolves tensors stored outside the model file
     */
    TensorDecoder(ProtoReader in, ExternalDataResolver externalData) {
        this.in = in;
        this.context = in.context();
        this.externalData = externalData;
    }

    /** The fields of one {@code TensorProto}, as read. */
    private static final class Fields {
        final LongList dims = new LongList();
        long dataType;
        String name = "";
        String docString = "";
        ByteBuffer rawData;
        int typedField;
        final LongList typedValues = new LongList();
        final List<String> strings = new ArrayList<>();
        final List<StringEntry> externalData = new ArrayList<>();
        long dataLocation;
    }

    /**
     * Decodes a tensor; the reader is positioned at its length prefix.
     *
     * @param tag the tag of the field holding the tensor
     * @return the tensor
     * @throws OnnxFormatException if the encoding is malformed or the data does not match the
     *     type and shape
     */
    OnnxTensor decode(int tag) throws OnnxFormatException {
        Fields fields = new Fields();
        int enclosing = in.enterMessage(tag, "tensor");
        while (in.hasMore()) {
            readField(in.readTag(), fields);
        }
        in.exitMessage(enclosing);
        context.enter("tensor '" + fields.name + "'");
        try {
            return build(fields);
        } finally {
            context.leave();
        }
    }

    private void readField(int tag, Fields fields) throws OnnxFormatException {
        int field = ProtoReader.fieldNumber(tag);
        switch (field) {
            case Tensor.DIMS -> in.readVarints(tag, fields.dims, "dims");
            case Tensor.DATA_TYPE -> fields.dataType = in.readVarint(tag, "data_type");
            case Tensor.SEGMENT -> throw in.error("segmented tensors are not supported");
            case Tensor.STRING_DATA -> fields.strings.add(in.readString(tag, "string_data"));
            case Tensor.NAME -> fields.name = in.readString(tag, "name");
            case Tensor.RAW_DATA -> fields.rawData = in.readBytes(tag, "raw_data");
            case Tensor.DOC_STRING -> fields.docString = in.readString(tag, "doc_string");
            case Tensor.EXTERNAL_DATA -> {
                in.expectWireType(tag, ProtoReader.LEN, "external_data");
                fields.externalData.add(StringEntry.read(in));
            }
            case Tensor.DATA_LOCATION -> fields.dataLocation = in.readVarint(tag, "data_location");
            default -> readTypedOrSkip(tag, field, fields);
        }
    }

    private void readTypedOrSkip(int tag, int field, Fields fields) throws OnnxFormatException {
        OnnxDataType.TypedField typed = typedField(field);
        if (typed == null) {
            in.skipField(tag);
            return;
        }
        if (fields.typedField != 0 && fields.typedField != field) {
            throw in.error("tensor has values in more than one typed data field");
        }
        fields.typedField = field;
        String name = typed.name().toLowerCase(java.util.Locale.ROOT);
        switch (typed) {
            case FLOAT_DATA -> in.readFixeds(tag, false, fields.typedValues, name);
            case DOUBLE_DATA -> in.readFixeds(tag, true, fields.typedValues, name);
            default -> in.readVarints(tag, fields.typedValues, name);
        }
    }

    private static OnnxDataType.TypedField typedField(int field) {
        for (OnnxDataType.TypedField typed : OnnxDataType.TypedField.values()) {
            if (typed.fieldNumber == field
                    && typed != OnnxDataType.TypedField.NONE
                    && typed != OnnxDataType.TypedField.STRING_DATA) {
                return typed;
            }
        }
        return null;
    }

    private OnnxTensor build(Fields fields) throws OnnxFormatException {
        OnnxDataType type = OnnxDataType.fromCode(fields.dataType);
        if (type == null || type == OnnxDataType.UNDEFINED) {
            throw context.error("unknown or undefined data type " + fields.dataType);
        }
        long[] dims = fields.dims.toArray();
        long count = context.build(() -> OnnxTensor.elementCount(dims));
        checkSingleSource(fields, type);
        OnnxTensor.Builder builder =
                OnnxTensor.builder()
                        .optName(fields.name)
                        .setDataType(type)
                        .setDims(dims)
                        .optDocString(fields.docString);
        if (type == OnnxDataType.STRING) {
            builder.setStrings(fields.strings);
        } else {
            builder.setData(numericData(fields, type, count));
        }
        return context.build(builder::build);
    }

    private void checkSingleSource(Fields fields, OnnxDataType type) throws OnnxFormatException {
        boolean external = fields.dataLocation == Tensor.LOCATION_EXTERNAL;
        if (fields.dataLocation != 0 && !external) {
            throw context.error("unknown data_location " + fields.dataLocation);
        }
        int sources =
                (fields.rawData != null ? 1 : 0)
                        + (fields.typedField != 0 ? 1 : 0)
                        + (fields.strings.isEmpty() ? 0 : 1)
                        + (external ? 1 : 0);
        if (sources > 1) {
            throw context.error("tensor data is given in more than one way");
        }
        if (type == OnnxDataType.STRING && sources - (fields.strings.isEmpty() ? 0 : 1) > 0) {
            throw context.error("a STRING tensor must hold its data in string_data");
        }
        if (!fields.strings.isEmpty() && type != OnnxDataType.STRING) {
            throw context.error("string_data in a tensor of type " + type);
        }
        if (fields.typedField != 0 && fields.typedField != type.typedField().fieldNumber) {
            throw context.error(
                    "typed data field "
                            + fields.typedField
                            + " cannot hold "
                            + type
                            + " values, that is field "
                            + type.typedField().fieldNumber);
        }
    }

    private ByteBuffer numericData(Fields fields, OnnxDataType type, long count)
            throws OnnxFormatException {
        if (fields.dataLocation == Tensor.LOCATION_EXTERNAL) {
            long expected = context.build(() -> storageBytes(type, count));
            return externalData.resolve(fields.externalData, expected);
        }
        if (fields.rawData != null) {
            return fields.rawData;
        }
        int width = type.typedValueBytes();
        if (fields.typedValues.size() > Integer.MAX_VALUE / width) {
            throw context.error("typed tensor data exceeds 2 GiB");
        }
        return typedToRaw(fields.typedValues, width);
    }

    private static long storageBytes(OnnxDataType type, long count) {
        try {
            return type.storageBytes(count);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor data size overflows", e);
        }
    }

    /** Lays typed-field values out as raw data, keeping the low bytes of each. */
    private static ByteBuffer typedToRaw(LongList values, int width) {
        ByteBuffer raw = ByteBuffer.allocate(values.size() * width).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.size(); i++) {
            long value = values.get(i);
            for (int b = 0; b < width; b++) {
                raw.put((byte) (value >>> (8 * b)));
            }
        }
        return raw.flip();
    }
}
