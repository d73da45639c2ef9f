package org.quantint8.calibration;

/**
 * The bookkeeping every observer shares: argument checks, counting and excluding NaN and infinite
 * values, the observed finite bounds, and the error when nothing usable was observed.
 *
 * <p>Subclasses only record what their method needs ({@link #accumulate}) and choose a range
 * ({@link #chooseRange()}).
 */
public abstract class AbstractObserver implements Observer {

    private final String tensorName;
    private final QuantizationScheme scheme;
    private long batches;
    private long finiteCount;
    private long nanCount;
    private long infiniteCount;
    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;

    /**
     * Creates an observer.
     *
     * @param tensorName the observed tensor, for messages
     * @param scheme the scheme parameters are computed for
     */
    protected AbstractObserver(String tensorName, QuantizationScheme scheme) {
        if (tensorName == null || tensorName.isEmpty()) {
            throw new IllegalArgumentException("An observer needs a tensor name");
        }
        if (scheme == null) {
            throw new IllegalArgumentException("Tensor '" + tensorName + "': scheme is null");
        }
        this.tensorName = tensorName;
        this.scheme = scheme;
    }

    /** {@inheritDoc} */
    @Override
    public final String getTensorName() {
        return tensorName;
    }

    /** {@inheritDoc} */
    @Override
    public final QuantizationScheme getScheme() {
        return scheme;
    }

    /** {@inheritDoc} */
    @Override
    public final void observe(float[] values, int offset, int length) {
        CalibrationInputs.checkSlice(tensorName, values, offset, length);
        float batchMin = Float.POSITIVE_INFINITY;
        float batchMax = Float.NEGATIVE_INFINITY;
        long batchFinite = 0;
        for (int i = offset; i < offset + length; i++) {
            float v = values[i];
            if (Float.isNaN(v)) {
                nanCount++;
            } else if (Float.isInfinite(v)) {
                infiniteCount++;
            } else {
                batchFinite++;
                batchMin = Math.min(batchMin, v);
                batchMax = Math.max(batchMax, v);
            }
        }
        batches++;
        if (batchFinite == 0) {
            return;
        }
        finiteCount += batchFinite;
        min = Math.min(min, batchMin);
        max = Math.max(max, batchMax);
        accumulate(values, offset, length, batchMin, batchMax);
    }

    /** {@inheritDoc} */
    @Override
    public final TensorStatistics getStatistics() {
        boolean any = finiteCount > 0;
        return new TensorStatistics(
                batches,
                finiteCount,
                nanCount,
                infiniteCount,
                any ? min : Float.NaN,
                any ? max : Float.NaN);
    }

    /** {@inheritDoc} */
    @Override
    public final CalibrationRange computeRange() {
        if (finiteCount == 0) {
            throw new IllegalStateException(noDataMessage());
        }
        CalibrationRange chosen = chooseRange();
        // A method may clip, but never widen beyond what was seen (plus zero, always kept).
        float low = Math.max(chosen.min(), Math.min(min, 0f));
        float high = Math.min(chosen.max(), Math.max(max, 0f));
        if (!(low <= high)) {
            throw new IllegalStateException(
                    "Tensor '"
                            + tensorName
                            + "': "
                            + getDescription()
                            + " chose "
                            + chosen
                            + ", outside the observed range ["
                            + min
                            + ", "
                            + max
                            + "]");
        }
        return new CalibrationRange(low, high);
    }

    /**
     * Records a batch that holds at least one finite value. Implementations must skip NaN and
     * infinite values, which are already counted.
     *
     * @param values the array holding the batch
     * @param offset the index of the first value
     * @param length the number of values
     * @param batchMin the smallest finite value of the batch
     * @param batchMax the largest finite value of the batch
     */
    protected abstract void accumulate(
            float[] values, int offset, int length, float batchMin, float batchMax);

    /**
     * Chooses the clip range; called only after at least one finite value was observed.
     *
     * @return the range, which the caller intersects with the observed bounds
     */
    protected abstract CalibrationRange chooseRange();

    /**
     * Returns the range of all finite values observed.
     *
     * @return {@code [min, max]} of the finite values
     */
    protected final CalibrationRange observedRange() {
        return new CalibrationRange(min, max);
    }

    private String noDataMessage() {
        if (batches == 0) {
            return "Tensor '"
                    + tensorName
                    + "': no calibration data was observed (empty calibration set)";
        }
        long total = nanCount + infiniteCount;
        if (total == 0) {
            return "Tensor '"
                    + tensorName
                    + "': the "
                    + batches
                    + " observed batches were all empty";
        }
        return "Tensor '"
                + tensorName
                + "': all "
                + total
                + " observed values are non-finite ("
                + nanCount
                + " NaN, "
                + infiniteCount
                + " infinite), no range can be chosen";
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return getDescription() + " of '" + tensorName + "' " + getStatistics();
    }
}
