package org.quantint8.zoo.nlp;

import ai.djl.Model;
import ai.djl.modality.Classifications;
import ai.djl.translate.ArgumentsUtil;
import ai.djl.translate.Translator;
import ai.djl.util.Utils;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

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
public class TextClassificationTranslatorFactory
        extends TypedTranslatorFactory<String, Classifications> {

    /** Creates the factory. */
    public TextClassificationTranslatorFactory() {
        super(String.class, Classifications.class);
    }

    @Override
    Translator<String, Classifications> build(Model model, Map<String, ?> arguments)
            throws IOException {
        return TextClassificationTranslator.builder()
                .setTokenizer(BertEncoder.tokenizerOf(model, arguments))
                .setLabels(labels(model, arguments))
                .optMaxLength(BertEncoder.maxLengthOf(arguments))
                .optOutputName(ArgumentsUtil.stringValue(arguments, "outputName",
                        TextClassificationTranslator.DEFAULT_OUTPUT))
                .optApplySoftmax(ArgumentsUtil.booleanValue(arguments, "applySoftmax", true))
                .build();
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
