package org.quantint8.onnx.interpreter;

import static org.testng.Assert.assertTrue;
import static org.testng.Assert.fail;

import ai.djl.MalformedModelException;
import ai.djl.Model;

import org.quantint8.onnx.ModelMutator;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.annotations.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * Feeds seeded mutations of a small model through the whole loading path ({@code Model.load} of
 * the QuantInt8 engine: reading, constants, operator binding): each copy must load or fail with
 * a {@link MalformedModelException} naming the file, within a time and allocation bounded by its
 * size. The reader's own fuzz test covers the file format in more depth.
 */
public class LoadFuzzTest {

    private static final int COPIES = 1200;
    private static final int WARM_UP = 50;
    private static final long SEED = 0x10AD_F022L;

    /** Allocation allowed per copy: DJL's model set-up plus this multiple of the file size. */
    private static final long FIXED_ALLOWANCE = 4L << 20;

    private static final int MAX_RATIO = 64;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test(timeOut = 300_000)
    public void mutatedModelsLoadOrFailWithMalformedModelException() throws IOException {
        byte[] original = OnnxModelWriter.builder().build().toByteArray(model());
        List<int[]> prefixes = ModelMutator.lengthPrefixes(original);
        Path dir = Files.createTempDirectory("load-fuzz");
        Path file = dir.resolve("model.onnx");
        int loaded = 0;
        int rejected = 0;
        long maxAllocated = 0;
        long maxNanos = 0;
        for (int copy = -WARM_UP; copy < COPIES; copy++) {
            Random random = new Random(SEED + copy);
            StringBuilder log = new StringBuilder("seed " + (SEED + copy));
            byte[] bytes = original;
            for (int m = 1 + random.nextInt(3); m > 0; m--) {
                bytes = ModelMutator.mutate(bytes, random, prefixes, log);
            }
            Files.write(file, bytes);
            long before = THREADS.getCurrentThreadAllocatedBytes();
            long start = System.nanoTime();
            boolean ok = load(dir, file, log);
            long nanos = System.nanoTime() - start;
            long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
            if (copy < 0) {
                continue;
            }
            if (ok) {
                loaded++;
            } else {
                rejected++;
            }
            maxNanos = Math.max(maxNanos, nanos);
            maxAllocated = Math.max(maxAllocated, allocated);
            if (allocated > FIXED_ALLOWANCE + (long) MAX_RATIO * bytes.length) {
                fail(log + ": allocated " + allocated + " bytes for a file of " + bytes.length);
            }
        }
        System.out.printf(
                "Load fuzz: %d copies, %d loaded, %d rejected; at most %d bytes allocated and"
                        + " %.1f ms per copy (file of %d bytes)%n",
                loaded + rejected, loaded, rejected, maxAllocated, maxNanos / 1e6,
                original.length);
        assertTrue(loaded > 0 && rejected > 0, loaded + " loaded, " + rejected + " rejected");
    }

    private static boolean load(Path dir, Path file, StringBuilder log) {
        try (Model model = Model.newInstance("fuzz", "QuantInt8")) {
            // Load-time quantization is fuzzed too; a cache would collect every mutant.
            model.load(dir, null, java.util.Map.of("quantizationCache", "false"));
            return true;
        } catch (MalformedModelException e) {
            if (!e.getMessage().contains(file.toString())) {
                fail(log + ": message does not name the file: " + e.getMessage());
            }
            return false;
        } catch (Throwable t) {
            throw new AssertionError(log + ": unexpected " + t, t);
        }
    }

    /** A BERT-like fragment: embedding gather, MatMul, Add, a Constant and a Reshape. */
    private static OnnxModel model() {
        float[] table = new float[32 * 8];
        float[] weight = new float[8 * 8];
        for (int i = 0; i < table.length; i++) {
            table[i] = (i % 17) / 17f;
        }
        for (int i = 0; i < weight.length; i++) {
            weight[i] = (i % 5) / 5f;
        }
        OnnxGraph graph =
                OnnxGraph.builder()
                        .optName("fuzz")
                        .addInput(OnnxValueInfo.tensor("ids", OnnxDataType.INT64, 1, 4))
                        .addInitializer(OnnxTensor.of("table", table, 32, 8))
                        .addInitializer(OnnxTensor.of("W", weight, 8, 8))
                        .addNode(node("Gather", "embed", "e", "table", "ids").build())
                        .addNode(node("MatMul", "mm", "h", "e", "W").build())
                        .addNode(
                                node("Constant", "shape", "s")
                                        .addAttribute(
                                                OnnxAttribute.ofTensor(
                                                        "value",
                                                        OnnxTensor.of("", new long[] {4, 8}, 2)))
                                        .build())
                        .addNode(node("Reshape", "flat", "r", "h", "s").build())
                        .addNode(node("Add", "add", "y", "r", "r").build())
                        .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 4, 8))
                        .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build();
    }

    private static OnnxNode.Builder node(String op, String name, String output, String... inputs) {
        return OnnxNode.builder().setOpType(op).optName(name).addInput(inputs).addOutput(output);
    }
}
