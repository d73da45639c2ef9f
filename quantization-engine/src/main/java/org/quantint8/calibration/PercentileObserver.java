package org.quantint8.calibration;

/**
 * Chooses the smallest range that holds a given percentage of the values, clipping the rest.
 *
 * <p>Symmetric schemes clip {@code |x|} at its percentile; asymmetric schemes cut half of the
 * excluded mass from each tail. Cheap and predictable, but the percentage must be tuned: it
 * ignores how far the clipped values lie.
 */
public final class PercentileObserver extends HistogramObserver {

    /** A percentile that keeps all but one value in ten thousand. */
    public static final double DEFAULT_PERCENTILE = 99.99;

    private static final int BISECTION_STEPS = 60;

    private final double percentile;

    /**
     * Creates an observer.
     *
     * @param tensorName the observed tensor
     * @param scheme the scheme parameters are computed for
     * @param percentile the percentage of values to keep, in {@code (0, 100]}
     * @param binCount the number of histogram bins
     */
    public PercentileObserver(
            String tensorName, QuantizationScheme scheme, double percentile, int binCount) {
        super(tensorName, scheme, binCount);
        checkPercentile(percentile);
        this.percentile = percentile;
    }

    static void checkPercentile(double percentile) {
        if (!(percentile > 0 && percentile <= 100)) {
            throw new IllegalArgumentException(
                    "Percentile must be in (0, 100], got " + percentile);
        }
    }

    /** {@inheritDoc} */
    @Override
    public String getDescription() {
        return "percentile(" + percentile + ")";
    }

    /** {@inheritDoc} */
    @Override
    protected CalibrationRange chooseRange() {
        Histogram h = histogram();
        double keep = percentile / 100;
        if (getScheme().isSymmetric()) {
            double threshold = symmetricThreshold(h, keep, getStatistics().absMax());
            return new CalibrationRange((float) -threshold, (float) threshold);
        }
        double tail = (1 - keep) / 2;
        return new CalibrationRange((float) h.quantile(tail), (float) h.quantile(1 - tail));
    }

    /** Finds the smallest t with a fraction {@code keep} of the values inside [-t, t]. */
    private static double symmetricThreshold(Histogram h, double keep, double absMax) {
        double target = keep * h.getTotalCount();
        double lo = 0;
        double hi = absMax;
        for (int i = 0; i < BISECTION_STEPS; i++) {
            double mid = (lo + hi) / 2;
            if (h.countBelow(mid) - h.countBelow(-mid) >= target) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return hi;
    }
}
