package org.quantint8.zoo.architectures;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * How a parameter is initialized when no imported value is given: the schemes the original
 * implementations use (Hugging Face's {@code _init_weights}, torchvision's ResNet constructor).
 *
 * @param kind the scheme
 * @param a the scheme's first number (standard deviation, or lower bound)
 * @param b the scheme's second number (upper bound); unused by the other schemes
 */
record WeightInit(Kind kind, double a, double b) {

    /** The initialization schemes. */
    enum Kind {
        /** Every element equal to {@code a}. */
        CONSTANT,
        /** Normal with mean 0 and standard deviation {@code a}. */
        NORMAL,
        /** Uniform over {@code [a, b)}. */
        UNIFORM,
        /** Kaiming normal for ReLU, fan-out mode: standard deviation {@code sqrt(2 / fan_out)}. */
        KAIMING_NORMAL_FAN_OUT
    }

    static WeightInit zeros() {
        return new WeightInit(Kind.CONSTANT, 0, 0);
    }

    static WeightInit ones() {
        return new WeightInit(Kind.CONSTANT, 1, 0);
    }

    static WeightInit normal(double std) {
        return new WeightInit(Kind.NORMAL, std, 0);
    }

    static WeightInit uniform(double low, double high) {
        return new WeightInit(Kind.UNIFORM, low, high);
    }

    static WeightInit kaimingNormalFanOut() {
        return new WeightInit(Kind.KAIMING_NORMAL_FAN_OUT, 0, 0);
    }

    /**
     * Fills a new array for a parameter of the given shape.
     *
     * @param dims the parameter's shape; a convolution kernel is {@code [out, in, kh, kw]}
     * @param count the number of elements
     * @param random the generator, already seeded for this parameter
     * @return the values
     */
    float[] generate(long[] dims, int count, SplittableRandom random) {
        float[] values = new float[count];
        switch (kind) {
            case CONSTANT -> Arrays.fill(values, (float) a);
            case NORMAL -> fillNormal(values, a, random);
            case UNIFORM -> {
                for (int i = 0; i < count; i++) {
                    values[i] = (float) (a + (b - a) * random.nextDouble());
                }
            }
            case KAIMING_NORMAL_FAN_OUT -> {
                long fanOut = count / dims[1];
                fillNormal(values, Math.sqrt(2.0 / fanOut), random);
            }
        }
        return values;
    }

    private static void fillNormal(float[] values, double std, SplittableRandom random) {
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (std * random.nextGaussian());
        }
    }
}
