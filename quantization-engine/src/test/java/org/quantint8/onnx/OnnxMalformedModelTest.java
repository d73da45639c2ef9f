package org.quantint8.onnx;

import static org.quantint8.onnx.OnnxRoundTripTest.decodeInitializer;
import static org.quantint8.onnx.OnnxTestModels.decode;
import static org.quantint8.onnx.OnnxTestModels.encode;
import static org.quantint8.onnx.OnnxTestModels.modelWithGraph;
import static org.quantint8.onnx.OnnxTestModels.node;
import static org.quantint8.onnx.OnnxTestModels.tensorHeader;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.testng.annotations.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Malformed files are rejected with an {@link OnnxFormatException} that says where and why. */
public class OnnxMalformedModelTest {

    @Test
    public void truncatedFileNamesTheFileAndOffset() throws Exception {
        byte[] bytes = encode(OnnxTestModels.sample());
        Path file = Files.createTempFile("truncated", ".onnx");
        try {
            Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
            OnnxFormatException e =
                    expectThrows(OnnxFormatException.class, () -> OnnxModelReader.read(file));
            assertMessage(e, file + ": ", "exceeds the", "bytes remaining", "(at byte ");
        } finally {
            Files.delete(file);
        }
    }

    @Test
    public void wrongWireTypeIsRejected() {
        ProtoWriter model = new ProtoWriter();
        model.writeStringField(OnnxFields.Model.IR_VERSION, "7");
        assertRejected(
                model.toByteArray(),
                "test.onnx: field 'ir_version' has wire type length-delimited, expected varint (at"
                        + " byte 0)");

        ProtoWriter nodeProto = new ProtoWriter();
        nodeProto.writeVarintField(OnnxFields.Node.OP_TYPE, 3);
        ProtoWriter graph = new ProtoWriter();
        graph.writeMessageField(OnnxFields.Graph.NODE, nodeProto);
        assertRejected(modelWithGraph(graph), "node #0: field 'op_type' has wire type varint");
    }

    @Test
    public void absurdDimsAreRejectedWithoutAllocating() {
        ProtoWriter overflow = tensorHeader(OnnxDataType.FLOAT, 1L << 62, 1L << 62);
        assertRejected(
                overflow,
                "tensor 't': Shape [4611686018427387904, 4611686018427387904] has more than 2^63"
                        + " elements");
        ProtoWriter negative = tensorHeader(OnnxDataType.FLOAT, 2, -1);
        assertRejected(negative, "Dimension -1 of shape [2, -1] is negative");
        ProtoWriter tooBig = tensorHeader(OnnxDataType.FLOAT, 1_000_000_000L);
        tooBig.writeBytesField(
                OnnxFields.Tensor.RAW_DATA, OnnxTestModels.littleEndian(new byte[4]));
        assertRejected(tooBig, "needs 4000000000 bytes of data, got 4");
        ProtoWriter bytesOverflow = tensorHeader(OnnxDataType.DOUBLE, 1L << 61);
        assertRejected(bytesOverflow, "initializer #0: tensor 't'", "too big");
    }

    @Test
    public void invalidUtf8IsRejected() {
        ProtoWriter nodeProto = new ProtoWriter();
        nodeProto.writeBytesField(
                OnnxFields.Node.NAME, OnnxTestModels.littleEndian(new byte[] {(byte) 0xC3, 0x28}));
        ProtoWriter graph = new ProtoWriter();
        graph.writeMessageField(OnnxFields.Graph.NODE, nodeProto);
        assertRejected(
                modelWithGraph(graph), "test.onnx: node #0: string is not valid UTF-8 (at byte ");
    }

