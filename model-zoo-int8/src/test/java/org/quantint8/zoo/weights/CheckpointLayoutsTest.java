package org.quantint8.zoo.weights;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.zoo.architectures.ArchitectureBuilder;
import org.quantint8.zoo.architectures.Bert;
import org.quantint8.zoo.architectures.Gpt2;
import org.quantint8.zoo.architectures.ResNet;
import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Each original checkpoint layout, written as a file in its naming (plus the tensors a real
 * checkpoint has that the architecture does not use), imports back into exactly the model whose
 * weights it holds.
 */
public class CheckpointLayoutsTest {

    private static final OnnxModelWriter WRITER = OnnxModelWriter.builder().build();

    private static Bert.Builder smallBert() {
        return Bert.builder().optNumLayers(2).optHiddenSize(16).optNumHeads(2)
                .optIntermediateSize(32).optVocabSize(40).optMaxPositions(12)
                .optMaskedLmHead(true);
    }

    @Test
    public void huggingFaceBertSafetensors() throws IOException {
        OnnxModel model = smallBert().optSeed(5).build();
        List<SafetensorsFixture.Raw> file = new ArrayList<>(rename(model, name -> {
            String hf = name.replace('/', '.').replaceAll("layer_(\\d+)", "layer.$1");
            if (name.endsWith("/kernel")) {
                return hf.replace(".kernel", ".weight");
            }
            return hf.equals("cls.predictions.output_bias") ? "cls.predictions.bias"
                    : hf.endsWith("_embeddings") ? hf + ".weight"
                    : hf.replace("LayerNorm.gamma", "LayerNorm.weight")
                            .replace("LayerNorm.beta", "LayerNorm.bias");
        }, true));
        file.add(extra("cls.predictions.decoder.bias", 40));
        file.add(extra("cls.seq_relationship.bias", 2));
        file.add(extra("bert.embeddings.position_ids", 12));
        Path path = Files.createTempFile("bert", ".safetensors");
        SafetensorsFixture.write(path, file, "{\"format\":\"pt\"}");
        try (SafetensorsReader reader = SafetensorsReader.open(path)) {
            assertSameModel(smallBert().optWeights(BertWeights.fromHuggingFace(reader.readAll())),
                    model);
        }
    }

    @Test
    public void tensorFlowBertBundle() throws IOException {
        OnnxModel model = smallBert().optSeed(6).build();
        List<CheckpointTensor> tensors = new ArrayList<>();
        for (OnnxTensor tensor : model.getGraph().getInitializers().values()) {
            tensors.add(new CheckpointTensor("module/" + tensor.getName(), tensor.getDims(),
                    tensor.toFloatArray()));
        }
        tensors.add(new CheckpointTensor("module/cls/seq_relationship/output_bias",
                new long[] {2}, new float[2]));
        Path prefix = Files.createTempDirectory("bert").resolve("variables");
        new TensorBundleFixture().write(prefix, tensors);
        try (TensorBundleReader reader = TensorBundleReader.open(prefix)) {
            assertSameModel(smallBert().optWeights(BertWeights.fromTensorFlow(reader.readAll())),
                    model);
        }
    }

