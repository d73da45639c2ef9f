package org.quantint8.onnx;

import static org.quantint8.onnx.OnnxTestModels.decode;
import static org.quantint8.onnx.OnnxTestModels.encode;
import static org.quantint8.onnx.OnnxTestModels.modelWithInitializer;
import static org.quantint8.onnx.OnnxTestModels.tensorHeader;
import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertFalse;
import static org.testng.Assert.assertNull;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import ai.djl.ndarray.types.DataType;

import org.quantint8.onnx.OnnxModelWriter.TensorEncoding;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Writer-to-reader round trips of every modelled field, data type and encoding variant. */
public class OnnxRoundTripTest {

    @DataProvider
    public Object[][] encodings() {
        return new Object[][] {{TensorEncoding.RAW_DATA}, {TensorEncoding.TYPED_FIELDS}};
    }

    @Test(dataProvider = "encodings")
    public void reEncodingADecodedModelGivesTheSameBytes(TensorEncoding encoding)
            throws OnnxFormatException {
        OnnxModelWriter writer = OnnxModelWriter.builder().optTensorEncoding(encoding).build();
        byte[] first = writer.toByteArray(OnnxTestModels.sample());
        byte[] second = writer.toByteArray(decode(first));
        assertEquals(second, first);
    }

    @Test
    public void decodesEveryModelGraphAndValueInfoField() throws OnnxFormatException {
        OnnxModel model = decode(encode(OnnxTestModels.sample()));
        assertEquals(model.getIrVersion(), 9);
        assertEquals(model.getOpsetImports().size(), 2);
        assertEquals(model.getDefaultOpsetVersion().getAsLong(), 17);
        assertEquals(model.getOpsetVersion("ai.onnx").getAsLong(), 17);
        assertEquals(model.getOpsetVersion("com.example").getAsLong(), 1);
        assertFalse(model.getOpsetVersion("com.other").isPresent());
        assertEquals(model.getProducerName(), "quantint8-test");
        assertEquals(model.getProducerVersion(), "0.1");
        assertEquals(model.getDomain(), "org.quantint8");
        assertEquals(model.getModelVersion(), 3);
        assertEquals(model.getDocString(), "a sample");
        assertEquals(model.getMetadataProps().get("license"), "none");

        OnnxGraph graph = model.getGraph();
        assertEquals(graph.getName(), "main");
        assertEquals(graph.getDocString(), "sample graph");
        assertEquals(
                graph.getNodes().stream().map(OnnxNode::getOpType).toList(),
                List.of("MatMul", "Relu", "If", "Custom"));
        assertEquals(graph.getInitializers().keySet(), java.util.Set.of("W", "B", "cond"));
        assertEquals(graph.getInitializer("B").toLongArray(), new long[] {1, 2, 3, 4});
        OnnxValueInfo x = graph.getInputs().get(0);
        assertEquals(x.getElemType(), OnnxDataType.FLOAT);
        assertEquals(x.getShape(), List.of(OnnxDimension.symbolic("batch"), OnnxDimension.of(4)));
        OnnxValueInfo out = graph.getOutputs().get(0);
        assertEquals(out.getShape().get(1), OnnxDimension.unknown());
        assertEquals(out.getDocString(), "result");
        assertFalse(graph.getValueInfos().get(0).hasShape());
        assertEquals(graph.getValueInfos().get(0).getElemType(), OnnxDataType.UNDEFINED);
        assertEquals(graph.getNodes().get(1).getDocString(), "activation");
    }

    @Test
    public void decodesEveryAttributeType() throws OnnxFormatException {
        OnnxGraph graph = decode(encode(OnnxTestModels.sample())).getGraph();
        OnnxNode custom = graph.getNodes().get(3);
        assertEquals(custom.getDomain(), "com.example");
        assertEquals(custom.getName(), "custom");
        assertEquals(custom.getInputs(), List.of("z", "", "B"));
        assertEquals(custom.getOutputs(), List.of("out", ""));
        assertEquals(custom.getFloat("f", 0), 0.5f);
        assertEquals(custom.getInt("i", 0), -7);
        assertEquals(custom.getString("s", null), "héllo");
        assertEquals(custom.getTensor("t", null).toIntArray(), new int[] {1, -2});
        float[] floats = custom.getFloats("floats", null);
        assertEquals(floats[1], -2.5f);
        assertTrue(Float.isNaN(floats[2]));
        assertEquals(custom.getInts("ints", null), new long[] {0, Long.MIN_VALUE, Long.MAX_VALUE});
        assertEquals(custom.getStrings("strings", null), List.of("a", "", "ü"));
        assertEquals(
                custom.getAttributes().get("tensors").getTensors().get(1).getDims(),
                new long[] {1, 2});
        assertEquals(custom.getAttributes().get("graphs").getGraphs().get(0).getName(), "else");
        OnnxGraph thenBranch = graph.getNodes().get(2).getGraph("then_branch", null);
        assertEquals(thenBranch.getNodes().get(0).getInputs(), List.of("a"));
        assertEquals(thenBranch.getOutputs().get(0).getShape().get(1).value(), 4);
    }

