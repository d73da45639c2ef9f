package org.quantint8.calibration;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import org.testng.annotations.Test;

import java.util.Random;

/** Merging batches whose ranges grow gives the one-shot histogram within bin resolution. */
public class HistogramTest {

    private static float[] growingBatches(Random random) {
        float[] values = new float[30_000];
        float[] narrow = SyntheticData.gaussian(random, 10_000, 1);
        float[] wide = SyntheticData.gaussian(random, 10_000, 5);
        float[] shifted = SyntheticData.uniform(random, 10_000, 40f);
        System.arraycopy(narrow, 0, values, 0, 10_000);
        System.arraycopy(wide, 0, values, 10_000, 10_000);
        System.arraycopy(shifted, 0, values, 20_000, 10_000);
        return values;
    }

    @Test
    public void mergedEqualsOneShotWithinBinResolution() {
        float[] values = growingBatches(new Random(3));
        Histogram oneShot = new Histogram(512);
        oneShot.add(values, 0, values.length);
        Histogram merged = new Histogram(512);
        for (int b = 0; b < 3; b++) {
            merged.add(values, b * 10_000, 10_000);
        }
        assertEquals(merged.getTotalCount(), oneShot.getTotalCount());
        assertTrue(merged.getLow() <= -39.9 && merged.getHigh() >= 39.9, "covers all values");
        double width = merged.getBinWidth();
        for (double x = -40; x <= 40; x += 0.37) {
            // Both place each value within one bin of the truth, so they can differ by at most
            // the values lying within one coarse bin of x.
            double slack = oneShot.countBelow(x + width) - oneShot.countBelow(x - width);
            assertEquals(merged.countBelow(x), oneShot.countBelow(x), slack + 1e-9, "cdf at " + x);
        }
        for (double q : new double[] {0.001, 0.1, 0.5, 0.9, 0.999}) {
            assertEquals(merged.quantile(q), oneShot.quantile(q), width, "quantile " + q);
        }
    }

    @Test
    public void widenedBinsKeepCountsExact() {
        Histogram histogram = new Histogram(8);
        histogram.add(new float[] {0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f}, 0, 9);
        histogram.add(new float[] {-20f, 30f}, 0, 2);
        long total = 0;
        for (int i = 0; i < histogram.getBinCount(); i++) {
            total += histogram.getCount(i);
        }
        assertEquals(total, 11);
        assertEquals(histogram.countBelow(-19), 1.0, histogram.getBinWidth() / 1);
        assertEquals(histogram.countBelow(histogram.getHigh()), 11.0);
    }

    @Test
    public void constantFirstBatchThenWiderBatch() {
        Histogram histogram = new Histogram(64);
        histogram.add(new float[] {2f, 2f, 2f}, 0, 3);
        assertEquals(histogram.quantile(0.5), 2.0, 1e-5);
        histogram.add(new float[] {-1f, 5f}, 0, 2);
        assertEquals(histogram.getTotalCount(), 5);
        assertTrue(histogram.getLow() <= -1 && histogram.getHigh() >= 5);
        assertEquals(histogram.quantile(0.5), 2.0, histogram.getBinWidth());
    }

    @Test
    public void observersAgreeBatchedAndOneShot() {
        float[] values = growingBatches(new Random(9));
        for (ObserverFactory factory :
                new ObserverFactory[] {
                    ObserverFactory.percentile(99.9), ObserverFactory.entropy(), ObserverFactory.mse()
                }) {
            CalibrationRange batched = BruteForce.observe(factory, values, 3);
            CalibrationRange oneShot = BruteForce.observe(factory, values, 1);
            double batchedError = BruteForce.mse(values, QuantizationScheme.SYMMETRIC_INT8, batched);
            double oneShotError = BruteForce.mse(values, QuantizationScheme.SYMMETRIC_INT8, oneShot);
            assertEquals(batchedError, oneShotError, 0.05 * oneShotError, factory.create("x", QuantizationScheme.SYMMETRIC_INT8).getDescription());
        }
    }
}
