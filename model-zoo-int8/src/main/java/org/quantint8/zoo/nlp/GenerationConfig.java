package org.quantint8.zoo.nlp;

/**
 * How {@link Gpt2LanguageModel} generates: greedy search, or top-k sampling with a temperature
 * and a seed; how many tokens at most; whether to reuse the key/value cache.
 *
 * <p>DJL's {@code SearchConfig} describes greedy, beam and contrastive search; it has no
 * temperature, no seed and no sampling, so sampling gets this small configuration instead.
 *
 * <pre>{@code
 * GenerationConfig greedy = GenerationConfig.builder().optMaxNewTokens(30).build();
 * GenerationConfig sampled = GenerationConfig.builder().optTopK(40).optTemperature(0.8f)
 *         .optSeed(42).build();
 * }</pre>
 */
public final class GenerationConfig {

    private final int maxNewTokens;
    private final int topK;
    private final float temperature;
    private final long seed;
    private final boolean keyValueCache;
    private final long endOfText;

    private GenerationConfig(Builder builder) {
        this.maxNewTokens = builder.maxNewTokens;
        this.topK = builder.topK;
        this.temperature = builder.temperature;
        this.seed = builder.seed;
        this.keyValueCache = builder.keyValueCache;
        this.endOfText = builder.endOfText;
    }

    /**
     * Returns a builder of greedy search for 20 new tokens with the cache.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the most tokens generated.
     *
     * @return the number of tokens
     */
    public int getMaxNewTokens() {
        return maxNewTokens;
    }

    /**
     * Returns the number of most likely tokens sampled from, 0 for greedy search.
     *
     * @return k, or 0
     */
    public int getTopK() {
        return topK;
    }

    /**
     * Returns the temperature dividing the logits before sampling.
     *
     * @return the temperature
     */
    public float getTemperature() {
        return temperature;
    }

    /**
     * Returns the seed of the sampling.
     *
     * @return the seed
     */
    public long getSeed() {
        return seed;
    }

    /**
     * Returns whether each step feeds only the new token and the cache, rather than the whole
     * sequence.
     *
     * @return {@code true} with the cache
     */
    public boolean isKeyValueCache() {
        return keyValueCache;
    }

    /**
     * Returns the token that ends generation, or -1 for none.
     *
     * @return the token id
     */
    public long getEndOfText() {
        return endOfText;
    }

    /** Builds {@link GenerationConfig}s. */
    public static final class Builder {

        private int maxNewTokens = 20;
        private int topK;
        private float temperature = 1f;
        private long seed;
        private boolean keyValueCache = true;
        private long endOfText = Gpt2Tokenizer.END_OF_TEXT;

        Builder() {}

        /**
         * Sets the most tokens generated.
         *
         * @param maxNewTokens the number of tokens; 20 by default
         * @return this builder
         * @throws IllegalArgumentException if it is not positive
         */
        public Builder optMaxNewTokens(int maxNewTokens) {
            if (maxNewTokens <= 0) {
                throw new IllegalArgumentException(
                        "maxNewTokens must be positive, got " + maxNewTokens);
            }
            this.maxNewTokens = maxNewTokens;
            return this;
        }

        /**
         * Samples each token among the {@code k} most likely ones instead of taking the most
         * likely; {@code k = 1} is greedy search.
         *
         * @param topK k
         * @return this builder
         * @throws IllegalArgumentException if it is not positive
         */
        public Builder optTopK(int topK) {
            if (topK <= 0) {
                throw new IllegalArgumentException("topK must be positive, got " + topK);
            }
            this.topK = topK;
            return this;
        }

        /**
         * Sets the temperature of top-k sampling: below 1 sharper, above 1 flatter.
         *
         * @param temperature the temperature; 1 by default
         * @return this builder
         * @throws IllegalArgumentException if it is not a positive finite number
         */
        public Builder optTemperature(float temperature) {
            if (!(temperature > 0) || Float.isInfinite(temperature)) {
                throw new IllegalArgumentException(
                        "temperature must be positive and finite, got " + temperature);
            }
            this.temperature = temperature;
            return this;
        }

        /**
         * Sets the seed of top-k sampling; the same seed gives the same tokens.
         *
         * @param seed the seed; 0 by default
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Sets whether to reuse the key/value cache (one token per step) or to run the whole
         * sequence at each step; the tokens are the same, the cache is much faster.
         *
         * @param keyValueCache {@code false} to recompute; {@code true} by default
         * @return this builder
         */
        public Builder optKeyValueCache(boolean keyValueCache) {
            this.keyValueCache = keyValueCache;
            return this;
        }

        /**
         * Sets the token that ends generation; it is not part of the result.
         *
         * @param endOfText the token, or -1 to always generate the maximum;
         *     {@value Gpt2Tokenizer#END_OF_TEXT} by default
         * @return this builder
         */
        public Builder optEndOfText(long endOfText) {
            this.endOfText = endOfText;
            return this;
        }

        /**
         * Builds the configuration.
         *
         * @return the configuration
         */
        public GenerationConfig build() {
            return new GenerationConfig(this);
        }
    }
}
