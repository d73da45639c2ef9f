package org.quantint8.zoo.nlp;

import java.util.ArrayList;
import java.util.List;

/** Softmax and log-sum-exp of float logits, computed in double and shifted by the maximum. */
final class Softmax {

    private Softmax() {}

    /**
     * Returns {@code log(sum(exp(values[offset .. offset + count))))}.
     *
     * @param values the logits
     * @param offset the first
     * @param count how many
     * @return the log of the softmax's denominator
     */
    static double logSumExp(float[] values, int offset, int count) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + count; i++) {
            max = Math.max(max, values[i]);
        }
        double sum = 0;
        for (int i = offset; i < offset + count; i++) {
            sum += Math.exp(values[i] - max);
        }
        return max + Math.log(sum);
    }

    /**
     * Returns the softmax of logits.
     *
     * @param logits the logits
     * @return the probabilities, in order
     */
    static List<Double> probabilities(float[] logits) {
        double logTotal = logSumExp(logits, 0, logits.length);
        List<Double> probabilities = new ArrayList<>(logits.length);
        for (float logit : logits) {
            probabilities.add(Math.exp(logit - logTotal));
        }
        return probabilities;
    }
}
