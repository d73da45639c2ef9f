package org.quantint8.zoo.architectures;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxModel;

import java.util.List;

/**
 * BERT (Devlin et al., 2018) as an ONNX graph shaped like a Hugging Face export of {@code
 * BertModel} / {@code BertForMaskedLM}, post-LayerNorm encoder layers with exact (erf) GELU.
 *
 * <pre>{@code
 * OnnxModel bert = Bert.builder().optMaskedLmHead(true).build();   // BERT-base, random weights
 * }</pre>
 *
 * <p>Inputs: {@value #INPUT_IDS}, {@value #ATTENTION_MASK} and {@value #TOKEN_TYPE_IDS}, int64
 * {@code [batch, sequence]}. Outputs: {@value #LAST_HIDDEN_STATE} {@code [batch, sequence,
 * hidden]}; {@value #POOLER_OUTPUT} {@code [batch, hidden]} with the pooler; {@value #LOGITS}
 * {@code [batch, sequence, vocab]} with the masked-LM head, whose decoder is tied to the word
 * embeddings.
 *
 * <p>Parameter names are those of Google's original TensorFlow checkpoint without its scope
 * prefix, kernels {@code [in, out]}: {@code bert/embeddings/word_embeddings}, {@code
 * bert/embeddings/position_embeddings}, {@code bert/embeddings/token_type_embeddings}, {@code
 * bert/embeddings/LayerNorm/gamma|beta}; per layer {@code i}, under {@code
 * bert/encoder/layer_i/}: {@code attention/self/query|key|value/kernel|bias}, {@code
 * attention/output/dense/kernel|bias}, {@code attention/output/LayerNorm/gamma|beta}, {@code
 * intermediate/dense/kernel|bias}, {@code output/dense/kernel|bias}, {@code
 * output/LayerNorm/gamma|beta}; {@code bert/pooler/dense/kernel|bias}; and for the head {@code
 * cls/predictions/transform/dense/kernel|bias}, {@code cls/predictions/transform/LayerNorm/gamma|beta},
 * {@code cls/predictions/output_bias}. BERT-base with pooler and head has 110,104,890 parameters.
 */
public final class Bert {

    /** The token ids input. */
    public static final String INPUT_IDS = "input_ids";
    /** The attention mask input: 1 for tokens to attend to, 0 for padding. */
    public static final String ATTENTION_MASK = "attention_mask";
    /** The segment ids input. */
    public static final String TOKEN_TYPE_IDS = "token_type_ids";
    /** The encoder output. */
    public static final String LAST_HIDDEN_STATE = "last_hidden_state";
    /** The pooler output: tanh of a dense layer over the first token. */
    public static final String POOLER_OUTPUT = "pooler_output";
    /** The masked-LM head's output. */
    public static final String LOGITS = "logits";

    private static final String BATCH = "batch";
    private static final String SEQUENCE = "sequence";

    private Bert() {}

    /**
     * Returns a builder, configured for BERT-base (uncased vocabulary) without the masked-LM head.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds BERT graphs; every size defaults to BERT-base's. */
    public static final class Builder extends ArchitectureBuilder<Builder> {

        private int numLayers = 12;
        private int hiddenSize = 768;
        private int numHeads = 12;
        private int intermediateSize = 3072;
        private int vocabSize = 30522;
        private int maxPositions = 512;
        private int typeVocabSize = 2;
        private float layerNormEpsilon = 1e-12f;
        private boolean pooler = true;
        private boolean maskedLmHead;

        Builder() {}

        /**
         * Sets the number of encoder layers.
         *
         * @param numLayers the number of layers; 12 by default
         * @return this builder
         */
        public Builder optNumLayers(int numLayers) {
            this.numLayers = positive("numLayers", numLayers);
            return this;
        }

        /**
         * Sets the hidden size; it must be a multiple of the number of heads.
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
         * Sets the size of the feed-forward layer.
         *
         * @param intermediateSize the size; 3072 by default
         * @return this builder
         */
        public Builder optIntermediateSize(int intermediateSize) {
            this.intermediateSize = positive("intermediateSize", intermediateSize);
            return this;
        }

