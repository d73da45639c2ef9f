package org.quantint8.zoo.architectures;

import static org.testng.Assert.assertEquals;

import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.quantize.OnnxQuantizer;
import org.quantint8.onnx.quantize.QuantizedOnnxModel;
import org.testng.annotations.Test;

import java.util.function.Supplier;

/**
 * The full-size models have the parameter counts of the originals; their serialized sizes, FP32
 * and after dynamic INT8 quantization, are printed. They are built, not run.
 */
public class FullSizeModelsTest {

    @Test(timeOut = 60_000)
    public void bertBaseWithMaskedLmHead() {
        // BertModel with pooler 109,482,240 + MLM head 622,650, as in Google's checkpoint
        check("BERT-base + MLM head", () -> Bert.builder().optMaskedLmHead(true).build(),
                110_104_890L);
    }

    @Test(timeOut = 60_000)
    public void gpt2Small() {
        check("GPT-2 small", () -> Gpt2.builder().build(), 124_439_808L);
    }

    @Test(timeOut = 60_000)
    public void resNet50() {
        check("ResNet-50", () -> ResNet.builder().build(), 25_557_032L);
    }

    private static void check(String name, Supplier<OnnxModel> builder, long parameters) {
        long start = System.nanoTime();
        OnnxModel model = builder.get();
        double buildSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        OnnxModelWriter writer = OnnxModelWriter.builder().build();
        int bytes = writer.toByteArray(model).length;
        double writeSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        QuantizedOnnxModel quantized = OnnxQuantizer.builder().build().quantize(model);
        int int8Bytes = writer.toByteArray(quantized.model()).length;
        double quantizeSeconds = (System.nanoTime() - start) / 1e9;
        long counted = ParameterCount.of(model);
        System.out.printf("%s: %,d parameters, %,d nodes, %,d bytes serialized (%,d after dynamic"
                        + " INT8 quantization; %d nodes left in FP32 as unsupported); built in"
                        + " %.1f s, serialized in %.1f s, quantized and serialized in %.1f s%n",
                name, counted, model.getGraph().getNodes().size(), bytes, int8Bytes,
                quantized.unsupported().size(), buildSeconds, writeSeconds, quantizeSeconds);
        assertEquals(counted, parameters, name);
    }
}
