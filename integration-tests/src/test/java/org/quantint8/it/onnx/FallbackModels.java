package org.quantint8.it.onnx;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Small models with operators the interpreter lacks, written for the fallback tests. */
final class FallbackModels {

    static final int FEATURES = 16;

    private FallbackModels() {}

    /**
     * Writes {@code model.onnx}: {@code MatMul -> HardSigmoid(alpha 0.3) -> Softplus -> Add}, of
     * which HardSigmoid and Softplus have no interpreter operator.
     *
     * @param dir the folder
     * @return the file
     * @throws IOException if the file cannot be written
     */
    static Path writeMixed(Path dir) throws IOException {
        float[] weights = new float[FEATURES * FEATURES];
        Random random = new Random(7);
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (float) random.nextGaussian();
        }
        OnnxGraph graph =
                OnnxGraph.builder()
                        .optName("mixed")
                        .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2, FEATURES))
                        .addInitializer(OnnxTensor.of("W", weights, FEATURES, FEATURES))
                        .addInitializer(OnnxTensor.of("b", new float[] {0.5f}, 1))
                        .addNode(node("MatMul", "mm", "h", "x", "W").build())
                        .addNode(
                                node("HardSigmoid", "hard", "s", "h")
                                        .addAttribute(OnnxAttribute.ofFloat("alpha", 0.3f))
                                        .build())
                        .addNode(node("Softplus", "soft", "p", "s").build())
                        .addNode(node("Add", "add", "y", "p", "b").build())
                        .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, FEATURES))
                        .build();
        return write(dir, graph);
    }

    /**
     * Writes {@code model.onnx} with one node of an operator type no one knows.
     *
     * @param dir the folder
     * @param domain the operator domain
     * @return the file
     * @throws IOException if the file cannot be written
     */
    static Path writeUnknown(Path dir, String domain) throws IOException {
        OnnxGraph graph =
                OnnxGraph.builder()
                        .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2))
                        .addNode(node("NoSuchOp", "mystery", "y", "x").optDomain(domain).build())
                        .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2))
                        .build();
        return write(dir, graph);
    }

    private static Path write(Path dir, OnnxGraph graph) throws IOException {
        Files.createDirectories(dir);
        OnnxModel.Builder model = OnnxModel.builder().setGraph(graph).addOpsetImport("", 17);
        model.addOpsetImport("com.example", 1);
        Path file = dir.resolve("model.onnx");
        OnnxModelWriter.builder().build().write(model.build(), file);
        return file;
    }

    private static OnnxNode.Builder node(String op, String name, String output, String... inputs) {
        return OnnxNode.builder().setOpType(op).optName(name).addInput(inputs).addOutput(output);
    }
}