    @Test
    public void huggingFaceGpt2SafetensorsInHalfPrecision() throws IOException {
        Gpt2.Builder small = Gpt2.builder().optNumLayers(2).optHiddenSize(16).optNumHeads(2)
                .optVocabSize(30).optContextLength(8);
        OnnxModel model = small.optSeed(8).build();
        List<SafetensorsFixture.Raw> file = new ArrayList<>();
        for (OnnxTensor tensor : model.getGraph().getInitializers().values()) {
            file.add(SafetensorsFixture.encode(new CheckpointTensor(
                    "transformer." + tensor.getName(), tensor.getDims(), tensor.toFloatArray()),
                    "F16"));
        }
        file.add(extra("transformer.h.0.attn.bias", 64));
        file.add(extra("lm_head.weight", 30 * 16));
        Path path = Files.createTempFile("gpt2", ".safetensors");
        SafetensorsFixture.write(path, file, null);
        try (SafetensorsReader reader = SafetensorsReader.open(path)) {
            OnnxModel imported = small.optWeights(Gpt2Weights.fromHuggingFace(reader.readAll()))
                    .build();
            for (OnnxTensor tensor : model.getGraph().getInitializers().values()) {
                float[] expected = tensor.toFloatArray();
                float[] actual = imported.getGraph().getInitializer(tensor.getName())
                        .toFloatArray();
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(actual[i], Float.float16ToFloat(Float.floatToFloat16(expected[i])));
                }
            }
        }
    }

    @Test
    public void huggingFaceResNetSafetensorsAndTorchvisionOnnx() throws IOException {
        ResNet.Builder small = ResNet.builder().optDepth(50).optBaseWidth(4).optNumClasses(7);
        OnnxModel model = small.optSeed(9).build();
        List<SafetensorsFixture.Raw> file = new ArrayList<>(rename(model, name -> name
                .replaceAll("^conv1\\.", "resnet.embedder.embedder.convolution.")
                .replaceAll("^bn1\\.", "resnet.embedder.embedder.normalization.")
                .replaceAll("^fc\\.", "classifier.1.")
                .replaceAll("downsample\\.0\\.", "shortcut.convolution.")
                .replaceAll("downsample\\.1\\.", "shortcut.normalization.")
                .replaceAll("conv(\\d)\\.", "layer.$1.convolution.")
                .replaceAll("bn(\\d)\\.", "layer.$1.normalization.")
                .replaceAll("^layer(\\d)\\.(\\d+)\\.", "resnet.encoder.stages.$1.layers.$2."),
                false));
        file.replaceAll(raw -> new SafetensorsFixture.Raw(shiftIndices(raw.name()), raw.dtype(),
                raw.shape(), raw.bytes()));
        file.add(extra("resnet.embedder.embedder.normalization.num_batches_tracked", 1));
        Path path = Files.createTempFile("resnet", ".safetensors");
        SafetensorsFixture.write(path, file, null);
        try (SafetensorsReader reader = SafetensorsReader.open(path)) {
            assertSameModel(small.optWeights(ResNetWeights.fromHuggingFace(reader.readAll())),
                    model);
        }
        Path onnx = Files.createTempFile("resnet", ".onnx");
        WRITER.write(model, onnx);
        assertSameModel(small.optWeights(ResNetWeights.fromTorchvision(
                OnnxInitializerReader.readAll(onnx))), model);
        expectThrows(IllegalArgumentException.class, () -> ResNetWeights.fromHuggingFace(
                OnnxInitializerReader.readAll(onnx)));
    }

    /** torchvision counts stages and convolutions from 1, Hugging Face from 0. */
    private static String shiftIndices(String name) {
        Matcher m = Pattern
                .compile("stages\\.(\\d)(.*)layer\\.(\\d)\\.").matcher(name);
        if (m.find()) {
            name = m.replaceFirst("stages." + (Integer.parseInt(m.group(1)) - 1) + m.group(2)
                    + "layer." + (Integer.parseInt(m.group(3)) - 1) + ".");
        }
        Matcher s = Pattern.compile("stages\\.(\\d)(.*shortcut)")
                .matcher(name);
        return s.find() ? s.replaceFirst("stages." + (Integer.parseInt(s.group(1)) - 1)
                + s.group(2)) : name;
    }

    private static List<SafetensorsFixture.Raw> rename(OnnxModel model,
            Function<String, String> naming, boolean transposeKernels) {
        List<SafetensorsFixture.Raw> raw = new ArrayList<>();
        for (OnnxTensor tensor : model.getGraph().getInitializers().values()) {
            CheckpointTensor t = new CheckpointTensor(naming.apply(tensor.getName()),
                    tensor.getDims(), tensor.toFloatArray());
            if (transposeKernels && tensor.getName().endsWith("/kernel")) {
                long[] dims = tensor.getDims();
                t = new CheckpointTensor(t.name(), new long[] {dims[1], dims[0]}, t.transposed());
            }
            raw.add(SafetensorsFixture.encode(t, "F32"));
        }
        return raw;
    }

    private static SafetensorsFixture.Raw extra(String name, int size) {
        return SafetensorsFixture.encode(new CheckpointTensor(name, new long[] {size},
                new float[size]), "F32");
    }

    private static void assertSameModel(
            ArchitectureBuilder<?> builder, OnnxModel expected) {
        assertTrue(Arrays.equals(WRITER.toByteArray(builder.build()),
                WRITER.toByteArray(expected)), "imported model differs");
    }
}
