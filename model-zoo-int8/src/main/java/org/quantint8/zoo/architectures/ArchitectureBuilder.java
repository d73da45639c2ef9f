package org.quantint8.zoo.architectures;

import org.quantint8.onnx.OnnxModel;

import java.util.Map;

/**
 * The options every architecture builder shares: where the weights come from.
 *
 * <p>Without {@link #optWeights(Map)} the parameters are random, deterministic from the seed and
 * initialized like the original implementation. With it, every parameter must be present under
 * the architecture's name for it (see each architecture's documentation) with the right number of
 * elements, and every given tensor must be used.
 *
 * @param <T> the concrete builder
 */
public abstract class ArchitectureBuilder<T extends ArchitectureBuilder<T>> {

    private long seed = 42;
    private Map<String, float[]> weights;

    /** Creates a builder with random weights from seed 42. */
    protected ArchitectureBuilder() {}

    /**
     * Sets the seed of the random weights.
     *
     * @param seed the seed; 42 by default
     * @return this builder
     */
    public T optSeed(long seed) {
        this.seed = seed;
        return self();
    }

    /**
     * Uses imported weights instead of random ones.
     *
     * @param weights the values by parameter name, row-major, in the architecture's naming; the
     *     arrays are used as they are, not copied
     * @return this builder
     */
    public T optWeights(Map<String, float[]> weights) {
        this.weights = Map.copyOf(weights);
        return self();
    }

    /**
     * Builds the ONNX model.
     *
     * @return the model, opset 17
     * @throws IllegalArgumentException if the configuration is inconsistent, or imported weights
     *     lack a parameter, give one a wrong size or contain a tensor the architecture has no use
     *     for
     */
    public abstract OnnxModel build();

    /**
     * Returns this builder as its concrete type.
     *
     * @return this builder
     */
    protected abstract T self();

    /**
     * Returns a new emitter whose parameters come from this builder's weights.
     *
     * @param graphName the graph name
     * @return the emitter
     */
    GraphEmitter newEmitter(String graphName) {
        return new GraphEmitter(graphName, new WeightSupplier(seed, weights));
    }

    /**
     * Checks that a size is positive.
     *
     * @param what what the size is, for the message
     * @param value the size
     * @return the size
     * @throws IllegalArgumentException if it is not positive
     */
    static int positive(String what, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(what + " must be positive, got " + value);
        }
        return value;
    }
}
