package org.quantint8.calibration;

/**
 * What an observer has counted so far: finite values and their bounds, and the NaN and infinite
 * values it excluded from every range.
 *
 * @param batches the number of batches observed, including empty ones
 * @param finiteCount the number of finite values
 * @param nanCount the number of NaN values, excluded from ranges
 * @param infiniteCount the number of infinite values, excluded from ranges
 * @param min the smallest finite value, NaN if there was none
 * @param max the largest finite value, NaN if there was none
 */
public record TensorStatistics(
        long batches, long finiteCount, long nanCount, long infiniteCount, float min, float max) {

    /**
     * Returns whether at least one finite value was seen, the condition for choosing a range.
     *
     * @return {@code true} if a range can be computed
     */
    public boolean hasFiniteValues() {
        return finiteCount > 0;
    }

    /**
     * Returns the number of values that were excluded.
     *
     * @return NaN plus infinite values
     */
    public long nonFiniteCount() {
        return nanCount + infiniteCount;
    }

    /**
     * Returns the larger absolute finite bound.
     *
     * @return {@code max(|min|, |max|)}, NaN if no finite value was seen
     */
    public float absMax() {
        return Math.max(Math.abs(min), Math.abs(max));
    }
}
