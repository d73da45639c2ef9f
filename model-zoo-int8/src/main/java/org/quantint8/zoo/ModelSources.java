package org.quantint8.zoo;

import org.quantint8.zoo.architectures.Bert;
import org.quantint8.zoo.architectures.Gpt2;
import org.quantint8.zoo.architectures.ResNet;
import org.quantint8.zoo.weights.BertWeights;
import org.quantint8.zoo.weights.CheckpointTensor;
import org.quantint8.zoo.weights.EasyBertArchive;
import org.quantint8.zoo.weights.Gpt2Weights;
import org.quantint8.zoo.weights.MiniLmResources;
import org.quantint8.zoo.weights.ResNetWeights;
import org.quantint8.zoo.weights.SafetensorsReader;
import org.quantint8.zoo.weights.TensorBundleReader;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The {@link ModelSource}s of the zoo's entries, full size: real weights imported with the
 * importers of {@code org.quantint8.zoo.weights}, or seeded random weights (labelled so) where
 * no real ones are at hand.
 */
public final class ModelSources {

    private ModelSources() {}

    /**
     * BERT-base-uncased from Google's TensorFlow checkpoint in the Maven artifact {@value
     * EasyBertArchive#MAVEN_ARTIFACT} (on the class path), with the masked-LM head and the real
     * {@code vocab.txt}.
     *
     * @param workFolder where the checkpoint is extracted (once; about 440 MB)
     * @return the source
     * @throws IOException if the artifact is missing or its checkpoint is damaged
     */
    public static ModelSource bertFromEasyBert(Path workFolder) throws IOException {
        Path folder = EasyBertArchive.extract(workFolder);
        return bertFromTensorFlow(EasyBertArchive.variables(folder),
                folder.resolve(EasyBertArchive.VOCAB),
                "google bert-base-uncased (Maven " + EasyBertArchive.MAVEN_ARTIFACT + ")");
    }

    /**
     * BERT-base from a TensorFlow checkpoint (Google's original layout), with the masked-LM head
     * if the checkpoint has it.
     *
     * @param checkpointPrefix the checkpoint prefix, e.g. {@code .../variables/variables}
     * @param vocab the {@code vocab.txt} to publish with it
     * @param weights where the weights come from, e.g. {@code google bert-base-uncased}
     * @return the source
     * @throws IOException if the checkpoint cannot be read or is damaged
     */
    public static ModelSource bertFromTensorFlow(Path checkpointPrefix, Path vocab, String weights)
            throws IOException {
        Map<String, CheckpointTensor> tensors;
        try (TensorBundleReader bundle = TensorBundleReader.open(checkpointPrefix)) {
            tensors = bundle.readAll();
        }
        return bert(BertWeights.fromTensorFlow(tensors), vocab, weights);
    }

    /**
     * BERT-base from a Hugging Face safetensors file ({@link ZooEntry#publicWeights()}), with the
     * masked-LM head if the file has it.
     *
     * @param safetensors the file
     * @param vocab the {@code vocab.txt} to publish with it
     * @param weights where the weights come from, e.g. {@code google bert-base-uncased}
     * @return the source
     * @throws IOException if the file cannot be read or is malformed
     */
    public static ModelSource bertFromSafetensors(Path safetensors, Path vocab, String weights)
            throws IOException {
        return bert(BertWeights.fromHuggingFace(read(safetensors)), vocab, weights);
    }

    /**
     * GPT-2 small from Hugging Face's {@code gpt2} safetensors file ({@link
     * ZooEntry#publicWeights()}).
     *
     * @param safetensors the file
     * @return the source, weights {@code openai gpt2}
     * @throws IOException if the file cannot be read or is malformed
     */
    public static ModelSource gpt2FromSafetensors(Path safetensors) throws IOException {
        Map<String, float[]> weights = Gpt2Weights.fromHuggingFace(read(safetensors));
        return ModelSource.of(Gpt2.builder().optWeights(weights).build(), "openai gpt2");
    }

    /**
     * ResNet-50 from Hugging Face's {@code microsoft/resnet-50} safetensors file ({@link
     * ZooEntry#publicWeights()}).
     *
     * @param safetensors the file
     * @return the source, weights {@code microsoft resnet-50}
     * @throws IOException if the file cannot be read or is malformed
     */
    public static ModelSource resnet50FromSafetensors(Path safetensors) throws IOException {
        Map<String, float[]> weights = ResNetWeights.fromHuggingFace(read(safetensors));
        return ModelSource.of(ResNet.builder().optWeights(weights).build(), "microsoft resnet-50");
    }

    /**
     * GPT-2 small with seeded random weights: for size, memory and speed, not for text.
     *
     * @param seed the seed
     * @return the source, weights {@code random seed <seed>}
     */
    public static ModelSource gpt2Random(long seed) {
        return ModelSource.of(Gpt2.builder().optSeed(seed).build(), random(seed));
    }

    /**
     * ResNet-50 with seeded random weights: for size, memory and speed, not for images.
     *
     * @param seed the seed
     * @return the source, weights {@code random seed <seed>}
     */
    public static ModelSource resnet50Random(long seed) {
        return ModelSource.of(ResNet.builder().optSeed(seed).build(), random(seed));
    }

    /**
     * all-MiniLM-L6-v2 from the ONNX file of the Maven artifact {@value
     * MiniLmResources#MAVEN_ARTIFACT} (on the class path), with its {@code tokenizer.json}.
     *
     * @param workFolder where the files are copied (once; about 91 MB)
     * @return the source
     * @throws IOException if the artifact is missing
     */
    public static ModelSource miniLm(Path workFolder) throws IOException {
        Path folder = MiniLmResources.extract(workFolder);
        return ModelSource.ofFile(folder.resolve(MiniLmResources.MODEL),
                        "sentence-transformers all-MiniLM-L6-v2 (Maven "
                                + MiniLmResources.MAVEN_ARTIFACT + ")")
                .withFile("tokenizer.json", folder.resolve(MiniLmResources.TOKENIZER));
    }

    /**
     * Returns the {@value ZooEntry#WEIGHTS} property of seeded random weights.
     *
     * @param seed the seed
     * @return {@code random seed <seed>}
     */
    public static String random(long seed) {
        return "random seed " + seed;
    }

    private static ModelSource bert(Map<String, float[]> weights, Path vocab, String origin) {
        boolean head = weights.keySet().stream().anyMatch(n -> n.startsWith("cls/predictions/"));
        Bert.Builder builder = Bert.builder().optMaskedLmHead(head).optWeights(weights);
        return ModelSource.of(builder.build(), origin).withFile("vocab.txt", vocab);
    }

    private static Map<String, CheckpointTensor> read(Path safetensors) throws IOException {
        try (SafetensorsReader reader = SafetensorsReader.open(safetensors)) {
            return reader.readAll();
        }
    }
}
