package org.quantint8.zoo.architectures;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import org.quantint8.calibration.LayerReport;
import org.quantint8.calibration.QuantizationReport;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.quantize.OnnxQuantizer;
import org.quantint8.onnx.quantize.QuantizedOnnxModel;
import org.testng.annotations.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The full-size models have the parameter counts of the originals, their FP32 files hold 4 bytes
 * per parameter, and their INT8 files (the quantizer's dynamic INT8 output, serialized as the
 * cache, the zoo artifact and the export are) meet the size targets of issue 7: BERT-base at most
 * 115 MB, GPT-2 small at most 135 MB, ResNet-50 at most 27 MB (MB = 10^6 bytes, the stricter
 * reading). Each test prints where the INT8 file's bytes go. The models are built, not run.
 */
public class FullSizeModelsTest {

    private static final long MB = 1_000_000L;

    @Test(timeOut = 60_000)
    public void bertBaseWithMaskedLmHead() {
        // BertModel with pooler 109,482,240 + MLM head 622,650, as in Google's checkpoint
        check("BERT-base + MLM head", () -> Bert.builder().optMaskedLmHead(true).build(),
                110_104_890L, 115 * MB);
    }

    @Test(timeOut = 60_000)
    public void gpt2Small() {
        check("GPT-2 small", () -> Gpt2.builder().build(), 124_439_808L, 135 * MB);
    }

    @Test(timeOut = 60_000)
    public void resNet50() {
        check("ResNet-50", () -> ResNet.builder().build(), 25_557_032L, 27 * MB);
    }

    private static void check(
            String name, Supplier<OnnxModel> builder, long parameters, long int8Target) {
        long start = System.nanoTime();
        OnnxModel model = builder.get();
        double buildSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        OnnxModelWriter writer = OnnxModelWriter.builder().build();
        long bytes = writer.toByteArray(model).length;
        double writeSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        QuantizedOnnxModel quantized = OnnxQuantizer.builder().build().quantize(model);
        long int8Bytes = writer.toByteArray(quantized.model()).length;
        double quantizeSeconds = (System.nanoTime() - start) / 1e9;
        long counted = ParameterCount.of(model);
        System.out.printf("%s: %,d parameters, %,d nodes, %,d bytes serialized (%,d after dynamic"
                        + " INT8 quantization; %d nodes left in FP32 as unsupported); built in"
                        + " %.1f s, serialized in %.1f s, quantized and serialized in %.1f s%n%s",
                name, counted, model.getGraph().getNodes().size(), bytes, int8Bytes,
                quantized.unsupported().size(), buildSeconds, writeSeconds, quantizeSeconds,
                breakdown(quantized.model(), quantized.report()));
        assertEquals(counted, parameters, name);
        // FP32 stores 4 bytes per parameter; names, shapes and graph add well under 1%.
        assertTrue(bytes >= 4 * parameters && bytes < 4 * parameters * 101 / 100,
                name + ": FP32 file of " + bytes + " bytes for " + parameters + " parameters");
        assertTrue(int8Bytes <= int8Target,
                name + ": INT8 file of " + int8Bytes + " bytes exceeds " + int8Target);
        // Every candidate is quantized; only products of two activations (attention) are not
        // candidates at all, by design.
        assertEquals(quantized.report().getQuantizedLayerCount(),
                quantized.report().getLayers().size(), name);
        quantized.unsupported().forEach(why -> assertTrue(why.contains("not a constant"), why));
        // What stays FP32 is per channel (scales, biases, norms): a few values per channel
        // against at least 64 weights per output channel, so well under 5% of the file.
        long fp32Bytes = quantized.model().getGraph().getInitializers().values().stream()
                .filter(t -> t.getDataType() == OnnxDataType.FLOAT)
                .mapToLong(t -> t.getData().remaining()).sum();
        assertTrue(fp32Bytes < int8Bytes / 20, name + ": " + fp32Bytes + " bytes left in FP32");
    }

    /**
     * The quantized layers by op type, the INT8 model's initializer bytes by element type, and
     * its five largest FP32 initializers.
     */
    private static String breakdown(OnnxModel model, QuantizationReport report) {
        Map<String, long[]> byType = new TreeMap<>();
        for (OnnxTensor t : model.getGraph().getInitializers().values()) {
            long[] sum = byType.computeIfAbsent(t.getDataType().name(), k -> new long[2]);
            sum[0]++;
            sum[1] += t.getData().remaining();
        }
        List<OnnxTensor> largestFp32 = model.getGraph().getInitializers().values().stream()
                .filter(t -> t.getDataType() == OnnxDataType.FLOAT)
                .sorted(Comparator.comparingLong((OnnxTensor t) -> t.getData().remaining())
                        .reversed())
                .limit(5)
                .toList();
        StringBuilder out = new StringBuilder();
        Map<String, Long> quantizedByOp = report.getLayers().stream()
                .filter(LayerReport::quantized)
                .collect(Collectors.groupingBy(LayerReport::opType, TreeMap::new,
                        Collectors.counting()));
        out.append("  quantized layers by op: ").append(quantizedByOp.toString())
                .append(System.lineSeparator());
        byType.forEach((type, sum) -> out.append(String.format(
                "  %-6s %4d initializers %,13d bytes%n", type, sum[0], sum[1])));
        out.append("  largest FP32: ").append(largestFp32.stream()
                .map(t -> String.format("%s %s %,d", t.getName(),
                        Arrays.toString(t.getDims()), t.getData().remaining()))
                .collect(Collectors.joining("; "))).append(System.lineSeparator());
        return out.toString();
    }
}
