package org.quantint8.calibration;

/**
 * An observer that records a {@link Histogram} of the finite values, for methods that choose a
 * range from the shape of the distribution rather than from its bounds.
 *
 * <p>Memory is fixed by the bin count ({@code 8 * binCount} bytes), whatever the size of the
 * calibration set.
 */
public abstract class HistogramObserver extends AbstractObserver {

    private final Histogram histogram;

    /**
     * Creates an observer.
     *
     * @param tensorName the observed tensor
     * @param scheme the scheme parameters are computed for
     * @param binCount the number of histogram bins
     */
    protected HistogramObserver(String tensorName, QuantizationScheme scheme, int binCount) {
        super(tensorName, scheme);
        if (binCount < 1) {
            throw new IllegalArgumentException(
                    "Tensor '" + tensorName + "': bin count must be positive, got " + binCount);
        }
        this.histogram = new Histogram(binCount);
    }

    /** {@inheritDoc} */
    @Override
    protected final void accumulate(
            float[] values, int offset, int length, float batchMin, float batchMax) {
        histogram.add(values, offset, length, batchMin, batchMax);
    }

    /**
     * Returns the strongest clipping a histogram search may try: the factor at which the
     * quantization step shrinks to one bin. Below it the histogram cannot tell where values fall
     * within a step, so costs computed from it would be meaningless.
     *
     * @return the factor in {@code (0, 1]}
     */
    protected final double minClipFactor() {
        float fullRangeScale = getScheme().parametersFor(observedRange()).getScale(0);
        return Math.clamp(histogram.getBinWidth() / fullRangeScale, Double.MIN_NORMAL, 1.0);
    }

    /**
     * Returns the histogram of everything observed.
     *
     * @return the live histogram; callers must not add to it
     */
    protected final Histogram histogram() {
        return histogram;
    }
}
