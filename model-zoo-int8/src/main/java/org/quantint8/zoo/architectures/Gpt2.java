package org.quantint8.zoo.architectures;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxModel;

import java.util.List;

/**
 * GPT-2 (Radford et al., 2019) as an ONNX graph shaped like a Hugging Face export of {@code
 * GPT2LMHeadModel} with its key/value cache: pre-LayerNorm blocks, causal self-attention, {@code
 * gelu_new} (the tanh approximation) and a language-model head tied to the token embedding.
 *
 * <pre>{@code
 * OnnxModel gpt2 = Gpt2.builder().build();   // GPT-2 small, 124,439,808 parameters
 * }</pre>
 *
 * <p>Inputs: {@value #INPUT_IDS} int64 {@code [batch, sequence]}, and per layer {@code i} the
 * cache {@code past_key_values.i.key} and {@code past_key_values.i.value}, float {@code [batch,
 * heads, past_sequence, head_dim]}, where {@code past_sequence} may be 0. Outputs: {@value
 * #LOGITS} {@code [batch, sequence, vocab]} and {@code present.i.key|value} {@code [batch, heads,
 * past_sequence + sequence, head_dim]}, the cache for the next step. Positions start at {@code
 * past_sequence}, and a token attends to the cache and to the new tokens up to itself.
 *
 * <p>Parameter names are those of the Hugging Face {@code gpt2} checkpoint, whose {@code Conv1D}
 * weights are already {@code [in, out]}: {@code wte.weight}, {@code wpe.weight}; per block {@code
 * i}: {@code h.i.ln_1.weight|bias}, {@code h.i.attn.c_attn.weight|bias}, {@code
 * h.i.attn.c_proj.weight|bias}, {@code h.i.ln_2.weight|bias}, {@code h.i.mlp.c_fc.weight|bias},
 * {@code h.i.mlp.c_proj.weight|bias}; {@code ln_f.weight|bias}.
 */
public final class Gpt2 {

    /** The token ids input. */
    public static final String INPUT_IDS = "input_ids";
    /** The next-token logits output. */
    public static final String LOGITS = "logits";

    private static final String BATCH = "batch";
    private static final String SEQUENCE = "sequence";

    private Gpt2() {}

    /**
     * Returns a builder, configured for GPT-2 small.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the name of a layer's cached keys or values given as input.
     *
     * @param layer the layer index
     * @param key {@code true} for keys, {@code false} for values
     * @return {@code past_key_values.<layer>.key} or {@code .value}
     */
    public static String pastName(int layer, boolean key) {
        return "past_key_values." + layer + (key ? ".key" : ".value");
    }

    /**
     * Returns the name of a layer's keys or values returned for the next step.
     *
     * @param layer the layer index
     * @param key {@code true} for keys, {@code false} for values
     * @return {@code present.<layer>.key} or {@code .value}
     */
    public static String presentName(int layer, boolean key) {
        return "present." + layer + (key ? ".key" : ".value");
    }

    /** Builds GPT-2 graphs; every size defaults to GPT-2 small's. */
    public static final class Builder extends ArchitectureBuilder<Builder> {

        private int numLayers = 12;
        private int hiddenSize = 768;
        private int numHeads = 12;
        private int vocabSize = 50257;
        private int contextLength = 1024;
        private float layerNormEpsilon = 1e-5f;

        Builder() {}

        /**
         * Sets the number of transformer blocks.
         *
         * @param numLayers the number of blocks; 12 by default
         * @return this builder
         */
        public Builder optNumLayers(int numLayers) {
            this.numLayers = positive("numLayers", numLayers);
            return this;
        }

        /**
         * Sets the hidden size; it must be a multiple of the number of heads. The feed-forward
         * layer is four times as wide.
         *
         * @param hiddenSize the hidden size; 768 by default
         * @return this builder
         */
        public Builder optHiddenSize(int hiddenSize) {
            this.hiddenSize = positive("hiddenSize", hiddenSize);
            return this;
        }

        /**
         * Sets the number of attention heads.
         *
         * @param numHeads the number of heads; 12 by default
         * @return this builder
         */
        public Builder optNumHeads(int numHeads) {
            this.numHeads = positive("numHeads", numHeads);
            return this;
        }

        /**
         * Sets the vocabulary size.
         *
         * @param vocabSize the number of tokens; 50257 by default
         * @return this builder
         */
        public Builder optVocabSize(int vocabSize) {
            this.vocabSize = positive("vocabSize", vocabSize);
            return this;
        }

        /**
         * Sets the context length, the number of position embeddings.
         *
         * @param contextLength the number of positions; 1024 by default
         * @return this builder
         */
        public Builder optContextLength(int contextLength) {
            this.contextLength = positive("contextLength", contextLength);
            return this;
        }

        /**
         * Sets the layer normalization epsilon.
         *
         * @param layerNormEpsilon the epsilon; 1e-5 by default
         * @return this builder
         */
        public Builder optLayerNormEpsilon(float layerNormEpsilon) {
            this.layerNormEpsilon = layerNormEpsilon;
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public OnnxModel build() {
            if (hiddenSize % numHeads != 0) {
                throw new IllegalArgumentException(
                        "hiddenSize " + hiddenSize + " is not a multiple of numHeads " + numHeads);
            }
            GraphEmitter emitter = newEmitter("gpt2");
            new Gpt2Graph(this, emitter).emit();
            return emitter.build(
                    String.format(
                            "GPT-2: %d layers, hidden %d, %d heads, vocab %d, context %d",
                            numLayers, hiddenSize, numHeads, vocabSize, contextLength));
        }

        /** {@inheritDoc} */
        @Override
        protected Builder self() {
            return this;
        }
    }