    @Test
    public void attributeAccessorsReturnDefaultsAndNameTheNodeOnTypeMismatch() {
        OnnxNode custom = OnnxTestModels.sample().getGraph().getNodes().get(3);
        assertEquals(custom.getInt("missing", 42), 42);
        assertNull(custom.getGraph("missing", null));
        IllegalStateException e =
                expectThrows(IllegalStateException.class, () -> custom.getInt("f", 0));
        assertTrue(e.getMessage().contains("node 'custom' (com.example.Custom)"), e.getMessage());
        assertTrue(e.getMessage().contains("attribute 'f' is FLOAT, expected INT"), e.getMessage());
    }

    @DataProvider
    public Object[][] fixedWidthTypes() {
        List<Object[]> cases = new ArrayList<>();
        for (OnnxDataType type : OnnxDataType.values()) {
            if (type.isFixedWidth()) {
                for (TensorEncoding encoding : TensorEncoding.values()) {
                    cases.add(new Object[] {type, encoding});
                }
            }
        }
        return cases.toArray(Object[][]::new);
    }

    @Test(dataProvider = "fixedWidthTypes")
    public void everyFixedWidthTypeRoundTrips(OnnxDataType type, TensorEncoding encoding)
            throws OnnxFormatException {
        long[] dims = {3, 1};
        byte[] data = new byte[(int) type.storageBytes(3)];
        new Random(type.getCode()).nextBytes(data);
        OnnxTensor tensor = OnnxTensor.of("t", type, ByteBuffer.wrap(data), dims);
        OnnxTensor decoded = roundTripInitializer(tensor, encoding);
        assertEquals(decoded.getDataType(), type);
        assertEquals(decoded.getDims(), dims);
        assertEquals(decoded.toByteArray(), data);
    }

    @Test(dataProvider = "encodings")
    public void stringScalarAndEmptyTensorsRoundTrip(TensorEncoding encoding)
            throws OnnxFormatException {
        OnnxTensor strings =
                OnnxTensor.builder()
                        .optName("t")
                        .setDataType(OnnxDataType.STRING)
                        .setDims(3)
                        .setStrings(List.of("", "ab", "日本"))
                        .optDocString("words")
                        .build();
        OnnxTensor decoded = roundTripInitializer(strings, encoding);
        assertEquals(decoded.getStrings(), List.of("", "ab", "日本"));
        assertEquals(decoded.getDocString(), "words");
        assertEquals(
                roundTripInitializer(OnnxTensor.of("t", new float[] {2.5f}), encoding)
                        .toFloatArray(),
                new float[] {2.5f});
        OnnxTensor empty = roundTripInitializer(OnnxTensor.of("t", new float[0], 0, 3), encoding);
        assertEquals(empty.getDims(), new long[] {0, 3});
        assertEquals(empty.getElementCount(), 0);
    }

