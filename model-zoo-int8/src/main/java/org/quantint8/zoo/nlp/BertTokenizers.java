package org.quantint8.zoo.nlp;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT's WordPiece tokenizer from the {@code vocab.txt} that Google's checkpoints ship, as a DJL
 * {@link HuggingFaceTokenizer}.
 *
 * <p>{@code HuggingFaceTokenizer} reads a {@code tokenizer.json}; this class writes the standard
 * BERT one in memory: {@code BertNormalizer} (clean text, spaces around CJK characters, lower-case
 * and accent stripping when uncased), {@code BertPreTokenizer} (whitespace and punctuation), a
 * {@code WordPiece} model ({@code [UNK]}, {@code ##} continuations, words over 100 characters
 * become {@code [UNK]}), {@code [CLS] $A [SEP]} and {@code [CLS] $A [SEP] $B [SEP]} templates
 * (segment 1 for the second text), and truncation to the maximum length. Special tokens written
 * in the text, such as {@code [MASK]}, are kept whole when written in upper case.
 *
 * <pre>{@code
 * try (HuggingFaceTokenizer tokenizer = BertTokenizers.fromVocabulary(vocabTxt, true)) {
 *     long[] ids = tokenizer.encode("The capital of France is [MASK].").getIds();
 * }
 * }</pre>
 */
public final class BertTokenizers {

    /** The longest sequence of BERT-base, in tokens. */
    public static final int DEFAULT_MAX_LENGTH = 512;

    private static final String UNKNOWN = "[UNK]";
    private static final String CLASSIFIER = "[CLS]";
    private static final String SEPARATOR = "[SEP]";
    private static final String PADDING = "[PAD]";
    private static final List<String> SPECIAL = List.of(PADDING, UNKNOWN, CLASSIFIER, SEPARATOR,
            "[MASK]");
    private static final int MAX_WORD_CHARS = 100;
    private static final String SPECIAL_TOKEN = "SpecialToken";
    private static final String SEQUENCE = "Sequence";

    private BertTokenizers() {}

    /**
     * Loads the tokenizer of a vocabulary, truncating to {@value #DEFAULT_MAX_LENGTH} tokens.
     *
     * @param vocabTxt the vocabulary, one token per line, the line number being the id
     * @param lowerCase {@code true} for uncased checkpoints (lower-case and strip accents)
     * @return the tokenizer; the caller closes it
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if the vocabulary is malformed (see {@link
     *     #toTokenizerJson})
     */
    public static HuggingFaceTokenizer fromVocabulary(Path vocabTxt, boolean lowerCase)
            throws IOException {
        return fromVocabulary(vocabTxt, lowerCase, DEFAULT_MAX_LENGTH);
    }

    /**
     * Loads the tokenizer of a vocabulary. Longer texts are truncated to {@code maxLength} tokens,
     * special tokens included ({@code [CLS]} and {@code [SEP]} are kept); nothing is padded.
     *
     * @param vocabTxt the vocabulary, one token per line, the line number being the id
     * @param lowerCase {@code true} for uncased checkpoints (lower-case and strip accents)
     * @param maxLength the longest encoding, at least 3 ({@code [CLS]}, a token, {@code [SEP]})
     * @return the tokenizer; the caller closes it
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if the vocabulary is malformed (see {@link
     *     #toTokenizerJson}) or {@code maxLength} is below 3
     */
    public static HuggingFaceTokenizer fromVocabulary(Path vocabTxt, boolean lowerCase,
            int maxLength) throws IOException {
        if (maxLength < 3) {
            throw new IllegalArgumentException("maxLength must be at least 3, got " + maxLength);
        }
        byte[] json = toTokenizerJson(vocabTxt, lowerCase).getBytes(StandardCharsets.UTF_8);
        Map<String, String> options = new HashMap<>();
        options.put("maxLength", Integer.toString(maxLength));
        options.put("truncation", "true");
        options.put("padding", "false");
        options.put("addSpecialTokens", "true");
        return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), options);
    }

    /**
     * Returns the {@code tokenizer.json} of a vocabulary, to save next to a model.
     *
     * @param vocabTxt the vocabulary, one token per line, the line number being the id
     * @param lowerCase {@code true} for uncased checkpoints (lower-case and strip accents)
     * @return the JSON text
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException if a line is empty or repeats an earlier token, or {@code
     *     [UNK]}, {@code [CLS]} or {@code [SEP]} is missing
     */
    public static String toTokenizerJson(Path vocabTxt, boolean lowerCase) throws IOException {
        Map<String, Integer> vocabulary = readVocabulary(vocabTxt);
        JsonObject json = new JsonObject();
        json.addProperty("version", "1.0");
        json.add("truncation", truncation());
        json.add("padding", JsonNull.INSTANCE);
        json.add("added_tokens", addedTokens(vocabulary));
        json.add("normalizer", normalizer(lowerCase));
        json.add("pre_tokenizer", type("BertPreTokenizer"));
        json.add("post_processor", postProcessor(vocabulary));
        JsonObject decoder = type("WordPiece");
        decoder.addProperty("prefix", "##");
        decoder.addProperty("cleanup", true);
        json.add("decoder", decoder);
        json.add("model", model(vocabulary));
        Gson gson = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();
        return gson.toJson(json);
    }

    private static Map<String, Integer> readVocabulary(Path vocabTxt) throws IOException {
        List<String> lines = Files.readAllLines(vocabTxt, StandardCharsets.UTF_8);
        Map<String, Integer> vocabulary = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String token = lines.get(i);
            if (token.isEmpty()) {
                throw new IllegalArgumentException(
                        vocabTxt + ": line " + (i + 1) + " is empty; every line must be a token");
            }
            Integer earlier = vocabulary.putIfAbsent(token, i);
            if (earlier != null) {
                throw new IllegalArgumentException(vocabTxt + ": line " + (i + 1) + " repeats '"
                        + token + "' of line " + (earlier + 1));
            }
        }
        for (String required : List.of(UNKNOWN, CLASSIFIER, SEPARATOR)) {
            if (!vocabulary.containsKey(required)) {
                throw new IllegalArgumentException(vocabTxt + ": no " + required + " token");
            }
        }
        return vocabulary;
    }

    private static JsonObject truncation() {
        JsonObject truncation = new JsonObject();
        truncation.addProperty("direction", "Right");
        truncation.addProperty("max_length", DEFAULT_MAX_LENGTH);
        truncation.addProperty("strategy", "LongestFirst");
        truncation.addProperty("stride", 0);
        return truncation;
    }

    /** The special tokens the vocabulary has, matched in the raw text before normalization. */
    private static JsonArray addedTokens(Map<String, Integer> vocabulary) {
        JsonArray added = new JsonArray();
        for (String token : SPECIAL) {
            Integer id = vocabulary.get(token);
            if (id != null) {
                JsonObject entry = new JsonObject();
                entry.addProperty("id", id);
                entry.addProperty("content", token);
                entry.addProperty("single_word", false);
                entry.addProperty("lstrip", false);
                entry.addProperty("rstrip", false);
                entry.addProperty("normalized", false);
                entry.addProperty("special", true);
                added.add(entry);
            }
        }
        return added;
    }

    private static JsonObject normalizer(boolean lowerCase) {
        JsonObject normalizer = type("BertNormalizer");
        normalizer.addProperty("clean_text", true);
        normalizer.addProperty("handle_chinese_chars", true);
        // null: strip accents exactly when lower-casing, as Google's BERT does.
        normalizer.add("strip_accents", JsonNull.INSTANCE);
        normalizer.addProperty("lowercase", lowerCase);
        return normalizer;
    }

    private static JsonObject postProcessor(Map<String, Integer> vocabulary) {
        JsonObject processor = type("TemplateProcessing");
        JsonArray single = new JsonArray();
        single.add(piece(SPECIAL_TOKEN, CLASSIFIER, 0));
        single.add(piece(SEQUENCE, "A", 0));
        single.add(piece(SPECIAL_TOKEN, SEPARATOR, 0));
        JsonArray pair = single.deepCopy();
        pair.add(piece(SEQUENCE, "B", 1));
        pair.add(piece(SPECIAL_TOKEN, SEPARATOR, 1));
        processor.add("single", single);
        processor.add("pair", pair);
        JsonObject specialTokens = new JsonObject();
        for (String token : List.of(CLASSIFIER, SEPARATOR)) {
            JsonObject entry = new JsonObject();
            entry.addProperty("id", token);
            JsonArray ids = new JsonArray();
            ids.add(vocabulary.get(token));
            entry.add("ids", ids);
            JsonArray tokens = new JsonArray();
            tokens.add(token);
            entry.add("tokens", tokens);
            specialTokens.add(token, entry);
        }
        processor.add("special_tokens", specialTokens);
        return processor;
    }

    /** A template piece: {@code {"SpecialToken": {"id": "[CLS]", "type_id": 0}}} or a Sequence. */
    private static JsonObject piece(String kind, String id, int typeId) {
        JsonObject piece = new JsonObject();
        piece.addProperty("id", id);
        piece.addProperty("type_id", typeId);
        JsonObject wrapper = new JsonObject();
        wrapper.add(kind, piece);
        return wrapper;
    }

    private static JsonObject model(Map<String, Integer> vocabulary) {
        JsonObject model = type("WordPiece");
        model.addProperty("unk_token", UNKNOWN);
        model.addProperty("continuing_subword_prefix", "##");
        model.addProperty("max_input_chars_per_word", MAX_WORD_CHARS);
        JsonObject vocab = new JsonObject();
        vocabulary.forEach(vocab::addProperty);
        model.add("vocab", vocab);
        return model;
    }

    private static JsonObject type(String type) {
        JsonObject object = new JsonObject();
        object.addProperty("type", type);
        return object;
    }
}