    /** Emits one GPT-2 graph from a builder's configuration. */
    private static final class Gpt2Graph {

        private static final WeightInit INIT = WeightInit.normal(0.02);

        private final Builder config;
        private final GraphEmitter emitter;
        private final TransformerLayers layers;
        private final long headDim;
        /** GPT-2 scales the residual projections by 1 / sqrt(2 * layers) at initialization. */
        private final WeightInit residualInit;

        Gpt2Graph(Builder config, GraphEmitter emitter) {
            this.config = config;
            this.emitter = emitter;
            this.layers = new TransformerLayers(emitter);
            this.headDim = config.hiddenSize / config.numHeads;
            this.residualInit = WeightInit.normal(0.02 / Math.sqrt(2.0 * config.numLayers));
        }

        void emit() {
            emitter.input(INPUT_IDS, OnnxDataType.INT64, BATCH, SEQUENCE);
            for (int i = 0; i < config.numLayers; i++) {
                for (boolean key : new boolean[] {true, false}) {
                    emitter.input(pastName(i, key), OnnxDataType.FLOAT, BATCH,
                            (long) config.numHeads, "past_sequence", headDim);
                }
            }
            emitter.output(LOGITS, OnnxDataType.FLOAT, BATCH, SEQUENCE, (long) config.vocabSize);
            for (int i = 0; i < config.numLayers; i++) {
                for (boolean key : new boolean[] {true, false}) {
                    emitter.output(presentName(i, key), OnnxDataType.FLOAT, BATCH,
                            (long) config.numHeads, "total_sequence", headDim);
                }
            }
            emitter.setScope("transformer");
            String past = emitter.node("Gather",
                    List.of(emitter.node("Shape", List.of(pastName(0, true))), emitter.scalar(2)));
            String length = emitter.node("Gather",
                    List.of(emitter.node("Shape", List.of(INPUT_IDS)), emitter.scalar(1)));
            String total = emitter.node("Add", List.of(past, length));
            String positions = emitter.node("Range", List.of(past, total, emitter.scalar(1)));
            String x = embeddings(positions);
            String allowed = causalMask(positions, total);
            for (int i = 0; i < config.numLayers; i++) {
                x = block(x, allowed, i);
            }
            emitter.setScope("transformer/ln_f");
            x = layerNorm(x, "ln_f.");
            emitter.setScope("lm_head");
            emitter.nodeTo("Identity", LOGITS, List.of(layers.tiedProjection(x, "wte.weight")));
        }

        private String embeddings(String positions) {
            String wte = emitter.parameter("wte.weight", INIT, config.vocabSize, hidden());
            String wpe = emitter.parameter("wpe.weight", WeightInit.normal(0.01),
                    config.contextLength, hidden());
            String tokens = emitter.node("Gather", List.of(wte, INPUT_IDS));
            return emitter.node("Add", List.of(tokens, emitter.node("Gather",
                    List.of(wpe, positions))));
        }

        /** {@code key_position <= query_position}, {@code [sequence, total_sequence]}. */
        private String causalMask(String positions, String total) {
            String rows = emitter.node("Unsqueeze", List.of(positions, emitter.ints(1)));
            String all = emitter.node("Range", List.of(emitter.scalar(0), total,
                    emitter.scalar(1)));
            String columns = emitter.node("Unsqueeze", List.of(all, emitter.ints(0)));
            return emitter.node("LessOrEqual", List.of(columns, rows));
        }

        private String block(String x, String allowed, int index) {
            String prefix = "h." + index + ".";
            emitter.setScope("transformer/h." + index + "/attn");
            String normed = layerNorm(x, prefix + "ln_1.");
            String qkv = layers.linear(normed, prefix + "attn.c_attn.weight",
                    prefix + "attn.c_attn.bias", hidden(), 3 * hidden(), INIT);
            List<String> parts = emitter.nodeWithOutputs("Split",
                    3, List.of(qkv, emitter.ints(hidden(), hidden(), hidden())),
                    OnnxAttribute.ofInt("axis", 2));
            String query = heads(parts.get(0));
            String key = cached(parts.get(1), index, true);
            String value = cached(parts.get(2), index, false);
            String context = layers.attention(query, key, value, headDim,
                    scores -> emitter.node("Where", List.of(allowed, scores,
                            emitter.constant(TransformerLayers.MASKED_SCORE))));
            String attended = layers.linear(context, prefix + "attn.c_proj.weight",
                    prefix + "attn.c_proj.bias", hidden(), hidden(), residualInit);
            x = emitter.node("Add", List.of(attended, x));
            emitter.setScope("transformer/h." + index + "/mlp");
            normed = layerNorm(x, prefix + "ln_2.");
            String inner = layers.geluTanh(layers.linear(normed, prefix + "mlp.c_fc.weight",
                    prefix + "mlp.c_fc.bias", hidden(), 4 * hidden(), INIT));
            String out = layers.linear(inner, prefix + "mlp.c_proj.weight",
                    prefix + "mlp.c_proj.bias", 4 * hidden(), hidden(), residualInit);
            return emitter.node("Add", List.of(x, out));
        }

        /** Appends the new keys or values to the layer's cache; the result is also an output. */
        private String cached(String projected, int layer, boolean key) {
            return emitter.nodeTo("Concat", presentName(layer, key),
                    List.of(pastName(layer, key), heads(projected)),
                    OnnxAttribute.ofInt("axis", 2));
        }

        private String heads(String x) {
            return layers.splitHeads(x, config.numHeads, headDim);
        }

        private String layerNorm(String x, String prefix) {
            return layers.layerNorm(x, prefix + "weight", prefix + "bias", hidden(),
                    config.layerNormEpsilon);
        }

        private long hidden() {
            return config.hiddenSize;
        }
    }
}
