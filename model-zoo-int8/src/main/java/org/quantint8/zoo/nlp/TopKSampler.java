package org.quantint8.zoo.nlp;

import java.util.Random;

/**
 * Draws a token among the {@code k} most likely, with a temperature. DJL's {@code StepGeneration}
 * has greedy, beam and contrastive steps but no sampling, hence this class.
 */
final class TopKSampler {

    private final int k;
    private final double temperature;
    private final Random random;

    TopKSampler(int k, float temperature, long seed) {
        this.k = k;
        this.temperature = temperature;
        this.random = new Random(seed);
    }

    /**
     * Draws the next token.
     *
     * @param logits the next-token logits
     * @return the token id
     */
    long next(float[] logits) {
        int[] top = topIndices(logits, Math.min(k, logits.length));
        // Softmax in double over the k candidates, the largest first, so exp never overflows.
        double[] weights = new double[top.length];
        double total = 0;
        for (int i = 0; i < top.length; i++) {
            weights[i] = Math.exp((logits[top[i]] - (double) logits[top[0]]) / temperature);
            total += weights[i];
        }
        double draw = random.nextDouble() * total;
        for (int i = 0; i < top.length; i++) {
            draw -= weights[i];
            if (draw < 0) {
                return top[i];
            }
        }
        return top[top.length - 1];
    }

    /** The indices of the {@code count} largest values, largest first, lower index on ties. */
    static int[] topIndices(float[] values, int count) {
        int[] top = new int[count];
        int size = 0;
        for (int v = 0; v < values.length; v++) {
            if (size == count && !(values[v] > values[top[size - 1]])) {
                continue;
            }
            // Insertion into the short sorted list: k is small next to the vocabulary.
            int at = size < count ? size++ : size - 1;
            while (at > 0 && values[v] > values[top[at - 1]]) {
                top[at] = top[at - 1];
                at--;
            }
            top[at] = v;
        }
        return top;
    }
}
