package org.quantint8.engine;

import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

public class QuantizedModelCacheTest {

    private static OnnxModel model() {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2))
                .addInitializer(OnnxTensor.of("b", new float[] {1f, 2f}, 2))
                .addNode(OnnxNode.builder().setOpType("Add").addInput("x", "b").addOutput("y")
                        .build())
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build();
    }

    @Test
    public void roundTripsAndRejectsDamage() throws IOException {
        Path dir = Files.createTempDirectory("quantint8-cache");
        QuantizedModelCache cache = new QuantizedModelCache(dir);
        Assert.assertTrue(cache.read("k").isEmpty());
        cache.write("k", model());
        OnnxModel back = cache.read("k").orElseThrow();
        Assert.assertEquals(back.getGraph().getNodes().get(0).getOpType(), "Add");

        // A flipped byte: the checksum catches it and the entry is removed.
        byte[] bytes = Files.readAllBytes(cache.modelFile("k"));
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(cache.modelFile("k"), bytes);
        Assert.assertTrue(cache.read("k").isEmpty());
        Assert.assertFalse(Files.exists(cache.modelFile("k")));

        // A truncated entry.
        cache.write("k", model());
        byte[] whole = Files.readAllBytes(cache.modelFile("k"));
        Files.write(cache.modelFile("k"), Arrays.copyOf(whole, whole.length - 7));
        Assert.assertTrue(cache.read("k").isEmpty());

        // A file without its sidecar (a write interrupted between the two moves).
        cache.write("k", model());
        Files.delete(dir.resolve("k.onnx.sha256"));
        Assert.assertTrue(cache.read("k").isEmpty());
        try (var files = Files.list(dir)) {
            Assert.assertTrue(files.noneMatch(f -> f.toString().endsWith(".tmp")), "temp left");
        }
    }

    @Test
    public void keyDependsOnSourceAndSettings() throws IOException {
        Path dir = Files.createTempDirectory("quantint8-key");
        Path source = dir.resolve("m.onnx");
        OnnxModelWriter.builder().build().write(model(), source);
        String a = QuantizedModelCache.key(source, "dynamic");
        Assert.assertEquals(QuantizedModelCache.key(source, "dynamic"), a);
        Assert.assertNotEquals(QuantizedModelCache.key(source, "static"), a);
        byte[] bytes = Files.readAllBytes(source);
        bytes[bytes.length - 1] ^= 1;
        Files.write(source, bytes);
        Assert.assertNotEquals(QuantizedModelCache.key(source, "dynamic"), a);
    }
}
