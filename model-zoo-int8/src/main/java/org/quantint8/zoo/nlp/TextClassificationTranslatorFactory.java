package org.quantint8.zoo.nlp;

import ai.djl.Model;
import ai.djl.modality.Classifications;
import ai.djl.translate.ArgumentsUtil;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Pair;
import ai.djl.util.Utils;

import java.io.IOException;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Creates {@link TextClassificationTranslator}s ({@code String} to {@link Classifications}) for
 * BERT classifiers whose folder holds a {@code tokenizer.json} or a {@code vocab.txt}.
 *
 * <p>Arguments: {@code labels} (comma-separated; without it, the folder's {@code labels.txt}, one
 * per line), {@code outputName} ({@value TextClassificationTranslator#DEFAULT_OUTPUT} by default),
 * {@code applySoftmax} ({@code true} by default), {@code maxLength} (512 by default; longer texts
 * are truncated by the tokenizer), {@code lowerCase} ({@code true} by default, for {@code
 * vocab.txt}).
 */
public class TextClassificationTranslatorFactory implements TranslatorFactory {

    /** {@inheritDoc} */
    @Override
    public Set<Pair<Type, Type>> getSupportedTypes() {
        return Set.of(new Pair<>(String.class, Classifications.class));
    }

    /** {@inheritDoc} */
    @Override
    @SuppressWarnings("unchecked")
    public <I, O> Translator<I, O> newInstance(
            Class<I> input, Class<O> output, Model model, Map<String, ?> arguments)
            throws TranslateException {
        if (!isSupported(input, output)) {
            throw new IllegalArgumentException("Unsupported input/output types: " + input + ", "
                    + output + "; supported: String to Classifications");
        }
        try {
            return (Translator<I, O>) TextClassificationTranslator.builder()
                    .setTokenizer(BertEncoder.tokenizerOf(model, arguments))
                    .setLabels(labels(model, arguments))
                    .optMaxLength(BertEncoder.maxLengthOf(arguments))
                    .optOutputName(ArgumentsUtil.stringValue(arguments, "outputName",
                            TextClassificationTranslator.DEFAULT_OUTPUT))
                    .optApplySoftmax(ArgumentsUtil.booleanValue(arguments, "applySoftmax", true))
                    .build();
        } catch (IOException e) {
            throw new TranslateException("Cannot load the tokenizer or labels of "
                    + model.getName(), e);
        }
    }

    private static List<String> labels(Model model, Map<String, ?> arguments) throws IOException {
        String given = ArgumentsUtil.stringValue(arguments, "labels");
        if (given != null) {
            return Arrays.stream(given.split(",")).map(String::trim).toList();
        }
        Path file = model.getModelPath().resolve("labels.txt");
        if (!Files.isRegularFile(file)) {
            throw new IOException("no 'labels' argument and no labels.txt in " + file.getParent());
        }
        return Utils.readLines(file).stream().filter(line -> !line.isBlank()).toList();
    }
}
