package org.quantint8.zoo.nlp;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.modality.Classifications;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslatorContext;

import java.util.ArrayList;
import java.util.List;

/**
 * Classifies a text with a BERT sequence classification graph: tokenizes it, runs the model and
 * turns the output {@code [1, labels]} (by default the one named {@value #DEFAULT_OUTPUT}) into
 * {@link Classifications}, with a softmax computed in double unless the model already gives
 * probabilities.
 *
 * <pre>{@code
 * TextClassificationTranslator translator = TextClassificationTranslator.builder()
 *         .setTokenizer(BertTokenizers.fromVocabulary(vocabTxt, true))
 *         .setLabels(List.of("negative", "positive")).build();
 * }</pre>
 *
 * <p>Texts are encoded one by one, without padding (no batchifier).
 */
public final class TextClassificationTranslator
        implements NoBatchifyTranslator<String, Classifications> {

    /** The output read by default, as Hugging Face exports name a classifier's scores. */
    public static final String DEFAULT_OUTPUT = "logits";

    private final BertEncoder encoder;
    private final List<String> labels;
    private final String outputName;
    private final boolean applySoftmax;

    private TextClassificationTranslator(Builder builder) {
        if (builder.labels == null || builder.labels.isEmpty()) {
            throw new IllegalArgumentException("labels are required");
        }
        this.encoder = new BertEncoder(builder.tokenizer, builder.maxLength);
        this.labels = List.copyOf(builder.labels);
        this.outputName = builder.outputName;
        this.applySoftmax = builder.applySoftmax;
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
        return BertEncoder.toInputs(ctx.getNDManager(), encoder.encode(input));
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException if the model has no such output, or its size is not the
     *     number of labels
     */
    @Override
    public Classifications processOutput(TranslatorContext ctx, NDList list) {
        NDArray scores = list.get(outputName);
        if (scores == null) {
            throw new IllegalStateException("the model has no output '" + outputName
                    + "'; it gives " + names(list));
        }
        float[] values = scores.toFloatArray();
        if (values.length != labels.size()) {
            throw new IllegalStateException("output '" + outputName + "' " + scores.getShape()
                    + " has " + values.length + " scores for " + labels.size() + " labels");
        }
        return new Classifications(labels, applySoftmax ? Softmax.probabilities(values) : toList(values));
    }

    private static List<Double> toList(float[] values) {
        List<Double> list = new ArrayList<>(values.length);
        for (float v : values) {
            list.add((double) v);
        }
        return list;
    }

    private static List<String> names(NDList list) {
        return list.stream().map(NDArray::getName).toList();
    }

    /** Builds {@link TextClassificationTranslator}s. */
    public static final class Builder {

        private HuggingFaceTokenizer tokenizer;
        private List<String> labels;
        private int maxLength = BertTokenizers.DEFAULT_MAX_LENGTH;
        private String outputName = DEFAULT_OUTPUT;
        private boolean applySoftmax = true;

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
         * Sets the class names, in the order of the model's scores.
         *
         * @param labels the names
         * @return this builder
         */
        public Builder setLabels(List<String> labels) {
            this.labels = labels;
            return this;
        }

        /**
         * Sets the longest encoding accepted; a longer one (from a tokenizer that does not
         * truncate) is an error.
         *
         * @param maxLength the number of tokens; 512 by default
         * @return this builder
         */
        public Builder optMaxLength(int maxLength) {
            this.maxLength = maxLength;
            return this;
        }

        /**
         * Sets the name of the output holding the scores.
         *
         * @param outputName the output; {@value #DEFAULT_OUTPUT} by default
         * @return this builder
         */
        public Builder optOutputName(String outputName) {
            this.outputName = outputName;
            return this;
        }

        /**
         * Sets whether the scores are logits to pass through a softmax.
         *
         * @param applySoftmax {@code false} if the model already outputs probabilities; {@code
         *     true} by default
         * @return this builder
         */
        public Builder optApplySoftmax(boolean applySoftmax) {
            this.applySoftmax = applySoftmax;
            return this;
        }

        /**
         * Builds the translator.
         *
         * @return the translator
         * @throws IllegalArgumentException if the tokenizer or labels are missing, or the
         *     maximum length is not positive
         */
        public TextClassificationTranslator build() {
            return new TextClassificationTranslator(this);
        }
    }
}
