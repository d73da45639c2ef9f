package org.quantint8.zoo.nlp;

import ai.djl.modality.nlp.generate.CausalLMOutput;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslatorContext;

import org.quantint8.zoo.architectures.Gpt2;

/**
 * One step of a GPT-2 graph with its key/value cache, in DJL's terms: {@code [input_ids, past
 * key of layer 0, past value of layer 0, past key of layer 1, ...]} in, {@link CausalLMOutput}
 * (the logits {@code [batch, sequence, vocab]} and the presents in the same layer order) out.
 *
 * <p>The inputs are named as the graph names them ({@link Gpt2#INPUT_IDS}, {@link
 * Gpt2#pastName}), so they bind by name on any engine. The outputs stay attached to the manager
 * of the input ids, as the engines attach them, so they outlive the prediction. The first step
 * gives an empty cache, {@code [batch, heads, 0, headDim]}; {@link Gpt2LanguageModel} drives the
 * steps.
 */
public final class CausalLmTranslator implements NoBatchifyTranslator<NDList, CausalLMOutput> {

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException if the list is not input ids followed by a key and a value
     *     per layer
     */
    @Override
    public NDList processInput(TranslatorContext ctx, NDList input) {
        if (input.size() < 3 || input.size() % 2 == 0) {
            throw new IllegalArgumentException("expected input ids and a past key and value per"
                    + " layer, got " + input.size() + " arrays");
        }
        input.get(0).setName(Gpt2.INPUT_IDS);
        for (int i = 1; i < input.size(); i++) {
            input.get(i).setName(Gpt2.pastName((i - 1) / 2, i % 2 == 1));
        }
        return input;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException if the model lacks the logits or a layer's present
     */
    @Override
    public CausalLMOutput processOutput(TranslatorContext ctx, NDList list) {
        int layers = (list.size() - 1) / 2;
        NDList presents = new NDList(2 * layers);
        for (int layer = 0; layer < layers; layer++) {
            presents.add(output(list, Gpt2.presentName(layer, true)));
            presents.add(output(list, Gpt2.presentName(layer, false)));
        }
        return new CausalLMOutput(output(list, Gpt2.LOGITS), presents);
    }

    private static NDArray output(NDList list, String name) {
        NDArray array = list.get(name);
        if (array == null) {
            throw new IllegalStateException("the model has no output '" + name + "'; it gives "
                    + list.stream().map(NDArray::getName).toList());
        }
        return array;
    }
}
