package org.quantint8.ndarray;

import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.PackedInt8Matrix;

import java.util.function.IntFunction;

/**
 * The packed form of a weight array, one {@link PackedInt8Matrix} per convolution group (one for
 * a linear weight), made by one kernel implementation. A {@link QuantInt8NDArray} keeps it so
 * repeated calls with the same weights do not pack again, and closes it when the array is closed
 * or its data or quantization change.
 *
 * @param kernels the kernels that packed it
 * @param groups the packed matrices
 */
record PackedWeights(Int8Kernels kernels, PackedInt8Matrix[] groups) implements AutoCloseable {

    /**
     * Packs every group.
     *
     * @param kernels the kernels
     * @param groups the number of groups
     * @param packer packs one group, given its index
     * @return the packed weights
     */
    static PackedWeights pack(Int8Kernels kernels, int groups, IntFunction<PackedInt8Matrix> packer) {
        PackedInt8Matrix[] packed = new PackedInt8Matrix[groups];
        try {
            for (int g = 0; g < groups; g++) {
                packed[g] = packer.apply(g);
            }
        } catch (RuntimeException | Error e) {
            new PackedWeights(kernels, packed).close();
            throw e;
        }
        return new PackedWeights(kernels, packed);
    }

    /**
     * Returns whether these were packed by the given kernels for the given group count.
     *
     * @param wanted the kernels
     * @param groupCount the number of groups
     * @return whether they can be reused
     */
    boolean fits(Int8Kernels wanted, int groupCount) {
        return kernels == wanted && groups.length == groupCount;
    }

    /** Frees every packed group. */
    @Override
    public void close() {
        for (PackedInt8Matrix group : groups) {
            if (group != null) {
                group.close();
            }
        }
    }
}
