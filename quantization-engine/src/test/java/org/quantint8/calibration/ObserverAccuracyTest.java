package org.quantint8.calibration;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.util.Random;

/**
 * Observers against references computed by brute force on the raw values: the MSE-optimal clip,
 * exact percentiles, and the error of min-max on data with outliers.
 */
public class ObserverAccuracyTest {

    private static final QuantizationScheme INT8 = QuantizationScheme.SYMMETRIC_INT8;
    private static final int N = 100_000;

    @DataProvider
    public Object[][] cleanDistributions() {
        return new Object[][] {
            {"uniform", SyntheticData.uniform(new Random(1), N, 3f)},
            {"gaussian", SyntheticData.gaussian(new Random(2), N, 1)},
            {"laplace", SyntheticData.laplace(new Random(3), N, 1)},
        };
    }

    /** The MSE observer reaches the brute-force optimum error; entropy stays near it. */
    @Test(dataProvider = "cleanDistributions")
    public void mseAndEntropyNearBruteForceOptimum(String name, float[] values) {
        float bestClip = BruteForce.bestSymmetricClip(values, INT8, 400);
        double optimum = BruteForce.mse(values, INT8, new CalibrationRange(-bestClip, bestClip));
        double minMax = BruteForce.mse(values, INT8, BruteForce.observe(ObserverFactory.minMax(), values, 10));
        CalibrationRange mse = BruteForce.observe(ObserverFactory.mse(), values, 10);
        CalibrationRange entropy = BruteForce.observe(ObserverFactory.entropy(), values, 10);
        double mseError = BruteForce.mse(values, INT8, mse);
        double entropyError = BruteForce.mse(values, INT8, entropy);
        System.out.printf(
                "%s: brute-force clip %.3f mse %.3e | mse obs clip %.3f mse %.3e | entropy clip %.3f mse %.3e | min-max mse %.3e%n",
                name, bestClip, optimum, mse.absMax(), mseError, entropy.absMax(), entropyError, minMax);
        assertTrue(mseError <= optimum * 1.01, name + ": MSE observer error " + mseError + " vs optimum " + optimum);
        assertTrue(mseError <= minMax * 1.001, name + ": MSE observer worse than min-max");
        assertTrue(entropyError <= optimum * 1.4, name + ": entropy error " + entropyError + " vs optimum " + optimum);
    }

    /** The histogram percentile matches the exact percentile of the raw values within a bin. */
    @Test(dataProvider = "cleanDistributions")
    public void percentileMatchesExactPercentile(String name, float[] values) {
        for (double percent : new double[] {99.0, 99.9, 99.99}) {
            float exact = BruteForce.absPercentile(values, percent);
            CalibrationRange range = BruteForce.observe(ObserverFactory.percentile(percent), values, 10);
            double binWidth = 2.0 * BruteForce.observe(ObserverFactory.minMax(), values, 1).absMax() / Histogram.DEFAULT_BIN_COUNT;
            // Batching can widen bins up to twofold, and interpolation adds up to one more bin.
            assertEquals(range.absMax(), exact, 4 * binWidth, name + " p" + percent);
        }
    }

