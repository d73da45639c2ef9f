package org.quantint8.calibration;

import java.util.Random;

/** Seeded synthetic distributions with known shape, for observer tests. */
final class SyntheticData {

    private SyntheticData() {}

    static float[] uniform(Random random, int n, float bound) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (random.nextFloat() * 2 - 1) * bound;
        }
        return values;
    }

    static float[] gaussian(Random random, int n, double sigma) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (random.nextGaussian() * sigma);
        }
        return values;
    }

    static float[] laplace(Random random, int n, double b) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            double u = random.nextDouble() - 0.5;
            values[i] = (float) (-b * Math.signum(u) * Math.log(1 - 2 * Math.abs(u)));
        }
        return values;
    }

    /**
     * Standard Gaussian values of which every {@code 1 / fraction}-th is replaced by an outlier of
     * random sign and a magnitude uniform in {@code [low, high]}.
     */
    static float[] gaussianWithOutliers(
            Random random, int n, double fraction, double low, double high) {
        float[] values = gaussian(random, n, 1);
        int stride = (int) Math.round(1 / fraction);
        for (int i = random.nextInt(stride); i < n; i += stride) {
            double magnitude = low + random.nextDouble() * (high - low);
            values[i] = (float) (random.nextBoolean() ? magnitude : -magnitude);
        }
        return values;
    }

    /** Marks which values are outliers (magnitude at least {@code low}). */
    static boolean[] outlierMask(float[] values, double low) {
        boolean[] mask = new boolean[values.length];
        for (int i = 0; i < values.length; i++) {
            mask[i] = Math.abs(values[i]) >= low;
        }
        return mask;
    }
}
