package org.quantint8.zoo.weights;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Maps the Hugging Face {@code gpt2} checkpoints onto the parameter names of {@code
 * org.quantint8.zoo.architectures.Gpt2}, which are that checkpoint's own: {@code Conv1D} weights
 * are already {@code [in, out]}, so no tensor is transposed.
 *
 * <p>A {@code transformer.} prefix (from {@code GPT2LMHeadModel}) is removed; {@code
 * lm_head.weight} (tied to {@code wte.weight}) and the attention buffers {@code h.*.attn.bias}
 * and {@code h.*.attn.masked_bias} (the causal mask, rebuilt by the graph) are dropped.
 */
public final class Gpt2Weights {

    private Gpt2Weights() {}

    /**
     * Maps a Hugging Face GPT-2 checkpoint.
     *
     * @param tensors the checkpoint's tensors by name
     * @return the values by builder name
     */
    public static Map<String, float[]> fromHuggingFace(Map<String, CheckpointTensor> tensors) {
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (CheckpointTensor tensor : tensors.values()) {
            String name = tensor.name();
            if (name.startsWith("transformer.")) {
                name = name.substring("transformer.".length());
            }
            if (name.equals("lm_head.weight") || name.endsWith(".attn.bias")
                    || name.endsWith(".attn.masked_bias")) {
                continue;
            }
            weights.put(name, tensor.values());
        }
        return weights;
    }
}
