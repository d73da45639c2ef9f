package org.quantint8.zoo.bert;

import static org.testng.Assert.assertEquals;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import org.quantint8.zoo.nlp.BertTokenizers;
import org.quantint8.zoo.weights.EasyBertArchive;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * {@link BertTokenizers} on Google's real BERT-base-uncased {@code vocab.txt} gives the ids of the
 * reference {@link WordPieceTokenizer} on varied text, and lays out special tokens as BERT does.
 */
public class RealVocabularyTokenizerTest {

    private static final List<String> FRAGMENTS = List.of(
            "The capital of France is Paris.", "Crème brûlée, façade, naïve café!",
            "ÀÉÎÕÜ àéîõü Ñandú", "I don't know... (maybe?) [yes]; no: {never}",
            "Email: someone@example.com, cost $3.50 -- 20% off!", "我爱北京天安门", "東京は日本の首都です",
            "supercalifragilisticexpialidocious antidisestablishmentarianism",
            "qwzxkjvbn xyzzyplugh flibbertigibbet", "a".repeat(101), "b".repeat(100),
            "tab\there\nnew line\r\nreturns", "non\u00A0breaking\u2003spaces", "zero\u200Bwidth",
            "“curly quotes” ‘single’ — em-dash – en-dash", "emoji 😀 and symbols ©®™ ∑∞",
            "Mixed CASE Words AND NUMBERS 12345 3.14159", "ħello wörld, Ω≈ç√", "control\u0007bell",
            "Приве́т, мир", "مرحبا بالعالم", "γειά σου κόσμε", "", "   ", "...", "don't-stop_me now",
            "the man worked as a [MASK] in the hospital.", "Ωmega", "12:30pm 3/4 #hashtag");

    private HuggingFaceTokenizer tokenizer;
    private WordPieceTokenizer reference;

    @BeforeClass
    public void load() throws Exception {
        Path vocabulary = EasyBertArchive.extract(RealBertMaskedLmTest.buildFolder()).resolve(EasyBertArchive.VOCAB);
        tokenizer = BertTokenizers.fromVocabulary(vocabulary, true);
        reference = new WordPieceTokenizer(vocabulary);
    }

    @AfterClass
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    @Test
    public void idsEqualTheReferenceOnVariedText() {
        List<String> texts = new ArrayList<>(FRAGMENTS);
        Random random = new Random(3);
        while (texts.size() < 400) {
            StringBuilder text = new StringBuilder();
            int parts = 1 + random.nextInt(4);
            for (int i = 0; i < parts; i++) {
                text.append(FRAGMENTS.get(random.nextInt(FRAGMENTS.size())))
                        .append(random.nextBoolean() ? " " : "");
            }
            texts.add(text.toString());
        }
        for (String text : texts) {
            assertEquals(tokenizer.encode(text).getIds(), reference.encode(text), text);
        }
    }

    @Test
    public void layoutOfSpecialTokens() {
        long cls = reference.id("[CLS]");
        long sep = reference.id("[SEP]");
        Encoding single = tokenizer.encode("hello world");
        assertEquals(single.getIds(), new long[] {cls, reference.id("hello"),
                reference.id("world"), sep});
        assertEquals(single.getTypeIds(), new long[4]);
        assertEquals(single.getAttentionMask(), new long[] {1, 1, 1, 1});

        Encoding pair = tokenizer.encode("hello", "world");
        assertEquals(pair.getIds(), new long[] {cls, reference.id("hello"), sep,
                reference.id("world"), sep});
        assertEquals(pair.getTypeIds(), new long[] {0, 0, 0, 1, 1});

        long[] masked = tokenizer.encode("paris is the [MASK] of france").getIds();
        assertEquals(masked[4], reference.id("[MASK]"));
        assertEquals(tokenizer.decode(tokenizer.encode("Héllo, World!").getIds(), true),
                "hello, world!");
    }

    @Test
    public void truncatesToTheMaximumLengthKeepingSpecialTokens() throws Exception {
        Path vocabulary = EasyBertArchive.extract(RealBertMaskedLmTest.buildFolder()).resolve(EasyBertArchive.VOCAB);
        String text = "one two three four five six seven eight nine ten";
        long[] full = reference.encode(text);
        try (HuggingFaceTokenizer shortTokenizer =
                BertTokenizers.fromVocabulary(vocabulary, true, 6)) {
            long[] ids = shortTokenizer.encode(text).getIds();
            long[] expected = Arrays.copyOf(full, 6);
            expected[5] = full[full.length - 1];
            assertEquals(ids, expected);
        }
    }
}