    @Test
    public void packedAndUnpackedRepeatedScalarsDecodeAlike() throws OnnxFormatException {
        float[] floats = {1.5f, -2f, 0f};
        for (boolean packed : new boolean[] {true, false}) {
            ProtoWriter tensor = new ProtoWriter();
            if (packed) {
                tensor.writePackedVarints(OnnxFields.Tensor.DIMS, new long[] {3});
            } else {
                tensor.writeVarintField(OnnxFields.Tensor.DIMS, 3);
            }
            tensor.writeVarintField(OnnxFields.Tensor.DATA_TYPE, OnnxDataType.FLOAT.getCode());
            tensor.writeStringField(OnnxFields.Tensor.NAME, "t");
            ProtoWriter run = new ProtoWriter();
            for (float value : floats) {
                ProtoWriter target = packed ? run : tensor;
                if (!packed) {
                    tensor.writeTag(4, ProtoReader.FIXED32);
                }
                target.writeFixed32(Float.floatToRawIntBits(value));
            }
            if (packed) {
                tensor.writeMessageField(4, run);
            }
            assertEquals(decodeInitializer(tensor).toFloatArray(), floats, "packed=" + packed);
        }
        assertVarintFieldDecodes(
                OnnxDataType.INT8, 5, new long[] {-1, 127, -128}, new int[] {-1, 127, -128});
        assertVarintFieldDecodes(
                OnnxDataType.UINT16, 5, new long[] {65535, 0, 7}, new int[] {65535, 0, 7});
        assertVarintFieldDecodes(OnnxDataType.INT64, 7, new long[] {Long.MIN_VALUE, -1, 9}, null);
        assertVarintFieldDecodes(OnnxDataType.UINT64, 11, new long[] {-1, 0, 1L << 40}, null);
        assertVarintFieldDecodes(OnnxDataType.UINT32, 11, new long[] {0xFFFF_FFFFL, 0, 1}, null);
    }

    private static void assertVarintFieldDecodes(
            OnnxDataType type, int field, long[] values, int[] expectedInts)
            throws OnnxFormatException {
        for (boolean packed : new boolean[] {true, false}) {
            ProtoWriter tensor = tensorHeader(type, values.length);
            if (packed) {
                tensor.writePackedVarints(field, values);
            } else {
                for (long value : values) {
                    tensor.writeVarintField(field, value);
                }
            }
            OnnxTensor decoded = decodeInitializer(tensor);
            String label = type + " packed=" + packed;
            if (expectedInts != null) {
                assertEquals(decoded.toIntArray(), expectedInts, label);
            } else if (type == OnnxDataType.UINT32) {
                assertEquals(decoded.toLongArray(), values, label);
            } else {
                assertEquals(decoded.getData().asLongBuffer().get(1), values[1], label);
                assertEquals(decoded.toLongArray(), values, label);
            }
        }
    }

    @Test
    public void packedAttributeListsDecodeLikeTheUnpackedOnesTheWriterEmits()
            throws OnnxFormatException {
        ProtoWriter floats = new ProtoWriter();
        floats.writeFixed32(Float.floatToRawIntBits(0.25f));
        floats.writeFixed32(Float.floatToRawIntBits(-1f));
        ProtoWriter ints = new ProtoWriter();
        ints.writeVarint(-3);
        ints.writeVarint(300);
        OnnxNode node =
                decodeNodeWithAttributes(
                        attribute(
                                "fs",
                                OnnxAttribute.Type.FLOATS,
                                OnnxFields.Attribute.FLOATS,
                                floats),
                        attribute("is", OnnxAttribute.Type.INTS, OnnxFields.Attribute.INTS, ints));
        assertEquals(node.getFloats("fs", null), new float[] {0.25f, -1f});
        assertEquals(node.getInts("is", null), new long[] {-3, 300});
    }

    private static ProtoWriter attribute(
            String name, OnnxAttribute.Type type, int field, ProtoWriter packedValues) {
        ProtoWriter attribute = new ProtoWriter();
        attribute.writeStringField(OnnxFields.Attribute.NAME, name);
        attribute.writeMessageField(field, packedValues);
        attribute.writeVarintField(OnnxFields.Attribute.TYPE, type.getCode());
        return attribute;
    }

    private static OnnxNode decodeNodeWithAttributes(ProtoWriter... attributes)
            throws OnnxFormatException {
        ProtoWriter node = new ProtoWriter();
        node.writeStringField(OnnxFields.Node.OP_TYPE, "Op");
        for (ProtoWriter attribute : attributes) {
            node.writeMessageField(OnnxFields.Node.ATTRIBUTE, attribute);
        }
        ProtoWriter graph = new ProtoWriter();
        graph.writeMessageField(OnnxFields.Graph.NODE, node);
        return decode(OnnxTestModels.modelWithGraph(graph)).getGraph().getNodes().get(0);
    }