        /**
         * Sets the vocabulary size.
         *
         * @param vocabSize the number of tokens; 30522 (bert-base-uncased) by default
         * @return this builder
         */
        public Builder optVocabSize(int vocabSize) {
            this.vocabSize = positive("vocabSize", vocabSize);
            return this;
        }

        /**
         * Sets the number of position embeddings, the longest sequence.
         *
         * @param maxPositions the number of positions; 512 by default
         * @return this builder
         */
        public Builder optMaxPositions(int maxPositions) {
            this.maxPositions = positive("maxPositions", maxPositions);
            return this;
        }

        /**
         * Sets the number of segment types.
         *
         * @param typeVocabSize the number of types; 2 by default
         * @return this builder
         */
        public Builder optTypeVocabSize(int typeVocabSize) {
            this.typeVocabSize = positive("typeVocabSize", typeVocabSize);
            return this;
        }

        /**
         * Sets the layer normalization epsilon.
         *
         * @param layerNormEpsilon the epsilon; 1e-12 by default
         * @return this builder
         */
        public Builder optLayerNormEpsilon(float layerNormEpsilon) {
            this.layerNormEpsilon = layerNormEpsilon;
            return this;
        }

        /**
         * Sets whether the pooler (dense + tanh over the first token) and its output exist.
         *
         * @param pooler {@code true} by default
         * @return this builder
         */
        public Builder optPooler(boolean pooler) {
            this.pooler = pooler;
            return this;
        }

        /**
         * Sets whether the masked-LM head and its {@value #LOGITS} output exist.
         *
         * @param maskedLmHead {@code false} by default
         * @return this builder
         */
        public Builder optMaskedLmHead(boolean maskedLmHead) {
            this.maskedLmHead = maskedLmHead;
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public OnnxModel build() {
            if (hiddenSize % numHeads != 0) {
                throw new IllegalArgumentException(
                        "hiddenSize " + hiddenSize + " is not a multiple of numHeads " + numHeads);
            }
            GraphEmitter emitter = newEmitter("bert");
            new BertGraph(this, emitter).emit();
            return emitter.build(
                    String.format(
                            "BERT: %d layers, hidden %d, %d heads, FFN %d, vocab %d%s",
                            numLayers,
                            hiddenSize,
                            numHeads,
                            intermediateSize,
                            vocabSize,
                            maskedLmHead ? ", masked-LM head" : ""));
        }

        /** {@inheritDoc} */
        @Override
        protected Builder self() {
            return this;
        }
    }

    /** Emits one BERT graph from a builder's configuration. */
    private static final class BertGraph {

        private static final WeightInit INIT = WeightInit.normal(0.02);

        private final Builder config;
        private final GraphEmitter emitter;
        private final TransformerLayers layers;

        BertGraph(Builder config, GraphEmitter emitter) {
            this.config = config;
            this.emitter = emitter;
            this.layers = new TransformerLayers(emitter);
        }

        void emit() {
            for (String input : List.of(INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS)) {
                emitter.input(input, OnnxDataType.INT64, BATCH, SEQUENCE);
            }
            String x = embeddings();
            String mask = additiveMask();
            for (int i = 0; i < config.numLayers; i++) {
                x = encoderLayer(x, mask, i);
            }
            emitter.setScope("");
            emitter.nodeTo("Identity", LAST_HIDDEN_STATE, List.of(x));
            emitter.output(LAST_HIDDEN_STATE, OnnxDataType.FLOAT, BATCH, SEQUENCE, hidden());
            if (config.pooler) {
                pooler(x);
            }
            if (config.maskedLmHead) {
                maskedLmHead(x);
            }
        }

        private String embeddings() {
            emitter.setScope("embeddings");
            String prefix = "bert/embeddings/";
            String words = gather(prefix + "word_embeddings", config.vocabSize, INPUT_IDS);
            String types = gather(prefix + "token_type_embeddings", config.typeVocabSize,
                    TOKEN_TYPE_IDS);
            String shape = emitter.node("Shape", List.of(INPUT_IDS));
            String length = emitter.node("Gather", List.of(shape, emitter.scalar(1)));
            String positionIds = emitter.node(
                    "Range", List.of(emitter.scalar(0), length, emitter.scalar(1)));
            String positions = gather(prefix + "position_embeddings", config.maxPositions,
                    positionIds);
            String sum = emitter.node("Add", List.of(words, types));
            sum = emitter.node("Add", List.of(sum, positions));
            return layerNorm(sum, prefix + "LayerNorm/");
        }

