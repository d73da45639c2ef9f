package org.quantint8.zoo.nlp;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslatorContext;

import org.quantint8.zoo.architectures.Bert;

import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * Embeds a text with a BERT graph: tokenizes it, runs the encoder and pools {@value
 * Bert#LAST_HIDDEN_STATE} into one vector, the mean over the attention mask (as sentence
 * transformers do) or the {@code [CLS]} token's vector, optionally scaled to unit length.
 *
 * <pre>{@code
 * TextEmbeddingTranslator translator = TextEmbeddingTranslator.builder()
 *         .setTokenizer(BertTokenizers.fromVocabulary(vocabTxt, true))
 *         .optPooling(TextEmbeddingTranslator.Pooling.MEAN).optNormalize(true).build();
 * }</pre>
 *
 * <p>Texts are encoded one by one, without padding (no batchifier): each prediction runs at its
 * own length. Padding added by the tokenizer changes nothing, as the mask excludes it.
 */
public final class TextEmbeddingTranslator implements NoBatchifyTranslator<String, float[]> {

    /** How token vectors become one text vector. */
    public enum Pooling {
        /** The mean of the vectors of the tokens the attention mask keeps. */
        MEAN,
        /** The vector of the first token, {@code [CLS]}. */
        CLS;

        /**
         * Returns the pooling of a name, case-insensitive.
         *
         * @param name {@code mean} or {@code cls}
         * @return the pooling
         * @throws IllegalArgumentException if the name is neither
         */
        public static Pooling fromName(String name) {
            try {
                return valueOf(name.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "pooling must be 'mean' or 'cls', got '" + name + "'", e);
            }
        }
    }

    private static final String ENCODING = "encoding";

    private final BertEncoder encoder;
    private final Pooling pooling;
    private final boolean normalize;

    private TextEmbeddingTranslator(Builder builder) {
        this.encoder = new BertEncoder(builder.tokenizer, builder.maxLength);
        this.pooling = builder.pooling;
        this.normalize = builder.normalize;
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException if the text is empty or blank, or has more tokens than
     *     the maximum length and the tokenizer does not truncate
     */
    @Override
    public NDList processInput(TranslatorContext ctx, String input) {
        Encoding encoding = encoder.encode(input);
        ctx.setAttachment(ENCODING, encoding);
        return BertEncoder.toInputs(ctx.getNDManager(), encoding);
    }

    /** {@inheritDoc} */
    @Override
    public float[] processOutput(TranslatorContext ctx, NDList list) {
        NDArray hidden = list.get(Bert.LAST_HIDDEN_STATE);
        if (hidden == null) {
            hidden = list.get(0);
        }
        long[] mask = ((Encoding) ctx.getAttachment(ENCODING)).getAttentionMask();
        long[] shape = hidden.getShape().getShape();
        if (shape.length != 3 || shape[0] != 1 || shape[1] != mask.length) {
            throw new IllegalStateException("expected the hidden states [1, " + mask.length
                    + ", hidden], got " + hidden.getShape());
        }
        float[] embedding = pool(hidden.toFloatArray(), mask, (int) shape[2]);
        return normalize ? unitLength(embedding) : embedding;
    }

    private float[] pool(float[] states, long[] mask, int size) {
        if (pooling == Pooling.CLS) {
            return Arrays.copyOf(states, size);
        }
        double[] sum = new double[size];
        int kept = 0;
        for (int t = 0; t < mask.length; t++) {
            if (mask[t] != 0) {
                kept++;
                for (int i = 0; i < size; i++) {
                    sum[i] += states[t * size + i];
                }
            }
        }
        float[] mean = new float[size];
        for (int i = 0; i < size; i++) {
            mean[i] = (float) (sum[i] / Math.max(kept, 1));
        }
        return mean;
    }

    private static float[] unitLength(float[] vector) {
        double squares = 0;
        for (float v : vector) {
            squares += (double) v * v;
        }
        // A zero vector stays zero rather than becoming NaN.
        double norm = Math.max(Math.sqrt(squares), 1e-12);
        for (int i = 0; i < vector.length; i++) {
            vector[i] = (float) (vector[i] / norm);
        }
        return vector;
    }

    /** Builds {@link TextEmbeddingTranslator}s. */
    public static final class Builder {

        private HuggingFaceTokenizer tokenizer;
        private int maxLength = BertTokenizers.DEFAULT_MAX_LENGTH;
        private Pooling pooling = Pooling.MEAN;
        private boolean normalize;

        Builder() {}

        /**
         * Sets the tokenizer; the translator does not close it.
         *
         * @param tokenizer the tokenizer, for example from {@link BertTokenizers}
         * @return this builder
         */
        public Builder setTokenizer(HuggingFaceTokenizer tokenizer) {
            this.tokenizer = tokenizer;
            return this;
        }

        /**
         * Sets the longest encoding accepted; a longer one (from a tokenizer that does not
         * truncate) is an error rather than a silent overflow of the position embeddings.
         *
         * @param maxLength the number of tokens; 512 by default
         * @return this builder
         */
        public Builder optMaxLength(int maxLength) {
            this.maxLength = maxLength;
            return this;
        }

        /**
         * Sets the pooling.
         *
         * @param pooling the pooling; {@link Pooling#MEAN} by default
         * @return this builder
         */
        public Builder optPooling(Pooling pooling) {
            this.pooling = Objects.requireNonNull(pooling, "pooling");
            return this;
        }

        /**
         * Sets whether embeddings are scaled to unit L2 length.
         *
         * @param normalize {@code true} to normalize; {@code false} by default
         * @return this builder
         */
        public Builder optNormalize(boolean normalize) {
            this.normalize = normalize;
            return this;
        }

        /**
         * Builds the translator.
         *
         * @return the translator
         * @throws IllegalArgumentException if no tokenizer is set or the maximum length is not
         *     positive
         */
        public TextEmbeddingTranslator build() {
            return new TextEmbeddingTranslator(this);
        }
    }
}
