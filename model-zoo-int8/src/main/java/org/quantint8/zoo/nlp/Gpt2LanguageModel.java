package org.quantint8.zoo.nlp;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.modality.nlp.generate.CausalLMOutput;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.TranslateException;

import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A GPT-2 graph with its key/value cache as a causal language model: text generation (greedy
 * search or top-k sampling) and the perplexity of a text.
 *
 * <pre>{@code
 * try (ZooModel<NDList, NDList> model = criteria.loadModel();
 *         Gpt2LanguageModel lm = Gpt2LanguageModel.builder().setModel(model)
 *                 .setCacheShape(12, 12, 64).build()) {
 *     String text = lm.generate("The meaning of life is", GenerationConfig.builder().build());
 *     double perplexity = lm.perplexity("Four score and seven years ago");
 * }
 * }</pre>
 *
 * <p>Generation feeds the prompt with an empty cache ({@code [1, heads, 0, headDim]}), then one
 * token and the previous step's presents per step, until the maximum number of new tokens, the
 * end-of-text token or the context length. DJL's {@code TextGenerator} is not used: its model
 * inputs carry position ids and an attention mask that these graphs do not have, it starts
 * without a cache input, it has no sampling and its greedy search does not stop at the end of
 * text; its building block {@link CausalLMOutput} comes through {@link CausalLmTranslator}. Greedy
 * steps take the argmax of the last position's logits as {@code StepGeneration.greedyStepGen}
 * does, read in place rather than through an indexing operation of the engine.
 *
 * <p>Each call uses one predictor of the model and runs at batch 1; the object is thread-safe.
 */
public final class Gpt2LanguageModel implements AutoCloseable {

    /** Logit rows copied to the heap at a time when scoring, to bound memory at full size. */
    private static final int ROWS_PER_COPY = 64;

    private final Model model;
    private final Predictor<NDList, CausalLMOutput> predictor;
    private final int numLayers;
    private final int numHeads;
    private final int headDim;
    private final int contextLength;
    private final int stride;

