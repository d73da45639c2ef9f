package org.quantint8.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Models and hand-encoded protobuf messages shared by the ONNX tests. */
final class OnnxTestModels {

    static final String SOURCE = "test.onnx";

    private OnnxTestModels() {}

    /**
     * Returns a small model that uses every modelled field: metadata, two opsets, symbolic and
     * fixed dims, initializers of three kinds, attributes of every supported type including a
     * nested subgraph that reads a value of its enclosing graph.
     */
    static OnnxModel sample() {
        OnnxGraph thenBranch = branch("then", "Identity", "t");
        OnnxGraph elseBranch = branch("else", "Neg", "e");
        OnnxNode custom = customNode(elseBranch);
        OnnxGraph graph =
                OnnxGraph.builder()
                        .optName("main")
                        .optDocString("sample graph")
                        .addInput(
                                OnnxValueInfo.tensor(
                                        "x",
                                        OnnxDataType.FLOAT,
                                        List.of(
                                                OnnxDimension.symbolic("batch"),
                                                OnnxDimension.of(4))))
                        .addInitializer(OnnxTensor.of("W", new float[16], 4, 4))
                        .addInitializer(OnnxTensor.of("B", new long[] {1, 2, 3, 4}, 4))
                        .addInitializer(bool("cond", true))
                        .addNode(node("MatMul", "mm").addInput("x", "W").addOutput("h").build())
                        .addNode(
                                node("Relu", "relu")
                                        .optDocString("activation")
                                        .addInput("h")
                                        .addOutput("a")
                                        .build())
                        .addNode(
                                node("If", "if")
                                        .addInput("cond")
                                        .addOutput("z")
                                        .addAttribute(
                                                OnnxAttribute.ofGraph("then_branch", thenBranch))
                                        .addAttribute(
                                                OnnxAttribute.ofGraph("else_branch", elseBranch))
                                        .build())
                        .addNode(custom)
                        .addOutput(
                                OnnxValueInfo.of(
                                        "out",
                                        OnnxDataType.FLOAT,
                                        List.of(
                                                OnnxDimension.symbolic("batch"),
                                                OnnxDimension.unknown()),
                                        "result"))
                        .addValueInfo(OnnxValueInfo.of("h", OnnxDataType.UNDEFINED, null, ""))
                        .addValueInfo(OnnxValueInfo.tensor("a", OnnxDataType.FLOAT, 2, 4))
                        .build();
        return OnnxModel.builder()
                .setGraph(graph)
                .optIrVersion(9)
                .addOpsetImport("", 17)
                .addOpsetImport("com.example", 1)
                .optProducerName("quantint8-test")
                .optProducerVersion("0.1")
                .optDomain("org.quantint8")
                .optModelVersion(3)
                .optDocString("a sample")
                .addMetadataProp("author", "tests")
                .addMetadataProp("license", "none")
                .build();
    }

    /** A subgraph of one node that reads {@code a} from its enclosing graph. */
    private static OnnxGraph branch(String name, String opType, String output) {
        return OnnxGraph.builder()
                .optName(name)
                .addNode(node(opType, name + "_node").addInput("a").addOutput(output).build())
                .addOutput(OnnxValueInfo.tensor(output, OnnxDataType.FLOAT, 2, 4))
                .build();
    }

    /** A node of a custom domain with an attribute of every supported type. */
    private static OnnxNode customNode(OnnxGraph subgraph) {
        List<OnnxTensor> tensors =
                List.of(
                        OnnxTensor.of("x", new long[] {5}),
                        OnnxTensor.of("y", new float[] {1, 2}, 1, 2));
        return node("Custom", "custom")
                .optDomain("com.example")
                .optDocString("every attribute type")
                .addInput("z", "", "B")
                .addOutput("out", "")
                .addAttribute(OnnxAttribute.ofFloat("f", 0.5f))
                .addAttribute(OnnxAttribute.ofInt("i", -7))
                .addAttribute(OnnxAttribute.ofString("s", "héllo"))
                .addAttribute(OnnxAttribute.ofTensor("t", OnnxTensor.of("", new int[] {1, -2}, 2)))
                .addAttribute(OnnxAttribute.ofFloats("floats", 1f, -2.5f, Float.NaN))
                .addAttribute(OnnxAttribute.ofInts("ints", 0, Long.MIN_VALUE, Long.MAX_VALUE))
                .addAttribute(OnnxAttribute.ofStrings("strings", List.of("a", "", "ü")))
                .addAttribute(OnnxAttribute.ofTensors("tensors", tensors))
                .addAttribute(OnnxAttribute.ofGraphs("graphs", List.of(subgraph)))
                .build();
    }

    static OnnxNode.Builder node(String opType, String name) {
        return OnnxNode.builder().setOpType(opType).optName(name);
    }

    static OnnxTensor bool(String name, boolean value) {
        ByteBuffer data = ByteBuffer.wrap(new byte[] {(byte) (value ? 1 : 0)});
        return OnnxTensor.of(name, OnnxDataType.BOOL, data);
    }

    static byte[] encode(OnnxModel model) {
        return OnnxModelWriter.builder().build().toByteArray(model);
    }

    static OnnxModel decode(byte[] bytes) throws OnnxFormatException {
        return OnnxModelReader.read(ByteBuffer.wrap(bytes), SOURCE);
    }

    /**
     * Encodes a model whose graph has one hand-encoded initializer named {@code t}, also the
     * graph's output, so that tests can control every byte of a {@code TensorProto}.
     */
    static byte[] modelWithInitializer(ProtoWriter tensor) {
        ProtoWriter output = new ProtoWriter();
        output.writeStringField(OnnxFields.ValueInfo.NAME, "t");
        ProtoWriter graph = new ProtoWriter();
        graph.writeMessageField(OnnxFields.Graph.INITIALIZER, tensor);
        graph.writeMessageField(OnnxFields.Graph.OUTPUT, output);
        return modelWithGraph(graph);
    }

    /** Encodes a model around a hand-encoded graph. */
    static byte[] modelWithGraph(ProtoWriter graph) {
        ProtoWriter opset = new ProtoWriter();
        opset.writeVarintField(OnnxFields.OpsetId.VERSION, 13);
        ProtoWriter model = new ProtoWriter();
        model.writeVarintField(OnnxFields.Model.IR_VERSION, 7);
        model.writeMessageField(OnnxFields.Model.GRAPH, graph);
        model.writeMessageField(OnnxFields.Model.OPSET_IMPORT, opset);
        return model.toByteArray();
    }

    /** Starts a hand-encoded {@code TensorProto} named {@code t} with a type and dims. */
    static ProtoWriter tensorHeader(OnnxDataType type, long... dims) {
        ProtoWriter tensor = new ProtoWriter();
        for (long dim : dims) {
            tensor.writeVarintField(OnnxFields.Tensor.DIMS, dim);
        }
        tensor.writeVarintField(OnnxFields.Tensor.DATA_TYPE, type.getCode());
        tensor.writeStringField(OnnxFields.Tensor.NAME, "t");
        return tensor;
    }

    static ByteBuffer littleEndian(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }
}
