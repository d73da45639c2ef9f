package org.quantint8.it.accuracy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

import org.quantint8.zoo.architectures.Gpt2;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The graph {@link Gpt2}'s builder emits, written as one DJL block so that DJL's PyTorch engine
 * can train it: learned token and position embeddings, pre-LayerNorm blocks of causal
 * self-attention and a {@code gelu_new} (tanh) feed-forward layer, a final LayerNorm and the
 * head tied to the token embedding. Each step is the same operation, in the same order, as the
 * ONNX node it mirrors, and every parameter carries the builder's (Hugging Face's) name and
 * layout, so {@link #onnxWeights()} hands them over as they are. Initialization is GPT-2's:
 * normal(0.02), residual projections scaled by {@code 1 / sqrt(2 * layers)}.
 *
 * <p>Input: token ids {@code [batch, sequence]} (int64), sequence at most the context length;
 * output: logits {@code [batch, sequence, vocab]}. No key/value cache: training and the export
 * check see whole windows.
 */
final class Gpt2TrainingNetwork extends AbstractBlock {

    /** The ONNX graph's masked score (its {@code Where} constant). */
    private static final float MASKED_SCORE = -Float.MAX_VALUE;
    private static final float LAYER_NORM_EPSILON = 1e-5f;

    private final int numLayers;
    private final int hidden;
    private final int numHeads;
    private final Map<String, Parameter> named = new LinkedHashMap<>();

    /**
     * Declares the parameters of a GPT-2 of the given size.
     *
     * @param numLayers the number of blocks
     * @param hidden the hidden size, a multiple of {@code numHeads}
     * @param numHeads the number of attention heads
     * @param vocab the vocabulary size
     * @param context the number of positions
     */
    Gpt2TrainingNetwork(int numLayers, int hidden, int numHeads, int vocab, int context) {
        if (hidden % numHeads != 0) {
            throw new IllegalArgumentException("hidden size " + hidden
                    + " is not a multiple of the " + numHeads + " heads");
        }
        this.numLayers = numLayers;
        this.hidden = hidden;
        this.numHeads = numHeads;
        Initializer normal = new NormalInitializer(0.02f);
        Initializer residual = new NormalInitializer((float) (0.02 / Math.sqrt(2.0 * numLayers)));
        declare("wte.weight", normal, vocab, hidden);
        declare("wpe.weight", new NormalInitializer(0.01f), context, hidden);
        for (int i = 0; i < numLayers; i++) {
            String p = "h." + i + ".";
            declareLayerNorm(p + "ln_1.");
            declareLinear(p + "attn.c_attn.", normal, hidden, 3 * hidden);
            declareLinear(p + "attn.c_proj.", residual, hidden, hidden);
            declareLayerNorm(p + "ln_2.");
            declareLinear(p + "mlp.c_fc.", normal, hidden, 4 * hidden);
            declareLinear(p + "mlp.c_proj.", residual, 4 * hidden, hidden);
        }
        declareLayerNorm("ln_f.");
    }

    /**
     * Returns the parameters under the ONNX builder's names, row-major.
     *
     * @return the values by name
     */
    Map<String, float[]> onnxWeights() {
        Map<String, float[]> weights = new LinkedHashMap<>();
        named.forEach((name, parameter) ->
                weights.put(name, parameter.getArray().toFloatArray()));
        return weights;
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray ids = inputs.singletonOrThrow();
        long length = ids.getShape().get(1);
        NDManager manager = ids.getManager();
        NDArray positions = manager.arange(0, length, 1, DataType.INT64);
        NDArray x = Embedding.embedding(ids, value(store, ids, "wte.weight"), SparseFormat.DENSE)
                .singletonOrThrow().add(Embedding.embedding(positions,
                        value(store, ids, "wpe.weight"), SparseFormat.DENSE).singletonOrThrow());
        // key_position <= query_position, [sequence, sequence], as the graph's LessOrEqual.
        NDArray allowed = positions.reshape(1, length).lte(positions.reshape(length, 1));
        for (int i = 0; i < numLayers; i++) {
            x = block(store, x, allowed, "h." + i + ".");
        }
        x = layerNorm(store, x, "ln_f.");
        return new NDList(x.matMul(value(store, x, "wte.weight").transpose()));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape ids = inputShapes[0];
        return new Shape[] {new Shape(ids.get(0), ids.get(1),
                named.get("wte.weight").getShape().get(0))};
    }

    private NDArray block(ParameterStore store, NDArray x, NDArray allowed, String p) {
        NDArray qkv = linear(store, layerNorm(store, x, p + "ln_1."), p + "attn.c_attn.");
        NDList parts = qkv.split(3, 2);
        long headDim = hidden / numHeads;
        NDArray scores = heads(parts.get(0)).matMul(heads(parts.get(1)).transpose(0, 1, 3, 2))
                .div((float) Math.sqrt(headDim));
        // DJL's where does not broadcast: the mask and the constant take the scores' shape.
        NDArray masked = NDArrays.where(allowed.broadcast(scores.getShape()), scores,
                x.getManager().full(scores.getShape(), MASKED_SCORE));
        NDArray context = masked.softmax(-1).matMul(heads(parts.get(2)))
                .transpose(0, 2, 1, 3).reshape(x.getShape());
        x = linear(store, context, p + "attn.c_proj.").add(x);
        NDArray inner = geluTanh(linear(store, layerNorm(store, x, p + "ln_2."), p + "mlp.c_fc."));
        return x.add(linear(store, inner, p + "mlp.c_proj."));
    }

    /** {@code [batch, seq, hidden]} to {@code [batch, heads, seq, headDim]}. */
    private NDArray heads(NDArray x) {
        Shape shape = x.getShape();
        return x.reshape(shape.get(0), shape.get(1), numHeads, hidden / numHeads)
                .transpose(0, 2, 1, 3);
    }

    /** {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}, the graph's node order. */
    private static NDArray geluTanh(NDArray x) {
        NDArray inner = x.add(x.pow(3).mul(0.044715f)).mul((float) Math.sqrt(2 / Math.PI));
        return x.mul(inner.tanh().add(1f)).mul(0.5f);
    }

    private NDArray linear(ParameterStore store, NDArray x, String prefix) {
        return x.matMul(value(store, x, prefix + "weight")).add(value(store, x, prefix + "bias"));
    }

    private NDArray layerNorm(ParameterStore store, NDArray x, String prefix) {
        return LayerNorm.layerNorm(x, new Shape(hidden), value(store, x, prefix + "weight"),
                value(store, x, prefix + "bias"), LAYER_NORM_EPSILON).singletonOrThrow();
    }

    private NDArray value(ParameterStore store, NDArray like, String name) {
        return store.getValue(named.get(name), like.getDevice(), true);
    }

    private void declareLinear(String prefix, Initializer init, int in, int out) {
        declare(prefix + "weight", init, in, out);
        declare(prefix + "bias", Initializer.ZEROS, out);
    }

    private void declareLayerNorm(String prefix) {
        declare(prefix + "weight", Initializer.ONES, hidden);
        declare(prefix + "bias", Initializer.ZEROS, hidden);
    }

    private void declare(String name, Initializer init, long... shape) {
        named.put(name, addParameter(Parameter.builder().setName(name)
                .setType(Parameter.Type.WEIGHT).optShape(new Shape(shape))
                .optInitializer(init).build()));
    }
}