    @Test
    public void danglingInputsDuplicateOutputsAndMissingOutputsAreRejected() {
        OnnxGraph.Builder dangling =
                OnnxGraph.builder()
                        .optName("g")
                        .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 1))
                        .addNode(node("Relu", "r").addInput("x").addOutput("y").build())
                        .addNode(node("Add", "add").addInput("y", "nope").addOutput("z").build());
        assertRejected(
                dangling,
                "test.onnx: graph 'g': node #1 'add' (Add): input 'nope' is not a graph"
                        + " input, an initializer or an output of an earlier node");

        OnnxGraph.Builder twice =
                OnnxGraph.builder()
                        .optName("g")
                        .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 1))
                        .addNode(node("Relu", "r").addInput("x").addOutput("x").build());
        assertRejected(twice, "node #0 'r' (Relu): output 'x' is already defined in this graph");

        OnnxGraph.Builder missing =
                OnnxGraph.builder()
                        .optName("g")
                        .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 1));
        assertRejected(missing, "graph 'g': graph output 'y' is not produced by any node");

        OnnxGraph inner =
                OnnxGraph.builder()
                        .optName("body")
                        .addNode(node("Neg", "neg").addInput("later").addOutput("o").build())
                        .build();
        OnnxGraph.Builder outerLater =
                OnnxGraph.builder()
                        .optName("g")
                        .addNode(
                                node("If", "if")
                                        .addAttribute(OnnxAttribute.ofGraph("then_branch", inner))
                                        .build())
                        .addNode(node("Constant", "c").addOutput("later").build());
        assertRejected(
                outerLater,
                "graph 'g': node #0 'if' (If): attribute 'then_branch': graph 'body':"
                        + " node #0 'neg' (Neg): input 'later' is not");
    }

    @Test
    public void overlongVarintAndHugeLengthsAreRejected() {
        byte[] overlong = new byte[12];
        overlong[0] = 8; // field 1, varint
        Arrays.fill(overlong, 1, 12, (byte) 0x80);
        assertRejected(overlong, "test.onnx: varint longer than 10 bytes (at byte 1)");

        ProtoWriter huge = new ProtoWriter();
        huge.writeTag(OnnxFields.Model.GRAPH, ProtoReader.LEN);
        huge.writeVarint(1L << 40);
        assertRejected(
                huge.toByteArray(),
                "declared length 1099511627776 exceeds the 0 bytes remaining (at byte 1)");
    }

    @Test
    public void unsupportedConstructsAreRejectedClearly() {
        ProtoWriter graph = new ProtoWriter();
        graph.writeMessageField(OnnxFields.Graph.SPARSE_INITIALIZER, new ProtoWriter());
        assertRejected(modelWithGraph(graph), "sparse initializers are not supported");

        ProtoWriter segmented = tensorHeader(OnnxDataType.FLOAT, 0);
        segmented.writeMessageField(OnnxFields.Tensor.SEGMENT, new ProtoWriter());
        assertRejected(segmented, "segmented tensors are not supported");

        assertRejected(
                attributeModel(OnnxFields.Attribute.REF_ATTR_NAME, 0),
                "attribute 'a': reference attributes");
        assertRejected(
                attributeModel(0, OnnxAttribute.Type.SPARSE_TENSOR.getCode()),
                "node #0: attribute 'a': attribute type SPARSE_TENSOR is not supported");
        assertRejected(attributeModel(0, 99), "unknown or missing attribute type 99");
        assertRejected(
                attributeModel(0, OnnxAttribute.Type.GRAPH.getCode()),
                "attribute of type GRAPH has no value");
    }

    @Test
    public void badTensorDataIsRejected() {
        assertRejected(
                tensorHeader(OnnxDataType.fromCode(0), 1), "unknown or undefined data type 0");
        ProtoWriter unknownType = new ProtoWriter();
        unknownType.writeVarintField(OnnxFields.Tensor.DATA_TYPE, 99);
        assertRejected(unknownType, "unknown or undefined data type 99");
        ProtoWriter mismatch = tensorHeader(OnnxDataType.INT64, 1);
        mismatch.writeBytesField(4, OnnxTestModels.littleEndian(new byte[4])); // float_data
        assertRejected(mismatch, "typed data field 4 cannot hold INT64 values, that is field 7");
        ProtoWriter twoSources = tensorHeader(OnnxDataType.INT64, 1);
        twoSources.writePackedVarints(7, new long[] {1});
        twoSources.writeBytesField(
                OnnxFields.Tensor.RAW_DATA, OnnxTestModels.littleEndian(new byte[8]));
        assertRejected(twoSources, "tensor data is given in more than one way");
        ProtoWriter external = tensorHeader(OnnxDataType.INT8, 1);
        external.writeVarintField(
                OnnxFields.Tensor.DATA_LOCATION, OnnxFields.Tensor.LOCATION_EXTERNAL);
        assertRejected(
                external, "external data needs a model file; this model was read from memory");
    }

    @Test
    public void missingGraphAndDeepSubgraphsAreRejected() {
        ProtoWriter model = new ProtoWriter();
        model.writeVarintField(OnnxFields.Model.IR_VERSION, 8);
        assertRejected(model.toByteArray(), "test.onnx: the model has no graph");

        OnnxGraph.Builder graph = OnnxGraph.builder(); // the innermost of 17 nested subgraphs
        for (int level = 0; level <= ModelDecoder.MAX_SUBGRAPH_DEPTH; level++) {
            OnnxAttribute body = OnnxAttribute.ofGraph("body", graph.build());
            graph =
                    OnnxGraph.builder()
                            .addNode(node("Wrap", "w" + level).addAttribute(body).build());
        }
        assertRejected(graph, "subgraphs nested deeper than 16 levels");
    }

    private static byte[] attributeModel(int extraField, int type) {
        ProtoWriter attribute = new ProtoWriter();
        attribute.writeStringField(OnnxFields.Attribute.NAME, "a");
        if (extraField != 0) {
            attribute.writeStringField(extraField, "outer");
        }
        attribute.writeVarintField(OnnxFields.Attribute.TYPE, type);
        ProtoWriter nodeProto = new ProtoWriter();
        nodeProto.writeStringField(OnnxFields.Node.OP_TYPE, "Op");
        nodeProto.writeMessageField(OnnxFields.Node.ATTRIBUTE, attribute);
        ProtoWriter graph = new ProtoWriter();
        graph.writeMessageField(OnnxFields.Graph.NODE, nodeProto);
        return modelWithGraph(graph);
    }

    private static void assertRejected(OnnxGraph.Builder graph, String... fragments) {
        byte[] bytes =
                encode(OnnxModel.builder().addOpsetImport("", 13).setGraph(graph.build()).build());
        assertRejected(bytes, fragments);
    }

    private static void assertRejected(ProtoWriter tensor, String... fragments) {
        OnnxFormatException e =
                expectThrows(OnnxFormatException.class, () -> decodeInitializer(tensor));
        assertMessage(e, fragments);
    }

    private static void assertRejected(byte[] bytes, String... fragments) {
        OnnxFormatException e = expectThrows(OnnxFormatException.class, () -> decode(bytes));
        assertMessage(e, fragments);
    }

    static void assertMessage(Exception e, String... fragments) {
        for (String fragment : fragments) {
            assertTrue(
                    e.getMessage().contains(fragment),
                    "'" + fragment + "' not in: " + e.getMessage());
        }
    }
}
