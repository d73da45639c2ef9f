package org.quantint8.zoo.nlp;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;

/**
 * GPT-2's byte-level BPE ({@code r50k_base}, 50,257 tokens) through jtokkit. Thread-safe.
 *
 * <p>Text is encoded as ordinary text: {@code <|endoftext|>} written in a text is encoded as its
 * characters, never as the special token {@value #END_OF_TEXT}, so that user text cannot forge
 * it. Decoding turns {@value #END_OF_TEXT} back into {@code <|endoftext|>}.
 */
public final class Gpt2Tokenizer {

    /** The id of {@code <|endoftext|>}, which GPT-2 generates at the end of a document. */
    public static final long END_OF_TEXT = 50256;
    /** The number of tokens. */
    public static final int VOCAB_SIZE = 50257;

    private static final Gpt2Tokenizer INSTANCE = new Gpt2Tokenizer();

    private final Encoding encoding;

    private Gpt2Tokenizer() {
        encoding = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    }

    /**
     * Returns the tokenizer.
     *
     * @return the shared instance
     */
    public static Gpt2Tokenizer getInstance() {
        return INSTANCE;
    }

    /**
     * Encodes a text.
     *
     * @param text the text
     * @return the token ids, empty for an empty text
     */
    public long[] encode(String text) {
        int[] ids = encoding.encodeOrdinary(text).toArray();
        long[] result = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            result[i] = ids[i];
        }
        return result;
    }

    /**
     * Decodes token ids.
     *
     * @param ids the ids
     * @return the text; byte sequences cut inside a character decode to U+FFFD
     * @throws IllegalArgumentException if an id is not a GPT-2 token
     */
    public String decode(long[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= VOCAB_SIZE) {
                throw new IllegalArgumentException("token " + i + " is " + ids[i]
                        + ", not a GPT-2 token id (0 to " + (VOCAB_SIZE - 1) + ")");
            }
            list.add((int) ids[i]);
        }
        return encoding.decode(list);
    }
}