    /**
     * Gaussian data with 0.1% outliers of magnitude 10 to 50: entropy and a matching percentile
     * keep the resolution of the bulk (99.9% of values) that min-max wastes on the outliers, and
     * the MSE observer lowers the total error, which the outliers dominate.
     */
    @Test
    public void outliersClippedByHistogramObservers() {
        float[] values = SyntheticData.gaussianWithOutliers(new Random(7), 200_000, 0.001, 10, 50);
        boolean[] outliers = SyntheticData.outlierMask(values, 10);
        CalibrationRange minMax = BruteForce.observe(ObserverFactory.minMax(), values, 10);
        CalibrationRange percentile = BruteForce.observe(ObserverFactory.percentile(99.9), values, 10);
        CalibrationRange entropy = BruteForce.observe(ObserverFactory.entropy(), values, 10);
        CalibrationRange mse = BruteForce.observe(ObserverFactory.mse(), values, 10);
        double bulkMinMax = BruteForce.bulkMse(values, outliers, INT8, minMax);
        double bulkPercentile = BruteForce.bulkMse(values, outliers, INT8, percentile);
        double bulkEntropy = BruteForce.bulkMse(values, outliers, INT8, entropy);
        double totalMinMax = BruteForce.mse(values, INT8, minMax);
        double totalMse = BruteForce.mse(values, INT8, mse);
        float bestClip = BruteForce.bestSymmetricClip(values, INT8, 400);
        double totalOptimum = BruteForce.mse(values, INT8, new CalibrationRange(-bestClip, bestClip));
        System.out.printf(
                "outliers: bulk MSE min-max %.3e percentile(99.9) %.3e entropy %.3e (clips %.2f %.2f %.2f);"
                        + " total MSE min-max %.3e mse %.3e (clip %.2f) brute force %.3e (clip %.2f)"
                        + " | total percentile %.3e entropy %.3e%n",
                bulkMinMax, bulkPercentile, bulkEntropy, minMax.absMax(), percentile.absMax(), entropy.absMax(),
                totalMinMax, totalMse, mse.absMax(), totalOptimum, bestClip,
                BruteForce.mse(values, INT8, percentile), BruteForce.mse(values, INT8, entropy));
        assertTrue(bulkPercentile * 10 < bulkMinMax, "percentile bulk " + bulkPercentile + " vs " + bulkMinMax);
        assertTrue(bulkEntropy * 10 < bulkMinMax, "entropy bulk " + bulkEntropy + " vs " + bulkMinMax);
        assertTrue(totalMse * 1.05 < totalMinMax, "mse total " + totalMse + " vs " + totalMinMax);
        assertTrue(totalMse <= totalOptimum * 1.02, "mse total " + totalMse + " vs optimum " + totalOptimum);
    }

    /**
     * With outliers as rare as 1 in 100,000 clipping them pays off in total error too, and the
     * MSE observer nearly halves the error of min-max (measured 1.98x).
     */
    @Test
    public void sparseOutliersClippedByMseObserver() {
        float[] values = SyntheticData.gaussianWithOutliers(new Random(11), 200_000, 1e-5, 50, 100);
        double totalMinMax = BruteForce.mse(values, INT8, BruteForce.observe(ObserverFactory.minMax(), values, 10));
        CalibrationRange mse = BruteForce.observe(ObserverFactory.mse(), values, 10);
        double totalMse = BruteForce.mse(values, INT8, mse);
        float bestClip = BruteForce.bestSymmetricClip(values, INT8, 400);
        double totalOptimum = BruteForce.mse(values, INT8, new CalibrationRange(-bestClip, bestClip));
        System.out.printf(
                "sparse outliers: total MSE min-max %.3e mse %.3e (clip %.2f) brute force %.3e (clip %.2f)%n",
                totalMinMax, totalMse, mse.absMax(), totalOptimum, bestClip);
        assertTrue(totalMse * 1.8 < totalMinMax, "mse total " + totalMse + " vs min-max " + totalMinMax);
        assertTrue(totalMse <= totalOptimum * 1.02, "mse total " + totalMse + " vs optimum " + totalOptimum);
    }

    /** The moving average damps a single extreme batch that min-max takes in full. */
    @Test
    public void movingAverageDampsOneExtremeBatch() {
        Random random = new Random(5);
        Observer minMax = ObserverFactory.minMax().create("x", INT8);
        Observer average = ObserverFactory.movingAverageMinMax(0.1).create("x", INT8);
        for (int b = 0; b < 50; b++) {
            float[] batch = SyntheticData.uniform(random, 1000, b == 25 ? 100f : 1f);
            minMax.observe(batch);
            average.observe(batch);
        }
        // One batch at 100 among batches at 1 moves the average by c * 99 then decays geometrically.
        double expected = 1 + 0.1 * 99 * Math.pow(0.9, 24);
        assertEquals(average.computeRange().max(), expected, 0.1);
        assertTrue(minMax.computeRange().max() > 99);
    }
}
