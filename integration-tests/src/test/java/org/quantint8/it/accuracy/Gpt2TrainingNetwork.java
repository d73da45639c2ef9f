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
import java.util.Locale;
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
    /** Set during {@link #firstNonFinite}: what the checked forward pass has found so far. */
    private Probe probe;

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

    /**
     * Describes the parameters that hold a NaN or an infinity.
     *
     * @return one line per such parameter (name, count, size), empty if all are finite
     */
    String nonFiniteParameters() {
        StringBuilder found = new StringBuilder();
        named.forEach((name, parameter) -> describeNonFinite(name, parameter.getArray(), found));
        return found.toString();
    }

    /**
     * Describes the parameters whose gradient holds a NaN or an infinity.
     *
     * @return one line per such gradient (name, count, size), empty if all are finite
     */
    String nonFiniteGradients() {
        StringBuilder found = new StringBuilder();
        named.forEach((name, parameter) -> {
            try (NDArray gradient = parameter.getArray().getGradient()) {
                // One reduction per gradient; the elements are counted only when it is not
                // finite (a sum can also overflow, which the count then tells apart).
                try (NDArray sum = gradient.sum()) {
                    if (!Float.isFinite(sum.getFloat())) {
                        describeNonFinite(name, gradient, found);
                    }
                }
            }
        });
        return found.toString();
    }

    /**
     * Runs one forward pass that checks each step's result, for a diagnosis after a non-finite
     * loss: names the first step whose result holds a NaN or an infinity, with the largest
     * magnitude the step before it produced.
     *
     * @param store the parameters
     * @param ids the token ids the failing step saw
     * @return the first non-finite step, or null if this pass is finite throughout
     */
    String firstNonFinite(ParameterStore store, NDArray ids) {
        probe = new Probe();
        try {
            forwardInternal(store, new NDList(ids), false, null);
            return probe.found;
        } finally {
            probe = null;
        }
    }

    /** Returns {@code x}; during {@link #firstNonFinite}, checks it first. */
    private NDArray seen(String step, NDArray x) {
        if (probe != null && probe.found == null) {
            long bad = countNonFinite(x);
            if (bad > 0) {
                probe.found = String.format(Locale.ROOT, "'%s': %d of %d values non-finite"
                        + " (largest magnitude before it, at '%s': %g)", step, bad, x.size(),
                        probe.lastStep, probe.lastMax);
            } else {
                probe.lastStep = step;
                try (NDArray magnitude = x.abs(); NDArray max = magnitude.max()) {
                    probe.lastMax = max.getFloat();
                }
            }
        }
        return x;
    }

    /** Appends "name: n of size non-finite" to {@code found} if {@code values} hold any. */
    private static void describeNonFinite(String name, NDArray values, StringBuilder found) {
        long bad = countNonFinite(values);
        if (bad > 0) {
            found.append(String.format(Locale.ROOT, "%s%s: %d of %d non-finite",
                    found.length() == 0 ? "" : "; ", name, bad, values.size()));
        }
    }

    private static long countNonFinite(NDArray x) {
        try (NDArray nan = x.isNaN();
                NDArray infinite = x.isInfinite();
                NDArray either = nan.logicalOr(infinite);
                NDArray count = either.countNonzero()) {
            return count.getLong();
        }
    }

    /** What a checked forward pass has seen. */
    private static final class Probe {
        private String found;
        private String lastStep = "(the input)";
        private double lastMax = Double.NaN;
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray ids = inputs.singletonOrThrow();
        long length = ids.getShape().get(1);
        NDManager manager = ids.getManager();
        NDArray positions = manager.arange(0, length, 1, DataType.INT64);
        NDArray x = seen("embeddings", Embedding.embedding(ids, value(store, ids, "wte.weight"),
                SparseFormat.DENSE).singletonOrThrow().add(Embedding.embedding(positions,
                        value(store, ids, "wpe.weight"), SparseFormat.DENSE).singletonOrThrow()));
        // key_position <= query_position, [sequence, sequence], as the graph's LessOrEqual.
        NDArray allowed = positions.reshape(1, length).lte(positions.reshape(length, 1));
        Constants constants = new Constants(manager, hidden / numHeads);
        for (int i = 0; i < numLayers; i++) {
            x = block(store, x, allowed, constants, "h." + i + ".");
        }
        x = seen("ln_f", layerNorm(store, x, "ln_f."));
        return new NDList(seen("logits", x.matMul(value(store, x, "wte.weight").transpose())));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape ids = inputShapes[0];
        return new Shape[] {new Shape(ids.get(0), ids.get(1),
                named.get("wte.weight").getShape().get(0))};
    }

    private NDArray block(ParameterStore store, NDArray x, NDArray allowed, Constants c,
            String p) {
        NDArray qkv = seen(p + "attn.c_attn", linear(store,
                seen(p + "ln_1", layerNorm(store, x, p + "ln_1.")), p + "attn.c_attn."));
        NDList parts = qkv.split(3, 2);
        NDArray scores = seen(p + "attn.scores", heads(parts.get(0))
                .matMul(heads(parts.get(1)).transpose(0, 1, 3, 2)).div(c.sqrtHeadSize));
        // DJL's where does not broadcast: the mask and the constant take the scores' shape.
        NDArray masked = NDArrays.where(allowed.broadcast(scores.getShape()), scores,
                x.getManager().full(scores.getShape(), MASKED_SCORE));
        NDArray context = seen(p + "attn.context", seen(p + "attn.softmax", masked.softmax(-1))
                .matMul(heads(parts.get(2))).transpose(0, 2, 1, 3).reshape(x.getShape()));
        x = seen(p + "attn.c_proj", linear(store, context, p + "attn.c_proj.").add(x));
        NDArray fc = seen(p + "mlp.c_fc", linear(store, seen(p + "ln_2", layerNorm(store, x,
                p + "ln_2.")), p + "mlp.c_fc."));
        NDArray inner = seen(p + "mlp.gelu", geluTanh(fc, c));
        return seen(p + "mlp.c_proj", x.add(linear(store, inner, p + "mlp.c_proj.")));
    }

    /** {@code [batch, seq, hidden]} to {@code [batch, heads, seq, headDim]}. */
    private NDArray heads(NDArray x) {
        Shape shape = x.getShape();
        return x.reshape(shape.get(0), shape.get(1), numHeads, hidden / numHeads)
                .transpose(0, 2, 1, 3);
    }

    /** {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}, the graph's node order. */
    private static NDArray geluTanh(NDArray x, Constants c) {
        NDArray inner = x.add(x.pow(c.three).mul(c.cubic)).mul(c.sqrtTwoOverPi);
        return x.mul(inner.tanh().add(c.one)).mul(c.half);
    }

    /**
     * The forward pass's scalar constants, as arrays of the input's manager, which stays open
     * until the backward pass is done. Not DJL's {@code mul(Number)} and kin: its PyTorch engine
     * wraps the number in an array over a Java buffer that it closes right after the operation,
     * while autograd keeps that array for the backward pass, which then reads memory the
     * collector may have freed and reused: wrong or NaN gradients (measured: once the buffer is
     * collected and its memory written, x.mul(3f)'s gradient is NaN in 20 of 20 tries, with an
     * array kept open, 3 in all).
     */
    private static final class Constants {
        private final NDArray sqrtHeadSize;
        private final NDArray three;
        private final NDArray cubic;
        private final NDArray sqrtTwoOverPi;
        private final NDArray one;
        private final NDArray half;

        Constants(NDManager manager, long headSize) {
            sqrtHeadSize = manager.create((float) Math.sqrt(headSize));
            three = manager.create(3f);
            cubic = manager.create(0.044715f);
            sqrtTwoOverPi = manager.create((float) Math.sqrt(2 / Math.PI));
            one = manager.create(1f);
            half = manager.create(0.5f);
        }
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
