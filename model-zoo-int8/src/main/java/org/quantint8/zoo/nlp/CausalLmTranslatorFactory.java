package org.quantint8.zoo.nlp;

import ai.djl.Model;
import ai.djl.modality.nlp.generate.CausalLMOutput;
import ai.djl.ndarray.NDList;
import ai.djl.translate.Translator;

import java.util.Map;

/**
 * Creates {@link CausalLmTranslator}s ({@link NDList} to {@link CausalLMOutput}) for GPT-2
 * models; they take no arguments. Generation and perplexity are in {@link Gpt2LanguageModel}.
 */
public class CausalLmTranslatorFactory extends TypedTranslatorFactory<NDList, CausalLMOutput> {

    /** Creates the factory. */
    public CausalLmTranslatorFactory() {
        super(NDList.class, CausalLMOutput.class);
    }

    @Override
    Translator<NDList, CausalLMOutput> build(Model model, Map<String, ?> arguments) {
        return new CausalLmTranslator();
    }
}
