package org.quantint8.zoo.nlp;

import ai.djl.Model;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.translate.ArgumentsUtil;

import org.quantint8.zoo.architectures.Bert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Turns a text into the three inputs of a BERT graph, named as the graph names them, shape {@code
 * [1, sequence]}: what the BERT translators share.
 */
final class BertEncoder {

    private final HuggingFaceTokenizer tokenizer;
    private final int maxLength;

    BertEncoder(HuggingFaceTokenizer tokenizer, int maxLength) {
        if (tokenizer == null) {
            throw new IllegalArgumentException("a tokenizer is required");
        }
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be positive, got " + maxLength);
        }
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    /**
     * Encodes a text.
     *
     * @param text the text
     * @return its encoding
     * @throws IllegalArgumentException if the text is null or blank, or its encoding is longer
     *     than the maximum length (the tokenizer did not truncate it)
     */
    Encoding encode(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("the text is empty");
        }
        Encoding encoding = tokenizer.encode(text);
        int length = encoding.getIds().length;
        if (length > maxLength) {
            throw new IllegalArgumentException("the text has " + length
                    + " tokens, more than the maximum length " + maxLength
                    + "; use a tokenizer that truncates (BertTokenizers.fromVocabulary does)");
        }
        return encoding;
    }

    /**
     * Returns the graph inputs of an encoding.
     *
     * @param manager where the arrays are created
     * @param encoding the encoding
     * @return input ids, attention mask and token type ids, {@code [1, sequence]}, named
     */
    static NDList toInputs(NDManager manager, Encoding encoding) {
        return new NDList(
                row(manager, encoding.getIds(), Bert.INPUT_IDS),
                row(manager, encoding.getAttentionMask(), Bert.ATTENTION_MASK),
                row(manager, encoding.getTypeIds(), Bert.TOKEN_TYPE_IDS));
    }

    private static NDArray row(NDManager manager, long[] values, String name) {
        NDArray array = manager.create(values).expandDims(0);
        array.setName(name);
        return array;
    }

    /**
     * Returns the tokenizer for a model, owned by the model's manager: the folder's {@code
     * tokenizer.json} if there is one, else BERT's tokenizer of its {@code vocab.txt}.
     *
     * <p>Arguments: {@code lowerCase} ({@code true} by default; for {@code vocab.txt}), {@code
     * maxLength} (512 by default), and any option of {@link HuggingFaceTokenizer#builder(Map)}.
     *
     * @param model the model
     * @param arguments the translator's arguments
     * @return the tokenizer
     * @throws IOException if the folder has neither file, or it cannot be read
     */
    static HuggingFaceTokenizer tokenizerOf(Model model, Map<String, ?> arguments)
            throws IOException {
        Path folder = model.getModelPath();
        int maxLength = maxLengthOf(arguments);
        Path json = folder.resolve("tokenizer.json");
        if (Files.isRegularFile(json)) {
            return HuggingFaceTokenizer.builder(arguments).optTokenizerPath(json)
                    .optMaxLength(maxLength).optTruncation(true)
                    .optManager(model.getNDManager()).build();
        }
        Path vocabulary = folder.resolve("vocab.txt");
        if (!Files.isRegularFile(vocabulary)) {
            throw new IOException("no tokenizer.json or vocab.txt in the model folder " + folder);
        }
        HuggingFaceTokenizer tokenizer = BertTokenizers.fromVocabulary(vocabulary,
                ArgumentsUtil.booleanValue(arguments, "lowerCase", true), maxLength);
        model.getNDManager().attachInternal(tokenizer.getUid(), tokenizer);
        return tokenizer;
    }

    /**
     * Returns the {@code maxLength} argument.
     *
     * @param arguments the translator's arguments
     * @return the maximum length, {@value BertTokenizers#DEFAULT_MAX_LENGTH} by default
     */
    static int maxLengthOf(Map<String, ?> arguments) {
        return ArgumentsUtil.intValue(arguments, "maxLength", BertTokenizers.DEFAULT_MAX_LENGTH);
    }
}
