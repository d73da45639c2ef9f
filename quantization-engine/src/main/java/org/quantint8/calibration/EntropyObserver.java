package org.quantint8.calibration;

import org.quantint8.kernels.QuantMath;
import org.quantint8.ndarray.QuantizationParameters;

/**
 * Chooses the clip range whose quantized distribution loses the least information, measured as
 * the Kullback-Leibler divergence between the observed histogram and its quantized form (the idea
 * of TensorRT's entropy calibrator).
 *
 * <p>For a candidate range, the reference distribution P is the histogram restricted to the
 * range with the clipped mass added to the edge bins. The candidate Q spreads the in-range mass of
 * each quantization level evenly over that level's occupied bins, leaving the clipped mass out.
 * Clipping too little makes levels coarse (Q flattens P's shape); clipping too much piles mass on
 * the edges that Q does not have. Favors the bulk of the distribution: it clips rare outliers
 * more eagerly than {@link MseObserver}.
 */
public final class EntropyObserver extends HistogramObserver {

    /** Stands in for an empty level's mass so that the divergence stays finite. */
    private static final double EMPTY_LEVEL_MASS = 1e-3;

    /**
     * Creates an observer.
     *
     * @param tensorName the observed tensor
     * @param scheme the scheme parameters are computed for
     * @param binCount the number of histogram bins
     */
    public EntropyObserver(String tensorName, QuantizationScheme scheme, int binCount) {
        super(tensorName, scheme, binCount);
    }

    /** {@inheritDoc} */
    @Override
    public String getDescription() {
        return "entropy";
    }

    /** {@inheritDoc} */
    @Override
    protected CalibrationRange chooseRange() {
        Histogram h = histogram();
        return ClipSearch.minimize(
                observedRange().withZero(),
                minClipFactor(),
                range -> divergence(h, getScheme().parametersFor(range)));
    }

    private static double divergence(Histogram h, QuantizationParameters params) {
        float scale = params.getScale(0);
        int zeroPoint = params.getZeroPoint(0);
        int quantMin = params.getQuantMin();
        int quantMax = params.getQuantMax();
        int last = h.getBinCount() - 1;
        // The bins whose centres lie within the representable interval.
        int first = binAtOrAbove(h, (double) scale * (quantMin - zeroPoint));
        int end = binAtOrBelow(h, (double) scale * (quantMax - zeroPoint));
        if (first > end) {
            return Double.POSITIVE_INFINITY;
        }
        double clippedBelow = 0;
        for (int i = 0; i < first; i++) {
            clippedBelow += h.getCount(i);
        }
        double clippedAbove = 0;
        for (int i = end + 1; i <= last; i++) {
            clippedAbove += h.getCount(i);
        }
        double total = h.getTotalCount();
        double inside = total - clippedBelow - clippedAbove;
        if (inside == 0) {
            return Double.POSITIVE_INFINITY;
        }
        double divergence = 0;
        int runStart = first;
        while (runStart <= end) {
            int level = levelOf(h, runStart, params);
            int runEnd = runStart;
            while (runEnd < end && levelOf(h, runEnd + 1, params) == level) {
                runEnd++;
            }
            double levelMass = 0;
            int occupied = 0;
            for (int i = runStart; i <= runEnd; i++) {
                levelMass += h.getCount(i);
                if (reference(h, i, first, end, clippedBelow, clippedAbove) > 0) {
                    occupied++;
                }
            }
            double q = Math.max(levelMass, EMPTY_LEVEL_MASS) / occupied / inside;
            for (int i = runStart; i <= runEnd; i++) {
                double p = reference(h, i, first, end, clippedBelow, clippedAbove) / total;
                if (p > 0) {
                    divergence += p * Math.log(p / q);
                }
            }
            runStart = runEnd + 1;
        }
        return divergence;
    }

    /** The reference mass of a bin: its count, plus the clipped mass on the edges. */
    private static double reference(
            Histogram h, int bin, int first, int end, double clippedBelow, double clippedAbove) {
        double mass = h.getCount(bin);
        if (bin == first) {
            mass += clippedBelow;
        }
        if (bin == end) {
            mass += clippedAbove;
        }
        return mass;
    }

    private static int levelOf(Histogram h, int bin, QuantizationParameters params) {
        return QuantMath.quantize(
                (float) h.binCenter(bin),
                params.getScale(0),
                params.getZeroPoint(0),
                params.getQuantMin(),
                params.getQuantMax());
    }

    private static int binAtOrAbove(Histogram h, double x) {
        double position = Math.ceil((x - h.getLow()) / h.getBinWidth() - 0.5);
        return (int) Math.clamp(position, 0, h.getBinCount() - 1);
    }

    private static int binAtOrBelow(Histogram h, double x) {
        double position = Math.floor((x - h.getLow()) / h.getBinWidth() - 0.5);
        return (int) Math.clamp(position, 0, h.getBinCount() - 1);
    }
}
