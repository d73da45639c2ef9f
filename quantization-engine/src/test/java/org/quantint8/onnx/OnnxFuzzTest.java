package org.quantint8.onnx;

import static org.testng.Assert.assertTrue;
import static org.testng.Assert.fail;

import org.quantint8.onnx.OnnxModelWriter.TensorEncoding;
import org.testng.annotations.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Feeds seeded mutations of a small but complete model to the reader: every copy must either
 * parse or fail with {@link OnnxFormatException}, quickly, and with an allocation bounded by a
 * small multiple of its size however large the sizes it declares.
 */
public class OnnxFuzzTest {

    private static final int COPIES = 4000;
    private static final long SEED = 0x5EED_0422L;

    /** Allocation allowed per copy: this multiple of its size, plus a fixed allowance. */
    private static final int MAX_RATIO = 16;

    private static final long FIXED_ALLOWANCE = 64 * 1024;

    /** Shorter copies (heavy truncations) are left out of the ratio, which they distort. */
    private static final int RATIO_MIN_SIZE = 1024;

    /** Copies parsed first without counting, so that class loading and linkage are not measured. */
    private static final int WARM_UP = 300;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private int parsed;
    private int rejected;
    private double maxRatio;
    private long maxAllocated;

    @Test(timeOut = 120_000)
    public void mutatedModelsParseOrFailWithTheDocumentedExceptionWithinBoundedMemory() {
        long start = System.nanoTime();
        for (TensorEncoding encoding : TensorEncoding.values()) {
            byte[] original =
                    OnnxModelWriter.builder()
                            .optTensorEncoding(encoding)
                            .build()
                            .toByteArray(fuzzModel());
            List<int[]> lengthPrefixes = ModelMutator.lengthPrefixes(original);
            assertTrue(
                    lengthPrefixes.size() > 50, "length prefixes found: " + lengthPrefixes.size());
            for (int copy = -WARM_UP; copy < COPIES / 2; copy++) {
                long seed = SEED + copy + (encoding.ordinal() * 1_000_000L);
                Random random = new Random(seed);
                byte[] mutated = original;
                StringBuilder mutations = new StringBuilder();
                int count = 1 + random.nextInt(3);
                for (int m = 0; m < count; m++) {
                    mutated = ModelMutator.mutate(mutated, random, lengthPrefixes, mutations);
                }
                check(mutated, "seed " + seed + " " + encoding + mutations, copy >= 0);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(
                "ONNX fuzz: %d copies, %d parsed, %d rejected; max allocation %.1f x file size"
                        + " (copies >= 1 KiB), %d bytes at most; %.2f s%n",
                parsed + rejected, parsed, rejected, maxRatio, maxAllocated, seconds);
        assertTrue(parsed > 0 && rejected > 0, parsed + " parsed, " + rejected + " rejected");
    }

    private void check(byte[] bytes, String description, boolean measured) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        boolean ok = parses(bytes, description);
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        if (!measured) {
            return;
        }
        long bound = (long) MAX_RATIO * bytes.length + FIXED_ALLOWANCE;
        if (allocated > bound) {
            // The first run of a rare error path links its call sites (string concatenation,
            // lambdas), which allocates once; only a repeatable excess counts.
            before = THREADS.getCurrentThreadAllocatedBytes();
            parses(bytes, description);
            allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        }
        if (ok) {
            parsed++;
        } else {
            rejected++;
        }
        if (bytes.length >= RATIO_MIN_SIZE) {
            maxRatio = Math.max(maxRatio, (double) allocated / bytes.length);
        }
        maxAllocated = Math.max(maxAllocated, allocated);
        if (allocated > bound) {
            fail(description + ": allocated " + allocated + " bytes for " + bytes.length);
        }
    }

    private static boolean parses(byte[] bytes, String description) {
        try {
            OnnxModel model = OnnxModelReader.read(ByteBuffer.wrap(bytes), "fuzz.onnx");
            touch(model.getGraph());
            return true;
        } catch (OnnxFormatException e) {
            if (!e.getMessage().startsWith("fuzz.onnx: ")) {
                fail(description + ": message does not name the source: " + e.getMessage());
            }
            return false;
        } catch (Throwable t) {
            throw new AssertionError(description + ": unexpected " + t, t);
        }
    }

    /** Reads every tensor and subgraph, as a consumer of the model would. */
    private static void touch(OnnxGraph graph) {
        for (OnnxTensor tensor : graph.getInitializers().values()) {
            if (tensor.getDataType() != OnnxDataType.STRING) {
                tensor.getData();
            }
        }
        for (OnnxNode node : graph.getNodes()) {
            for (OnnxAttribute attribute : node.getAttributes().values()) {
                if (attribute.getType() == OnnxAttribute.Type.GRAPH) {
                    touch(attribute.getGraph());
                }
            }
        }
    }

    /** A model with several nodes, initializers of a few kilobytes, attributes and a subgraph. */
    private static OnnxModel fuzzModel() {
        float[] weights = new float[32 * 16];
        Arrays.fill(weights, 0.25f);
        OnnxModel sample = OnnxTestModels.sample();
        OnnxGraph.Builder graph = OnnxGraph.builder().optName("fuzz");
        OnnxGraph main = sample.getGraph();
        main.getInputs().forEach(graph::addInput);
        main.getInitializers().values().forEach(graph::addInitializer);
        graph.addInitializer(OnnxTensor.of("big", weights, 32, 16));
        graph.addInitializer(OnnxTensor.of("ids", new int[] {3, -1, 70000, 0, 12}, 5));
        main.getNodes().forEach(graph::addNode);
        main.getOutputs().forEach(graph::addOutput);
        main.getValueInfos().forEach(graph::addValueInfo);
        return OnnxModel.builder()
                .setGraph(graph.build())
                .addOpsetImport("", 17)
                .addOpsetImport("com.example", 1)
                .addMetadataProp("k", "v")
                .build();
    }
}
