package org.quantint8.zoo.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps ResNet checkpoints onto the parameter names of {@code
 * org.quantint8.zoo.architectures.ResNet}, which are torchvision's.
 *
 * <table>
 * <caption>Hugging Face ({@code microsoft/resnet-50}) to builder names</caption>
 * <tr><th>Hugging Face</th><th>builder</th></tr>
 * <tr><td>{@code resnet.embedder.embedder.convolution.weight}</td><td>{@code conv1.weight}</td></tr>
 * <tr><td>{@code resnet.embedder.embedder.normalization.*}</td><td>{@code bn1.*}</td></tr>
 * <tr><td>{@code resnet.encoder.stages.S.layers.B.layer.K.convolution.weight}</td>
 *     <td>{@code layer<S+1>.B.conv<K+1>.weight}</td></tr>
 * <tr><td>{@code resnet.encoder.stages.S.layers.B.layer.K.normalization.*}</td>
 *     <td>{@code layer<S+1>.B.bn<K+1>.*}</td></tr>
 * <tr><td>{@code resnet.encoder.stages.S.layers.B.shortcut.convolution.weight}</td>
 *     <td>{@code layer<S+1>.B.downsample.0.weight}</td></tr>
 * <tr><td>{@code resnet.encoder.stages.S.layers.B.shortcut.normalization.*}</td>
 *     <td>{@code layer<S+1>.B.downsample.1.*}</td></tr>
 * <tr><td>{@code classifier.1.weight}, {@code classifier.1.bias}</td>
 *     <td>{@code fc.weight}, {@code fc.bias}</td></tr>
 * </table>
 *
 * <p>Both layouts drop the {@code num_batches_tracked} counters; all kernels keep their PyTorch
 * layout.
 */
public final class ResNetWeights {

    private static final Pattern STAGE_LAYER = Pattern.compile(
            "resnet\\.encoder\\.stages\\.(\\d+)\\.layers\\.(\\d+)\\.layer\\.(\\d+)\\."
                    + "(convolution|normalization)\\.(.+)");
    private static final Pattern SHORTCUT = Pattern.compile(
            "resnet\\.encoder\\.stages\\.(\\d+)\\.layers\\.(\\d+)\\.shortcut\\."
                    + "(convolution|normalization)\\.(.+)");
    private static final String EMBEDDER = "resnet.embedder.embedder.";

    private ResNetWeights() {}

    /**
     * Maps a torchvision checkpoint: the names are kept.
     *
     * @param tensors the checkpoint's tensors by name
     * @return the values by builder name
     */
    public static Map<String, float[]> fromTorchvision(Map<String, CheckpointTensor> tensors) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (CheckpointTensor tensor : tensors.values()) {
            if (!tensor.name().endsWith("num_batches_tracked")) {
                weights.put(tensor.name(), tensor.values());
            }
        }
        return weights;
    }

    /**
     * Maps a Hugging Face {@code ResNetForImageClassification} checkpoint.
     *
     * @param tensors the checkpoint's tensors by name
     * @return the values by builder name
     * @throws IllegalArgumentException naming a tensor that fits no known pattern
     */
    public static Map<String, float[]> fromHuggingFace(Map<String, CheckpointTensor> tensors) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (CheckpointTensor tensor : tensors.values()) {
            if (!tensor.name().endsWith("num_batches_tracked")) {
                weights.put(huggingFaceToTorchvision(tensor.name()), tensor.values());
            }
        }
        return weights;
    }

    private static String huggingFaceToTorchvision(String name) {
        Matcher layer = STAGE_LAYER.matcher(name);
        if (layer.matches()) {
            String kind = layer.group(4).equals("convolution") ? "conv" : "bn";
            return "layer" + (Integer.parseInt(layer.group(1)) + 1) + "." + layer.group(2) + "."
                    + kind + (Integer.parseInt(layer.group(3)) + 1) + "." + layer.group(5);
        }
        Matcher shortcut = SHORTCUT.matcher(name);
        if (shortcut.matches()) {
            String index = shortcut.group(3).equals("convolution") ? "0" : "1";
            return "layer" + (Integer.parseInt(shortcut.group(1)) + 1) + "." + shortcut.group(2)
                    + ".downsample." + index + "." + shortcut.group(4);
        }
        if (name.startsWith(EMBEDDER + "convolution.")) {
            return "conv1." + name.substring((EMBEDDER + "convolution.").length());
        }
        if (name.startsWith(EMBEDDER + "normalization.")) {
            return "bn1." + name.substring((EMBEDDER + "normalization.").length());
        }
        if (name.startsWith("classifier.1.")) {
            return "fc." + name.substring("classifier.1.".length());
        }
        throw new IllegalArgumentException("No ResNet parameter matches Hugging Face tensor "
                + name);
    }
}
