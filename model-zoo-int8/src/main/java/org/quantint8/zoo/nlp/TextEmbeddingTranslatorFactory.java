package org.quantint8.zoo.nlp;

import ai.djl.Model;
import ai.djl.translate.ArgumentsUtil;
import ai.djl.translate.Translator;

import java.io.IOException;
import java.util.Map;

/**
 * Creates {@link TextEmbeddingTranslator}s ({@code String} to {@code float[]}) for BERT models
 * whose folder holds a {@code tokenizer.json} or a {@code vocab.txt}.
 *
 * <p>Arguments: {@code pooling} ({@code mean} by default, or {@code cls}), {@code normalize}
 * ({@code false} by default), {@code maxLength} (512 by default; longer texts are truncated by the
 * tokenizer), {@code lowerCase} ({@code true} by default, for {@code vocab.txt}).
 */
public class TextEmbeddingTranslatorFactory extends TypedTranslatorFactory<String, float[]> {

    /** Creates the factory. */
    public TextEmbeddingTranslatorFactory() {
        super(String.class, float[].class);
    }

    @Override
    Translator<String, float[]> build(Model model, Map<String, ?> arguments) throws IOException {
        return TextEmbeddingTranslator.builder()
                .setTokenizer(BertEncoder.tokenizerOf(model, arguments))
                .optMaxLength(BertEncoder.maxLengthOf(arguments))
                .optPooling(TextEmbeddingTranslator.Pooling.fromName(
                        ArgumentsUtil.stringValue(arguments, "pooling", "mean")))
                .optNormalize(ArgumentsUtil.booleanValue(arguments, "normalize"))
                .build();
    }
}