    private Gpt2LanguageModel(Builder builder) {
        if (builder.model == null || builder.numLayers <= 0) {
            throw new IllegalArgumentException("the model and its cache shape are required");
        }
        int stride = builder.stride == 0 ? Math.max(1, builder.contextLength / 2) : builder.stride;
        if (stride <= 0 || stride >= builder.contextLength) {
            throw new IllegalArgumentException("stride must be between 1 and the context length "
                    + builder.contextLength + " minus 1, got " + stride);
        }
        this.model = builder.model;
        this.numLayers = builder.numLayers;
        this.numHeads = builder.numHeads;
        this.headDim = builder.headDim;
        this.contextLength = builder.contextLength;
        this.stride = stride;
        this.predictor = model.newPredictor(new CausalLmTranslator());
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
     * Continues a text, tokenized with {@link Gpt2Tokenizer}.
     *
     * @param prompt the text
     * @param config how to generate
     * @return the generated text, without the prompt
     * @throws TranslateException if the model fails
     * @throws IllegalArgumentException if the prompt is empty or longer than the context
     */
    public String generate(String prompt, GenerationConfig config) throws TranslateException {
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.getInstance();
        return tokenizer.decode(generate(tokenizer.encode(prompt), config));
    }

    /**
     * Continues a sequence of tokens.
     *
     * @param prompt the token ids
     * @param config how to generate
     * @return the new tokens, without the end-of-text token; fewer than the maximum if that
     *     token came or the context length was reached
     * @throws TranslateException if the model fails
     * @throws IllegalArgumentException if the prompt is empty or longer than the context
     */
    public long[] generate(long[] prompt, GenerationConfig config) throws TranslateException {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (prompt.length > contextLength) {
            throw new IllegalArgumentException("the prompt has " + prompt.length
                    + " tokens, more than the context length " + contextLength);
        }
        TopKSampler sampler = config.getTopK() == 0 ? null
                : new TopKSampler(config.getTopK(), config.getTemperature(), config.getSeed());
        long[] sequence = Arrays.copyOf(prompt, prompt.length + config.getMaxNewTokens());
        int length = prompt.length;
        // Each step's arrays live in a manager of their own until the next step has read its
        // key/value cache: moving the cache to a longer-lived manager would copy it every step.
        // The step managers are the model manager's children, whose engine may keep a closed
        // one's memory for the next (QuantInt8 does), across generations too.
        NDManager previous = null;
        NDManager current = null;
        try {
            NDList past = null;
            while (length - prompt.length < config.getMaxNewTokens() && length < contextLength) {
                long[] feed = past == null ? Arrays.copyOf(sequence, length)
                        : new long[] {sequence[length - 1]};
                current = model.getNDManager().newSubManager();
                CausalLMOutput output = forward(current, feed, past);
                long next = sampler == null ? greedy(output.getLogits())
                        : sampler.next(lastRow(output.getLogits()));
                close(previous);
                previous = current;
                current = null;
                past = config.isKeyValueCache() ? output.getPastKeyValuesList() : null;
                if (next == config.getEndOfText()) {
                    break;
                }
                sequence[length++] = next;
            }
        } finally {
            close(previous);
            close(current);
        }
        return Arrays.copyOfRange(sequence, prompt.length, length);
    }

    private static void close(NDManager manager) {
        if (manager != null) {
            manager.close();
        }
    }

    /**
     * Returns the perplexity of a text tokenized with {@link Gpt2Tokenizer}.
     *
     * @param text the text
     * @return the perplexity
     * @throws TranslateException if the model fails
     * @throws IllegalArgumentException if the text has fewer than 2 tokens
     */
    public double perplexity(String text) throws TranslateException {
        return perplexity(Gpt2Tokenizer.getInstance().encode(text));
    }

    /**
     * Returns the perplexity of a sequence of tokens: the exponential of the mean negative
     * log-likelihood of each token after the first given the ones before it, computed in double.
     * A sequence longer than the context is scored in windows of the context length whose ends
     * are {@code stride} tokens apart; each window scores the tokens after the previous window's
     * end, so each token is scored once, with at least {@code contextLength - stride} tokens of
     * context (or all before it).
     *
     * @param tokens the token ids
     * @return the perplexity
     * @throws TranslateException if the model fails
     * @throws IllegalArgumentException if there are fewer than 2 tokens
     */
    public double perplexity(long[] tokens) throws TranslateException {
        if (tokens.length < 2) {
            throw new IllegalArgumentException("perplexity needs at least 2 tokens, got "
                    + tokens.length);
        }
        int end = Math.min(contextLength, tokens.length);
        double negativeLogLikelihood = window(tokens, 0, 1, end);
        while (end < tokens.length) {
            int next = Math.min(end + stride, tokens.length);
            negativeLogLikelihood += window(tokens, Math.max(0, next - contextLength), end, next);
            end = next;
        }
        return Math.exp(negativeLogLikelihood / (tokens.length - 1));
    }

    /** Runs tokens [begin, to) and returns the negative log-likelihood of those in [from, to). */
    private double window(long[] tokens, int begin, int from, int to) throws TranslateException {
        try (NDManager step = model.getNDManager().newSubManager()) {
            NDArray logits = forward(step, Arrays.copyOfRange(tokens, begin, to), null)
                    .getLogits();
            return score(logits, tokens, begin, from, to);
        }
    }

    /** Sums -log p(token t | tokens before) for t in [from, to), the window starting at begin. */
    private static double score(NDArray logits, long[] tokens, int begin, int from, int to) {
        double sum = 0;
        for (int row = from - 1 - begin; row < to - 1 - begin; row += ROWS_PER_COPY) {
            int rows = Math.min(ROWS_PER_COPY, to - 1 - begin - row);
            float[] values = logits.get(new NDIndex("0, {}:{}, :", row, row + rows))
                    .toFloatArray();
            int vocab = values.length / rows;
            for (int r = 0; r < rows; r++) {
                int target = (int) tokens[begin + row + r + 1];
                sum += Softmax.logSumExp(values, r * vocab, vocab) - values[r * vocab + target];
            }
        }
        return sum;
    }

    /** Runs one step; without a past, with an empty cache. The outputs live in {@code step}. */
    private CausalLMOutput forward(NDManager step, long[] feed, NDList past)
            throws TranslateException {
        NDList inputs = new NDList(1 + 2 * numLayers);
        inputs.add(step.create(feed, new Shape(1, feed.length)));
        if (past == null) {
            for (int i = 0; i < 2 * numLayers; i++) {
                inputs.add(step.create(new float[0], new Shape(1, numHeads, 0, headDim)));
            }
        } else {
            inputs.addAll(past);
        }
        return predictor.predict(inputs);
    }

    /** The most likely next token, the lower id on ties (as {@code argmax} picks). */
    private static long greedy(NDArray logits) {
        return TopKSampler.topIndices(lastRow(logits), 1)[0];
    }

    /**
     * The last position's logits, read from the array's memory where the engine allows: an
     * indexing operation would hand the whole array to another engine on every step.
     *
     * @throws IllegalStateException if the logits are not FP32 {@code [1, sequence, vocab]} or
     *     hold NaN
     */
    private static float[] lastRow(NDArray logits) {
        Shape shape = logits.getShape();
        if (logits.getDataType() != DataType.FLOAT32 || shape.dimension() != 3
                || shape.get(0) != 1 || shape.get(1) == 0) {
            throw new IllegalStateException("expected FLOAT32 logits [1, sequence, vocab], got "
                    + logits.getDataType() + " " + shape);
        }
        int vocab = Math.toIntExact(shape.get(2));
        float[] row = new float[vocab];
        logits.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer()
                .get(Math.toIntExact((shape.get(1) - 1) * vocab), row);
        for (int token = 0; token < vocab; token++) {
            if (Float.isNaN(row[token])) {
                throw new IllegalStateException("the model's next-token logits hold NaN (token "
                        + token + " of " + vocab + " at position " + (shape.get(1) - 1) + ")");
            }
        }
        return row;
    }

    /** Closes the predictor; the model stays open. */
    @Override
    public void close() {
        predictor.close();
    }

    /** Builds {@link Gpt2LanguageModel}s. */
    public static final class Builder {

        private Model model;
        private int numLayers;
        private int numHeads;
        private int headDim;
        private int contextLength = 1024;
        private int stride;

        Builder() {}

        /**
         * Sets the loaded GPT-2 model (any engine; inputs and outputs as {@link
         * org.quantint8.zoo.architectures.Gpt2} names them). It is not closed by {@link
         * #close()}.
         *
         * @param model the model
         * @return this builder
         */
        public Builder setModel(Model model) {
            this.model = model;
            return this;
        }

        /**
         * Sets the shape of the key/value cache, as the model was built.
         *
         * @param numLayers the number of layers
         * @param numHeads the number of attention heads
         * @param headDim the hidden size over the number of heads
         * @return this builder
         * @throws IllegalArgumentException if a size is not positive
         */
        public Builder setCacheShape(int numLayers, int numHeads, int headDim) {
            if (numLayers <= 0 || numHeads <= 0 || headDim <= 0) {
                throw new IllegalArgumentException("cache sizes must be positive, got "
                        + numLayers + " layers, " + numHeads + " heads, head size " + headDim);
            }
            this.numLayers = numLayers;
            this.numHeads = numHeads;
            this.headDim = headDim;
            return this;
        }

        /**
         * Sets the context length, the number of position embeddings.
         *
         * @param contextLength the number of positions; 1024 by default
         * @return this builder
         */
        public Builder optContextLength(int contextLength) {
            if (contextLength < 2) {
                throw new IllegalArgumentException(
                        "contextLength must be at least 2, got " + contextLength);
            }
            this.contextLength = contextLength;
            return this;
        }

        /**
         * Sets how far apart perplexity windows end over texts longer than the context: smaller
         * gives each token more context and costs more forward passes.
         *
         * @param stride the number of tokens, below the context length; half the context length
         *     by default
         * @return this builder
         * @throws IllegalArgumentException if it is not positive
         */
        public Builder optStride(int stride) {
            if (stride <= 0) {
                throw new IllegalArgumentException("stride must be positive, got " + stride);
            }
            this.stride = stride;
            return this;
        }

        /**
         * Builds the language model, with a predictor of the model.
         *
         * @return the language model
         * @throws IllegalArgumentException if the model or cache shape is missing, or the stride
         *     is not between 1 and the context length
         */
        public Gpt2LanguageModel build() {
            return new Gpt2LanguageModel(this);
        }
    }
}
