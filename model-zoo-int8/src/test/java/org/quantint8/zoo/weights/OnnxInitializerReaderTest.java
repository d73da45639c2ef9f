package org.quantint8.zoo.weights;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/** Reads the float initializers of a small ONNX file; a damaged file fails with its name. */
public class OnnxInitializerReaderTest {

    @Test
    public void readsFloatInitializersByName() throws IOException {
        ByteBuffer half = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-2f)).flip();
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 1, 2))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 1, 3))
                .addInitializer(OnnxTensor.of("fc.weight", new float[] {1, 2, 3, 4, 5, 6}, 2, 3))
                .addInitializer(OnnxTensor.of("fc.scale", OnnxDataType.FLOAT16, half, 2))
                .addInitializer(OnnxTensor.of("shape", new long[] {1, 3}, 2))
                .addNode(OnnxNode.builder().setOpType("MatMul").addInput("x", "fc.weight")
                        .addOutput("y").build())
                .build();
        OnnxModel model = OnnxModel.builder().setGraph(graph).addOpsetImport("", 17).build();
        Path file = Files.createTempFile("model", ".onnx");
        OnnxModelWriter.builder().build().write(model, file);

        Map<String, CheckpointTensor> tensors = OnnxInitializerReader.readAll(file);
        assertEquals(tensors.keySet(), Set.of("fc.weight", "fc.scale"));
        assertEquals(tensors.get("fc.weight").shape(), new long[] {2, 3});
        assertEquals(tensors.get("fc.weight").values(), new float[] {1, 2, 3, 4, 5, 6});
        assertEquals(tensors.get("fc.scale").values(), new float[] {1.5f, -2f});

        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
        WeightFormatException e = expectThrows(WeightFormatException.class,
                () -> OnnxInitializerReader.readAll(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }
}
