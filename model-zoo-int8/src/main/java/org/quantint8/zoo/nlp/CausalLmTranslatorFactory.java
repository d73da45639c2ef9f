package org.quantint8.zoo.nlp;

import ai.djl.Model;
import ai.djl.modality.nlp.generate.CausalLMOutput;
import ai.djl.ndarray.NDList;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Pair;

import java.lang.reflect.Type;
import java.util.Map;
import java.util.Set;

/**
 * Creates {@link CausalLmTranslator}s ({@link NDList} to {@link CausalLMOutput}) for GPT-2
 * models; they take no arguments. Generation and perplexity are in {@link Gpt2LanguageModel}.
 */
public class CausalLmTranslatorFactory implements TranslatorFactory {

    /** {@inheritDoc} */
    @Override
    public Set<Pair<Type, Type>> getSupportedTypes() {
        return Set.of(new Pair<>(NDList.class, CausalLMOutput.class));
    }

    /** {@inheritDoc} */
    @Override
    @SuppressWarnings("unchecked")
    public <I, O> Translator<I, O> newInstance(
            Class<I> input, Class<O> output, Model model, Map<String, ?> arguments) {
        if (!isSupported(input, output)) {
            throw new IllegalArgumentException("Unsupported input/output types: " + input + ", "
                    + output + "; supported: NDList to CausalLMOutput");
        }
        return (Translator<I, O>) new CausalLmTranslator();
    }
}
