package org.quantint8.calibration;

/**
 * A histogram with a fixed number of equal-width bins whose range grows to cover every value
 * added, so that batches merge in bounded memory without keeping any value.
 *
 * <p>The first batch sets the range. When a later batch falls outside it, the bin width grows by
 * an integer factor and the range is extended by whole old bins, so every old bin falls entirely
 * inside one new bin: merging loses resolution (the new width) but never misplaces a count. The
 * result therefore agrees with a histogram built in one shot to within one bin of the coarser of
 * the two. NaN and infinite values are ignored.
 */
public final class Histogram {

    /** Enough bins for 255 quantization levels even after clipping the range 32-fold. */
    public static final int DEFAULT_BIN_COUNT = 8192;

    /** The relative width given to a histogram whose first values are all equal. */
    private static final double CONSTANT_RELATIVE_WIDTH = 1e-6;

    private final long[] counts;
    private double low;
    private double binWidth;
    private long totalCount;

    /**
     * Creates an empty histogram.
     *
     * @param binCount the number of bins, at least 1
     */
    public Histogram(int binCount) {
        if (binCount < 1) {
            throw new IllegalArgumentException("A histogram needs at least 1 bin, got " + binCount);
        }
        counts = new long[binCount];
    }

    /**
     * Adds the finite values of a slice.
     *
     * @param values the array
     * @param offset the first index
     * @param length the number of values
     */
    public void add(float[] values, int offset, int length) {
        float batchMin = Float.POSITIVE_INFINITY;
        float batchMax = Float.NEGATIVE_INFINITY;
        for (int i = offset; i < offset + length; i++) {
            if (Float.isFinite(values[i])) {
                batchMin = Math.min(batchMin, values[i]);
                batchMax = Math.max(batchMax, values[i]);
            }
        }
        if (batchMin <= batchMax) {
            add(values, offset, length, batchMin, batchMax);
        }
    }

    /**
     * Adds the finite values of a slice whose finite bounds the caller already knows.
     *
     * @param values the array
     * @param offset the first index
     * @param length the number of values
     * @param batchMin the smallest finite value of the slice
     * @param batchMax the largest finite value of the slice
     */
    public void add(float[] values, int offset, int length, float batchMin, float batchMax) {
        cover(batchMin, batchMax);
        int last = counts.length - 1;
        for (int i = offset; i < offset + length; i++) {
            float v = values[i];
            if (Float.isFinite(v)) {
                int bin = (int) Math.floor((v - low) / binWidth);
                counts[Math.clamp(bin, 0, last)]++;
                totalCount++;
            }
        }
    }

    private void cover(double min, double max) {
        if (totalCount == 0) {
            double span = max - min;
            if (span == 0) {
                // All values equal so far: any width works; keep the value in the middle bin.
                span = Math.max(Math.abs(min), Float.MIN_NORMAL) * CONSTANT_RELATIVE_WIDTH;
                min -= span / 2;
            }
            low = min;
            binWidth = span / counts.length;
            return;
        }
        double high = getHigh();
        if (min >= low && max <= high) {
            return;
        }
        // Extend by whole old bins and widen by an integer factor so old bins nest in new ones.
        double extraLeft = min < low ? Math.ceil((low - min) / binWidth) : 0;
        while (low - extraLeft * binWidth > min) { // rounding can leave the bound just outside
            extraLeft++;
        }
        double extraRight = max > high ? Math.ceil((max - high) / binWidth) : 0;
        double factor = Math.ceil((extraLeft + counts.length + extraRight) / counts.length);
        while (low - extraLeft * binWidth + counts.length * factor * binWidth < max) {
            factor++;
        }
        long[] old = counts.clone();
        java.util.Arrays.fill(counts, 0);
        for (int i = 0; i < old.length; i++) {
            if (old[i] != 0) {
                int bin = (int) Math.min(counts.length - 1, Math.floor((i + extraLeft) / factor));
                counts[bin] += old[i];
            }
        }
        low -= extraLeft * binWidth;
        binWidth *= factor;
    }

    /**
     * Returns the number of bins.
     *
     * @return the bin count
     */
    public int getBinCount() {
        return counts.length;
    }

    /**
     * Returns the number of values added.
     *
     * @return the total count
     */
    public long getTotalCount() {
        return totalCount;
    }

    /**
     * Returns the count of a bin.
     *
     * @param bin the bin index
     * @return the number of values in it
     */
    public long getCount(int bin) {
        return counts[bin];
    }

    /**
     * Returns the lower edge of the first bin.
     *
     * @return the low edge; 0 while empty
     */
    public double getLow() {
        return low;
    }

    /**
     * Returns the upper edge of the last bin.
     *
     * @return the high edge; 0 while empty
     */
    public double getHigh() {
        return low + binWidth * counts.length;
    }

    /**
     * Returns the width of every bin.
     *
     * @return the width; 0 while empty
     */
    public double getBinWidth() {
        return binWidth;
    }

    /**
     * Returns the centre of a bin.
     *
     * @param bin the bin index
     * @return the centre value
     */
    public double binCenter(int bin) {
        return low + (bin + 0.5) * binWidth;
    }

    /**
     * Returns the indices of the bins that hold at least one value.
     *
     * @return the occupied bins in increasing order
     */
    public int[] occupiedBins() {
        return java.util.stream.IntStream.range(0, counts.length)
                .filter(i -> counts[i] != 0)
                .toArray();
    }

    /**
     * Returns the approximate number of values below {@code x}, counting a bin's values as
     * spread evenly across it.
     *
     * @param x the value
     * @return the cumulative count, between 0 and {@link #getTotalCount()}
     */
    public double countBelow(double x) {
        if (totalCount == 0 || x <= low) {
            return 0;
        }
        double position = (x - low) / binWidth;
        if (position >= counts.length) {
            return totalCount;
        }
        int bin = (int) position;
        double below = 0;
        for (int i = 0; i < bin; i++) {
            below += counts[i];
        }
        return below + counts[bin] * (position - bin);
    }

    /**
     * Returns the value below which a fraction of the values lie, interpolating within a bin.
     *
     * @param fraction the fraction in {@code [0, 1]}
     * @return the quantile
     * @throws IllegalStateException if the histogram is empty
     */
    public double quantile(double fraction) {
        if (totalCount == 0) {
            throw new IllegalStateException("The quantile of an empty histogram is undefined");
        }
        double target = Math.clamp(fraction, 0.0, 1.0) * totalCount;
        double cumulative = 0;
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] > 0 && cumulative + counts[i] >= target) {
                return low + (i + (target - cumulative) / counts[i]) * binWidth;
            }
            cumulative += counts[i];
        }
        return getHigh();
    }
}
