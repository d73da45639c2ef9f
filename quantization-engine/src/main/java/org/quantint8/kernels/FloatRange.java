package org.quantint8.kernels;

/**
 * The range of a run of FP32 values, or the first value that has no place in one.
 *
 * @param min the smallest value (0 for no values); meaningful only when {@link #isFinite()}
 * @param max the largest value (0 for no values); meaningful only when {@link #isFinite()}
 * @param nonFiniteIndex the index of the first NaN or infinite value, or -1 if there is none
 * @param nonFiniteValue that value, or 0 if there is none
 */
public record FloatRange(float min, float max, long nonFiniteIndex, float nonFiniteValue) {

    /**
     * Tells whether every value was finite, so that {@link #min()} and {@link #max()} hold.
     *
     * @return {@code true} if no value was NaN or infinite
     */
    public boolean isFinite() {
        return nonFiniteIndex < 0;
    }

    /**
     * Describes the non-finite value, for the exception of a caller that refuses it.
     *
     * @param name the tensor's name
     * @return for example {@code "x has a non-finite value NaN at index 3"}
     */
    public String nonFiniteMessage(String name) {
        return name + " has a non-finite value " + nonFiniteValue + " at index " + nonFiniteIndex;
    }
}
