package org.quantint8.zoo.nlp;

import ai.djl.Model;
import ai.djl.translate.ArgumentsUtil;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Pair;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;
import java.util.Set;

/**
 * Creates {@link TextEmbeddingTranslator}s ({@code String} to {@code float[]}) for BERT models
 * whose folder holds a {@code tokenizer.json} or a {@code vocab.txt}.
 *
 * <p>Arguments: {@code pooling} ({@code mean} by default, or {@code cls}), {@code normalize}
 * ({@code false} by default), {@code maxLength} (512 by default; longer texts are truncated by the
 * tokenizer), {@code lowerCase} ({@code true} by default, for {@code vocab.txt}).
 */
public class TextEmbeddingTranslatorFactory implements TranslatorFactory {

    /** {@inheritDoc} */
    @Override
    public Set<Pair<Type, Type>> getSupportedTypes() {
        return Set.of(new Pair<>(String.class, float[].class));
    }

    /** {@inheritDoc} */
    @Override
    @SuppressWarnings("unchecked")
    public <I, O> Translator<I, O> newInstance(
            Class<I> input, Class<O> output, Model model, Map<String, ?> arguments)
            throws TranslateException {
        if (!isSupported(input, output)) {
            throw new IllegalArgumentException("Unsupported input/output types: " + input + ", "
                    + output + "; supported: String to float[]");
        }
        try {
            return (Translator<I, O>) TextEmbeddingTranslator.builder()
                    .setTokenizer(BertEncoder.tokenizerOf(model, arguments))
                    .optMaxLength(BertEncoder.maxLengthOf(arguments))
                    .optPooling(TextEmbeddingTranslator.Pooling.fromName(
                            ArgumentsUtil.stringValue(arguments, "pooling", "mean")))
                    .optNormalize(ArgumentsUtil.booleanValue(arguments, "normalize"))
                    .build();
        } catch (IOException e) {
            throw new TranslateException("Cannot load the tokenizer of " + model.getName(), e);
        }
    }
}