    @Test
    public void doubleDataAndUnknownFieldsOfEveryWireTypeAreHandled() throws OnnxFormatException {
        ProtoWriter tensor = tensorHeader(OnnxDataType.DOUBLE, 2);
        tensor.writeVarintField(1000, 5); // unknown fields: varint, fixed64, bytes, fixed32, group
        tensor.writeTag(1001, ProtoReader.FIXED64);
        tensor.writeFixed64(-1);
        tensor.writeStringField(1002, "ignored");
        tensor.writeTag(1003, ProtoReader.FIXED32);
        tensor.writeFixed32(7);
        tensor.writeTag(1004, ProtoReader.START_GROUP);
        tensor.writeVarintField(1, 1);
        tensor.writeTag(1004, ProtoReader.END_GROUP);
        for (double value : new double[] {Math.PI, -0.0}) {
            tensor.writeTag(10, ProtoReader.FIXED64); // unpacked double_data
            tensor.writeFixed64(Double.doubleToRawLongBits(value));
        }
        OnnxTensor decoded = decodeInitializer(tensor);
        assertEquals(decoded.getData().getDouble(0), Math.PI);
        assertEquals(decoded.toFloatArray(), new float[] {(float) Math.PI, -0.0f});
    }

    @Test
    public void tensorConversionsWidenAndRejectUnsuitableTypes() {
        ByteBuffer halves = OnnxTestModels.littleEndian(new byte[4]);
        halves.putShort(0, Float.floatToFloat16(1.5f))
                .putShort(2, (short) (Float.floatToRawIntBits(-3f) >>> 16));
        assertEquals(
                OnnxTensor.of("h", OnnxDataType.FLOAT16, halves.slice(0, 2), 1).toFloatArray(),
                new float[] {1.5f});
        assertEquals(
                OnnxTensor.of("b", OnnxDataType.BFLOAT16, halves.slice(2, 2)).toFloatArray(),
                new float[] {-3f});
        OnnxTensor bytes =
                OnnxTensor.of("u", OnnxDataType.UINT8, ByteBuffer.wrap(new byte[] {(byte) 200}), 1);
        assertEquals(bytes.toLongArray(), new long[] {200});
        assertEquals(bytes.toIntArray(), new int[] {200});
        expectThrows(
                IllegalStateException.class,
                () -> OnnxTensor.of("l", new long[] {1}, 1).toIntArray());
        expectThrows(IllegalStateException.class, () -> bytes.toFloatArray());
        expectThrows(
                IllegalArgumentException.class, () -> OnnxTensor.of("bad", new float[3], 2, 2));
    }

    @Test
    public void dataTypesMapToDjlWhereDjlHasThem() {
        assertEquals(OnnxDataType.FLOAT.toDjl(), DataType.FLOAT32);
        assertEquals(OnnxDataType.BOOL.toDjl(), DataType.BOOLEAN);
        assertEquals(OnnxDataType.BFLOAT16.toDjl(), DataType.BFLOAT16);
        assertNull(OnnxDataType.FLOAT8E4M3FN.toDjl());
        for (OnnxDataType type : OnnxDataType.values()) {
            assertEquals(OnnxDataType.fromCode(type.getCode()), type);
            if (type.toDjl() != null && type != OnnxDataType.UNDEFINED) {
                assertEquals(OnnxDataType.fromDjl(type.toDjl()), type);
            }
        }
        assertNull(OnnxDataType.fromCode(27));
        assertEquals(OnnxDataType.INT4.storageBytes(3), 2);
    }

    private static OnnxTensor roundTripInitializer(OnnxTensor tensor, TensorEncoding encoding)
            throws OnnxFormatException {
        OnnxModel model =
                OnnxModel.builder()
                        .addOpsetImport("", 13)
                        .setGraph(
                                OnnxGraph.builder()
                                        .addInitializer(tensor)
                                        .addOutput(
                                                OnnxValueInfo.tensor(
                                                        "t",
                                                        tensor.getDataType(),
                                                        tensor.getDims()))
                                        .build())
                        .build();
        byte[] bytes =
                OnnxModelWriter.builder().optTensorEncoding(encoding).build().toByteArray(model);
        return decode(bytes).getGraph().getInitializer("t");
    }

    static OnnxTensor decodeInitializer(ProtoWriter tensor) throws OnnxFormatException {
        return decode(modelWithInitializer(tensor)).getGraph().getInitializer("t");
    }
}
