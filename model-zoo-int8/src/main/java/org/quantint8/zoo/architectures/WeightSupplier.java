package org.quantint8.zoo.architectures;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Supplies the value of each parameter an architecture declares: from the imported map when one
 * is given, otherwise seeded random values.
 *
 * <p>Random values depend only on the seed and the parameter's name, never on the order in which
 * parameters are requested, so two models built with the same seed share every parameter they
 * have in common.
 */
final class WeightSupplier {

    private final long seed;
    private final Map<String, float[]> imported;
    private final Set<String> used = new HashSet<>();

    /**
     * Creates a supplier.
     *
     * @param seed the seed of the random values
     * @param imported the imported values by parameter name, or {@code null} for random values
     */
    WeightSupplier(long seed, Map<String, float[]> imported) {
        this.seed = seed;
        this.imported = imported;
    }

    /**
     * Returns the values of one parameter.
     *
     * @param name the parameter name
     * @param init the initialization used when the weights are random
     * @param dims the parameter's shape
     * @return the values, in row-major order
     * @throws IllegalArgumentException if imported weights lack the parameter or give it another
     *     number of elements
     */
    float[] get(String name, WeightInit init, long[] dims) {
        long count = 1;
        for (long dim : dims) {
            count = Math.multiplyExact(count, dim);
        }
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(
                    "Parameter " + name + " has " + count + " elements, more than an array holds");
        }
        if (imported == null) {
            return init.generate(dims, (int) count, new SplittableRandom(mix(seed, name)));
        }
        float[] values = imported.get(name);
        if (values == null) {
            throw new IllegalArgumentException("Imported weights lack parameter " + name);
        }
        if (values.length != count) {
            throw new IllegalArgumentException(
                    "Imported parameter " + name + " has " + values.length
                            + " elements; the architecture needs " + Arrays.toString(dims)
                            + " = " + count);
        }
        used.add(name);
        return values;
    }

    /**
     * Checks that every imported value was used, which catches misnamed tensors.
     *
     * @throws IllegalArgumentException naming the unused tensors
     */
    void checkAllUsed() {
        if (imported == null || used.size() == imported.size()) {
            return;
        }
        Set<String> unused = new TreeSet<>(imported.keySet());
        unused.removeAll(used);
        throw new IllegalArgumentException(
                unused.size() + " imported tensors match no parameter of the architecture: "
                        + unused);
    }

    private static long mix(long seed, String name) {
        long h = seed * 0x9E3779B97F4A7C15L + name.hashCode();
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        return h ^ (h >>> 33);
    }
}
