package org.quantint8.zoo.architectures;

import org.quantint8.onnx.OnnxAttribute;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The transformer building blocks BERT and GPT-2 share, emitted the way PyTorch exports them:
 * linear layers as {@code MatMul} with an {@code [in, out]} weight plus {@code Add}, layer
 * normalization, the two GELU forms, multi-head attention and a language-model head tied to the
 * token embedding.
 */
final class TransformerLayers {

    /** The most negative float: what Hugging Face's GPT-2 writes into masked attention scores. */
    static final float MASKED_SCORE = -Float.MAX_VALUE;

    private final GraphEmitter emitter;

    TransformerLayers(GraphEmitter emitter) {
        this.emitter = emitter;
    }

    /**
     * Emits {@code x @ weight + bias}; the weight is {@code [in, out]}.
     *
     * @param x the input, last dimension {@code in}
     * @param weightName the weight's parameter name
     * @param biasName the bias's parameter name
     * @param in the input features
     * @param out the output features
     * @param weightInit the weight's random initialization (biases start at zero)
     * @return the output value
     */
    String linear(
            String x, String weightName, String biasName, long in, long out, WeightInit weightInit) {
        String weight = emitter.parameter(weightName, weightInit, in, out);
        String bias = emitter.parameter(biasName, WeightInit.zeros(), out);
        String product = emitter.node("MatMul", List.of(x, weight));
        return emitter.node("Add", List.of(bias, product));
    }

    /**
     * Emits layer normalization over the last dimension.
     *
     * @param x the input
     * @param scaleName the scale's (gamma's) parameter name
     * @param biasName the bias's (beta's) parameter name
     * @param size the normalized dimension
     * @param epsilon the variance epsilon
     * @return the output value
     */
    String layerNorm(String x, String scaleName, String biasName, long size, float epsilon) {
        String scale = emitter.parameter(scaleName, WeightInit.ones(), size);
        String bias = emitter.parameter(biasName, WeightInit.zeros(), size);
        return emitter.node(
                "LayerNormalization",
                List.of(x, scale, bias),
                OnnxAttribute.ofInt("axis", -1),
                OnnxAttribute.ofFloat("epsilon", epsilon));
    }

    /**
     * Emits the exact GELU, {@code 0.5 x (1 + erf(x / sqrt 2))}, as BERT uses it.
     *
     * @param x the input
     * @return the output value
     */
    String geluErf(String x) {
        String scaled = emitter.node("Div", List.of(x, emitter.constant((float) Math.sqrt(2))));
        String erf = emitter.node("Erf", List.of(scaled));
        return halfXTimesOnePlus(x, erf);
    }

    /**
     * Emits the tanh approximation of GELU ({@code gelu_new} in GPT-2):
     * {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}.
     *
     * @param x the input
     * @return the output value
     */
    String geluTanh(String x) {
        String cube = emitter.node("Pow", List.of(x, emitter.constant(3f)));
        String term = emitter.node("Mul", List.of(emitter.constant(0.044715f), cube));
        String inner = emitter.node("Add", List.of(x, term));
        String scaled =
                emitter.node(
                        "Mul", List.of(emitter.constant((float) Math.sqrt(2 / Math.PI)), inner));
        String tanh = emitter.node("Tanh", List.of(scaled));
        return halfXTimesOnePlus(x, tanh);
    }

    /**
     * Splits {@code [batch, seq, heads * headDim]} into {@code [batch, heads, seq, headDim]}.
     *
     * @param x the input
     * @param heads the number of heads
     * @param headDim the size of one head
     * @return the output value
     */
    String splitHeads(String x, long heads, long headDim) {
        String reshaped = emitter.node("Reshape", List.of(x, emitter.ints(0, 0, heads, headDim)));
        return emitter.node(
                "Transpose", List.of(reshaped), OnnxAttribute.ofInts("perm", 0, 2, 1, 3));
    }

    /**
     * Emits scaled dot-product attention over split heads and merges the heads again.
     *
     * @param query {@code [batch, heads, seq, headDim]}
     * @param key {@code [batch, heads, keySeq, headDim]}
     * @param value {@code [batch, heads, keySeq, headDim]}
     * @param headDim the size of one head
     * @param mask applied to the scaled scores {@code [batch, heads, seq, keySeq]}
     * @return the context {@code [batch, seq, heads * headDim]}
     */
    String attention(
            String query, String key, String value, long headDim, UnaryOperator<String> mask) {
        String keyT =
                emitter.node("Transpose", List.of(key), OnnxAttribute.ofInts("perm", 0, 1, 3, 2));
        String scores = emitter.node("MatMul", List.of(query, keyT));
        String scaled =
                emitter.node("Div", List.of(scores, emitter.constant((float) Math.sqrt(headDim))));
        String probabilities =
                emitter.node("Softmax", List.of(mask.apply(scaled)), OnnxAttribute.ofInt("axis", -1));
        String context = emitter.node("MatMul", List.of(probabilities, value));
        String merged =
                emitter.node(
                        "Transpose", List.of(context), OnnxAttribute.ofInts("perm", 0, 2, 1, 3));
        return emitter.node("Reshape", List.of(merged, emitter.ints(0, 0, -1)));
    }

    /**
     * Emits the output projection onto the vocabulary, reusing the token embedding
     * {@code [vocab, hidden]} as the weight (tied embeddings).
     *
     * @param x {@code [batch, seq, hidden]}
     * @param embedding the token embedding's value name
     * @return the logits {@code [batch, seq, vocab]}
     */
    String tiedProjection(String x, String embedding) {
        String transposed =
                emitter.node("Transpose", List.of(embedding), OnnxAttribute.ofInts("perm", 1, 0));
        return emitter.node("MatMul", List.of(x, transposed));
    }

    private String halfXTimesOnePlus(String x, String y) {
        String onePlus = emitter.node("Add", List.of(y, emitter.constant(1f)));
        String product = emitter.node("Mul", List.of(x, onePlus));
        return emitter.node("Mul", List.of(product, emitter.constant(0.5f)));
    }
}
