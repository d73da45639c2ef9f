package org.quantint8.onnx;

import static org.testng.Assert.assertTrue;
import static org.testng.Assert.fail;

import org.quantint8.onnx.OnnxModelWriter.TensorEncoding;
import org.testng.annotations.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
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
            List<int[]> lengthPrefixes = new ArrayList<>();
            collectLengthPrefixes(original, 0, original.length, lengthPrefixes, 0);
            assertTrue(
                    lengthPrefixes.size() > 50, "length prefixes found: " + lengthPrefixes.size());
            for (int copy = -WARM_UP; copy < COPIES / 2; copy++) {
                long seed = SEED + copy + (encoding.ordinal() * 1_000_000L);
                Random random = new Random(seed);
                byte[] mutated = original;
                StringBuilder mutations = new StringBuilder();
                int count = 1 + random.nextInt(3);
                for (int m = 0; m < count; m++) {
                    mutated = mutate(mutated, random, lengthPrefixes, mutations);
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

    private static byte[] mutate(
            byte[] bytes, Random random, List<int[]> prefixes, StringBuilder log) {
        if (bytes.length == 0) {
            return bytes;
        }
        int at = random.nextInt(bytes.length);
        byte[] copy = bytes.clone();
        switch (random.nextInt(6)) {
            case 0 -> {
                copy[at] ^= (byte) (1 << random.nextInt(8));
                log.append(", bit flip at ").append(at);
            }
            case 1 -> {
                copy[at] = (byte) random.nextInt(256);
                log.append(", byte change at ").append(at);
            }
            case 2 -> {
                log.append(", truncate to ").append(at);
                return Arrays.copyOf(bytes, at);
            }
            case 3 -> {
                byte[] inserted = new byte[1 + random.nextInt(8)];
                random.nextBytes(inserted);
                log.append(", insert ").append(inserted.length).append(" at ").append(at);
                return splice(bytes, at, 0, inserted);
            }
            case 4 -> {
                int length = Math.min(1 + random.nextInt(8), bytes.length - at);
                log.append(", delete ").append(length).append(" at ").append(at);
                return splice(bytes, at, length, new byte[0]);
            }
            default -> {
                // Only meaningful on the original layout; after other mutations it is one more
                // corruption among others.
                int[] prefix = prefixes.get(random.nextInt(prefixes.size()));
                if (prefix[0] + prefix[1] > bytes.length) {
                    return copy;
                }
                long[] huge = {Integer.MAX_VALUE, 1L << 32, Long.MAX_VALUE, -1L, 1L << 20};
                long value = huge[random.nextInt(huge.length)];
                log.append(", length at ").append(prefix[0]).append(" = ").append(value);
                return splice(bytes, prefix[0], prefix[1], varint(value));
            }
        }
        return copy;
    }

    private static byte[] splice(byte[] bytes, int at, int removed, byte[] inserted) {
        byte[] result = new byte[bytes.length - removed + inserted.length];
        System.arraycopy(bytes, 0, result, 0, at);
        System.arraycopy(inserted, 0, result, at, inserted.length);
        System.arraycopy(
                bytes, at + removed, result, at + inserted.length, bytes.length - at - removed);
        return result;
    }

    private static byte[] varint(long value) {
        ProtoWriter writer = new ProtoWriter();
        writer.writeVarint(value);
        return writer.toByteArray();
    }

    /** Records {offset, size} of every length prefix, recursing into payloads that parse. */
    private static void collectLengthPrefixes(
            byte[] bytes, int from, int to, List<int[]> out, int depth) {
        ProtoReader in =
                new ProtoReader(ByteBuffer.wrap(bytes, from, to - from), new DecodeContext("scan"));
        try {
            while (in.hasMore()) {
                int tag = in.readTag();
                if (ProtoReader.wireType(tag) != ProtoReader.LEN) {
                    in.skipField(tag);
                    continue;
                }
                int prefix = in.position();
                ByteBuffer payload = in.readBytes(tag, "payload");
                int payloadStart = in.position() - payload.remaining();
                out.add(new int[] {from + prefix, payloadStart - prefix});
                if (depth < 20) {
                    collectLengthPrefixes(
                            bytes, from + payloadStart, from + in.position(), out, depth + 1);
                }
            }
        } catch (OnnxFormatException e) {
            // not a message: strings and tensor data end the scan of this payload
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