        private String gather(String table, long rows, String indices) {
            emitter.parameter(table, INIT, rows, config.hiddenSize);
            return emitter.node("Gather", List.of(table, indices));
        }

        /** {@code (1 - mask) * float_min}, {@code [batch, 1, 1, sequence]}. */
        private String additiveMask() {
            emitter.setScope("extended_attention_mask");
            String mask = emitter.node("Cast", List.of(ATTENTION_MASK),
                    OnnxAttribute.ofInt("to", OnnxDataType.FLOAT.getCode()));
            String expanded = emitter.node("Unsqueeze", List.of(mask, emitter.ints(1, 2)));
            String inverted = emitter.node("Sub", List.of(emitter.constant(1f), expanded));
            return emitter.node("Mul",
                    List.of(inverted, emitter.constant(TransformerLayers.MASKED_SCORE)));
        }

        private String encoderLayer(String x, String mask, int index) {
            String prefix = "bert/encoder/layer_" + index + "/";
            emitter.setScope("encoder/layer." + index + "/attention");
            long headDim = config.hiddenSize / config.numHeads;
            String q = heads(dense(x, prefix + "attention/self/query/", hidden(), hidden()));
            String k = heads(dense(x, prefix + "attention/self/key/", hidden(), hidden()));
            String v = heads(dense(x, prefix + "attention/self/value/", hidden(), hidden()));
            String context = layers.attention(q, k, v, headDim,
                    scores -> emitter.node("Add", List.of(scores, mask)));
            String attended = dense(context, prefix + "attention/output/dense/", hidden(),
                    hidden());
            x = layerNorm(emitter.node("Add", List.of(attended, x)),
                    prefix + "attention/output/LayerNorm/");
            emitter.setScope("encoder/layer." + index + "/ffn");
            long ffn = config.intermediateSize;
            String inner = layers.geluErf(dense(x, prefix + "intermediate/dense/", hidden(), ffn));
            String out = dense(inner, prefix + "output/dense/", ffn, hidden());
            return layerNorm(emitter.node("Add", List.of(out, x)), prefix + "output/LayerNorm/");
        }

        private void pooler(String x) {
            emitter.setScope("pooler");
            String first = emitter.node("Gather", List.of(x, emitter.scalar(0)),
                    OnnxAttribute.ofInt("axis", 1));
            String dense = dense(first, "bert/pooler/dense/", hidden(), hidden());
            emitter.nodeTo("Tanh", POOLER_OUTPUT, List.of(dense));
            emitter.output(POOLER_OUTPUT, OnnxDataType.FLOAT, BATCH, hidden());
        }

        private void maskedLmHead(String x) {
            emitter.setScope("cls/predictions");
            String prefix = "cls/predictions/";
            String transformed = layers.geluErf(
                    dense(x, prefix + "transform/dense/", hidden(), hidden()));
            transformed = layerNorm(transformed, prefix + "transform/LayerNorm/");
            String scores = layers.tiedProjection(transformed, "bert/embeddings/word_embeddings");
            String bias = emitter.parameter(prefix + "output_bias", WeightInit.zeros(),
                    config.vocabSize);
            emitter.nodeTo("Add", LOGITS, List.of(scores, bias));
            emitter.output(LOGITS, OnnxDataType.FLOAT, BATCH, SEQUENCE, (long) config.vocabSize);
        }

        private String dense(String x, String prefix, long in, long out) {
            return layers.linear(x, prefix + "kernel", prefix + "bias", in, out, INIT);
        }

        private String heads(String x) {
            return layers.splitHeads(x, config.numHeads, config.hiddenSize / config.numHeads);
        }

        private String layerNorm(String x, String prefix) {
            return layers.layerNorm(x, prefix + "gamma", prefix + "beta", hidden(),
                    config.layerNormEpsilon);
        }

        private long hidden() {
            return config.hiddenSize;
        }
    }
}
