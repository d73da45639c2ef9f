package org.quantint8.zoo.weights;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps BERT checkpoints onto the parameter names of {@code org.quantint8.zoo.architectures.Bert}
 * (Google's TensorFlow names, kernels {@code [in, out]}).
 *
 * <table>
 * <caption>Hugging Face ({@code bert-base-uncased}) to builder names</caption>
 * <tr><th>Hugging Face</th><th>builder</th></tr>
 * <tr><td>{@code bert.embeddings.word_embeddings.weight}</td>
 *     <td>{@code bert/embeddings/word_embeddings} (same for position and token type)</td></tr>
 * <tr><td>{@code ...LayerNorm.weight} or {@code .gamma}; {@code .bias} or {@code .beta}</td>
 *     <td>{@code .../LayerNorm/gamma}; {@code .../LayerNorm/beta}</td></tr>
 * <tr><td>{@code bert.encoder.layer.3.attention.self.query.weight} {@code [out, in]}</td>
 *     <td>{@code bert/encoder/layer_3/attention/self/query/kernel} {@code [in, out]}, transposed</td></tr>
 * <tr><td>{@code ...bias} of a dense layer</td><td>{@code .../bias}</td></tr>
 * <tr><td>{@code cls.predictions.bias}</td><td>{@code cls/predictions/output_bias}</td></tr>
 * <tr><td>{@code cls.predictions.decoder.*}, {@code cls.seq_relationship.*}, {@code
 *     bert.embeddings.position_ids}</td>
 *     <td>dropped: the decoder is tied to the word embeddings; next-sentence prediction is not
 *     part of the architecture; the position ids are a buffer</td></tr>
 * </table>
 *
 * <p>A checkpoint saved from {@code BertModel} has no {@code bert.} prefix; it is added.
 */
public final class BertWeights {

    /** The first {@code bert/} or {@code cls/} scope of a name, and what follows it. */
    private static final Pattern TF_SCOPE = Pattern.compile("(?:.*?/)?((?:bert|cls)/.+)");
    private static final Pattern LAYER = Pattern.compile("layer\\.(\\d+)\\.");

    private BertWeights() {}

    /**
     * Maps a TensorFlow checkpoint (Google's original, or a TF-Hub module's {@code module/...}
     * variables): the scope prefix before {@code bert/} or {@code cls/} is removed; next-sentence
     * prediction ({@code cls/seq_relationship/*}), optimizer slots ({@code adam_m}, {@code
     * adam_v}) and {@code global_step} are dropped.
     *
     * @param tensors the checkpoint's tensors by name
     * @return the values by builder name
     */
    public static Map<String, float[]> fromTensorFlow(Map<String, CheckpointTensor> tensors) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (CheckpointTensor tensor : tensors.values()) {
            Matcher scoped = TF_SCOPE.matcher(tensor.name());
            String name = scoped.matches() ? scoped.group(1) : null;
            if (name == null || name.startsWith("cls/seq_relationship/")
                    || name.endsWith("adam_m") || name.endsWith("adam_v")) {
                continue;
            }
            weights.put(name, tensor.values());
        }
        return weights;
    }

    /**
     * Maps a Hugging Face checkpoint ({@code BertForMaskedLM}, {@code BertForPreTraining} or
     * {@code BertModel}), transposing the dense layers' weights.
     *
     * @param tensors the checkpoint's tensors by name
     * @return the values by builder name
     * @throws IllegalArgumentException if a dense weight is not a matrix
     */
    public static Map<String, float[]> fromHuggingFace(Map<String, CheckpointTensor> tensors) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (CheckpointTensor tensor : tensors.values()) {
            String name = tensor.name();
            if (name.startsWith("embeddings.") || name.startsWith("encoder.")
                    || name.startsWith("pooler.")) {
                name = "bert." + name;
            }
            if (name.startsWith("cls.predictions.decoder.") || name.startsWith("cls.seq_relationship.")
                    || name.endsWith("position_ids")) {
                continue;
            }
            if (name.equals("cls.predictions.bias")) {
                weights.put("cls/predictions/output_bias", tensor.values());
                continue;
            }
            boolean layerNorm = name.contains(".LayerNorm.");
            boolean embedding = name.contains("_embeddings.");
            float[] values = tensor.values();
            if (layerNorm) {
                name = name.replaceAll("\\.(weight|gamma)$", ".gamma")
                        .replaceAll("\\.(bias|beta)$", ".beta");
            } else if (embedding) {
                name = name.substring(0, name.lastIndexOf('.'));
            } else if (name.endsWith(".weight")) {
                name = name.substring(0, name.length() - ".weight".length()) + ".kernel";
                values = tensor.transposed();
            }
            name = LAYER.matcher(name).replaceAll("layer_$1.").replace('.', '/');
            weights.put(name, values);
        }
        return weights;
    }
}
