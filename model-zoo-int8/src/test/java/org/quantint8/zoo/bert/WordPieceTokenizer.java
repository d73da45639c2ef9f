package org.quantint8.zoo.bert;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A minimal uncased BERT tokenizer over a {@code vocab.txt}: lower-casing, accent stripping,
 * splitting on whitespace and punctuation, then greedy longest-match WordPiece with {@code ##}
 * continuations, as Google's {@code tokenization.py} does (control characters dropped, CJK
 * characters split apart). Special tokens written in the text, such as {@code [MASK]}, are kept
 * whole. The tests' reference for {@link org.quantint8.zoo.nlp.BertTokenizers}.
 */
final class WordPieceTokenizer {

    private static final int MAX_WORD_CHARS = 100;

    private final Map<String, Integer> ids = new HashMap<>();

    WordPieceTokenizer(Path vocabulary) throws IOException {
        List<String> tokens = Files.readAllLines(vocabulary, StandardCharsets.UTF_8);
        for (int i = 0; i < tokens.size(); i++) {
            ids.putIfAbsent(tokens.get(i), i);
        }
    }

    /**
     * Returns {@code [CLS] text [SEP]} as token ids.
     *
     * @param text the text
     * @return the ids
     */
    long[] encode(String text) {
        List<Long> result = new ArrayList<>();
        result.add((long) id("[CLS]"));
        for (String word : words(text)) {
            if (word.startsWith("[") && ids.containsKey(word.toUpperCase())) {
                result.add((long) id(word.toUpperCase()));
            } else {
                wordPieces(word, result);
            }
        }
        result.add((long) id("[SEP]"));
        return result.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * Returns the id of a token.
     *
     * @param token the token
     * @return its id
     */
    int id(String token) {
        Integer id = ids.get(token);
        if (id == null) {
            throw new IllegalArgumentException("Token not in the vocabulary: " + token);
        }
        return id;
    }

    /** Lower-cases, strips accents, splits on whitespace and punctuation ([MASK] kept whole). */
    private static List<String> words(String text) {
        String normalized = Normalizer.normalize(clean(text).toLowerCase(Locale.ROOT),
                Normalizer.Form.NFD).replaceAll("\\p{Mn}", "");
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < normalized.length(); i++) {
            char c = normalized.charAt(i);
            if (normalized.startsWith("[mask]", i)) {
                flush(word, words);
                words.add("[mask]");
                i += "[mask]".length() - 1;
            } else if (isWhitespace(c)) {
                flush(word, words);
            } else if (isPunctuation(c) || isCjk(c)) {
                flush(word, words);
                words.add(String.valueOf(c));
            } else {
                word.append(c);
            }
        }
        flush(word, words);
        return words;
    }

    /** Drops NUL, U+FFFD and control characters; other whitespace becomes a space. */
    private static String clean(String text) {
        StringBuilder cleaned = new StringBuilder(text.length());
        text.codePoints().forEach(c -> {
            if (isWhitespace(c)) {
                cleaned.append(' ');
            } else if (c != 0 && c != 0xFFFD && !isControl(c)) {
                cleaned.appendCodePoint(c);
            }
        });
        return cleaned.toString();
    }

    private static boolean isWhitespace(int c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r'
                || Character.getType(c) == Character.SPACE_SEPARATOR;
    }

    private static boolean isControl(int c) {
        int type = Character.getType(c);
        return type == Character.CONTROL || type == Character.FORMAT
                || type == Character.PRIVATE_USE || type == Character.SURROGATE;
    }

    /** The CJK Unified Ideograph blocks of the Basic Multilingual Plane that BERT splits apart. */
    private static boolean isCjk(char c) {
        return c >= 0x4E00 && c <= 0x9FFF || c >= 0x3400 && c <= 0x4DBF
                || c >= 0xF900 && c <= 0xFAFF;
    }

    private static void flush(StringBuilder word, List<String> words) {
        if (!word.isEmpty()) {
            words.add(word.toString());
            word.setLength(0);
        }
    }

    private static boolean isPunctuation(char c) {
        if (c >= 33 && c <= 47 || c >= 58 && c <= 64 || c >= 91 && c <= 96
                || c >= 123 && c <= 126) {
            return true;
        }
        int type = Character.getType(c);
        return type >= Character.DASH_PUNCTUATION && type <= Character.OTHER_PUNCTUATION
                || type == Character.INITIAL_QUOTE_PUNCTUATION
                || type == Character.FINAL_QUOTE_PUNCTUATION;
    }

    private void wordPieces(String word, List<Long> out) {
        if (word.length() > MAX_WORD_CHARS) {
            out.add((long) id("[UNK]"));
            return;
        }
        List<Long> pieces = new ArrayList<>();
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            Integer piece = null;
            while (end > start) {
                String candidate = (start > 0 ? "##" : "") + word.substring(start, end);
                piece = ids.get(candidate);
                if (piece != null) {
                    break;
                }
                end--;
            }
            if (piece == null) {
                out.add((long) id("[UNK]"));
                return;
            }
            pieces.add((long) piece);
            start = end;
        }
        out.addAll(pieces);
    }
}
