package org.quantint8.calibration;

import org.quantint8.kernels.QuantMath;
import org.quantint8.ndarray.QuantizationParameters;

/**
 * Chooses the clip range that minimizes the expected squared quantization error of the observed
 * distribution, rounding and clipping error together.
 *
 * <p>The error of a candidate is estimated from the histogram by fake-quantizing evenly spaced
 * points within each occupied bin, weighted by its count. This is the honest objective when every
 * value matters equally; it clips only where the saved rounding error outweighs the clipping
 * error, so a few far outliers that carry much of the energy are kept.
 */
public final class MseObserver extends HistogramObserver {

    /** Points per bin at which the error is evaluated; bins are never wider than a step. */
    private static final int SAMPLES_PER_BIN = 8;

    /**
     * Creates an observer.
     *
     * @param tensorName the observed tensor
     * @param scheme the scheme parameters are computed for
     * @param binCount the number of histogram bins
     */
    public MseObserver(String tensorName, QuantizationScheme scheme, int binCount) {
        super(tensorName, scheme, binCount);
    }

    /** {@inheritDoc} */
    @Override
    public String getDescription() {
        return "mse";
    }

    /** {@inheritDoc} */
    @Override
    protected CalibrationRange chooseRange() {
        Histogram h = histogram();
        int[] occupied = h.occupiedBins();
        return ClipSearch.minimize(
                observedRange().withZero(),
                minClipFactor(),
                range -> meanSquaredError(h, occupied, getScheme().parametersFor(range)));
    }

    private static double meanSquaredError(
            Histogram h, int[] occupied, QuantizationParameters params) {
        float scale = params.getScale(0);
        int zeroPoint = params.getZeroPoint(0);
        int quantMin = params.getQuantMin();
        int quantMax = params.getQuantMax();
        double sum = 0;
        for (int bin : occupied) {
            double binError = 0;
            for (int j = 0; j < SAMPLES_PER_BIN; j++) {
                double position = bin + (j + 0.5) / SAMPLES_PER_BIN;
                float x = (float) (h.getLow() + position * h.getBinWidth());
                float error =
                        x - QuantMath.fakeQuantize(x, scale, zeroPoint, quantMin, quantMax);
                binError += (double) error * error;
            }
            sum += h.getCount(bin) * binError / SAMPLES_PER_BIN;
        }
        return sum / h.getTotalCount();
    }
}
