package org.quantint8.it.accuracy;

import static org.testng.Assert.assertTrue;

import java.util.Locale;
import java.util.Map;

/**
 * The calibration mistake of the sentiment suites, made visible: static INT8 calibrated on random
 * token ids and on a single sentence against the same quantization calibrated on representative
 * sentences ({@link BertSamples#calibrationSets}). Writes the comparison as prose for the report
 * and checks that the model still works.
 */
final class CalibrationMistake {

    /** Far above chance (0.5), far below what any of the models scores (0.88 to 0.92). */
    private static final double MIN_ACCURACY = 0.7;
    /** Far below what a working INT8 model gives (0.84 to 0.999 measured). */
    private static final double MIN_COSINE = 0.5;

    private CalibrationMistake() {}

    /**
     * Returns whether a row is one of the mistakes.
     *
     * @param row the row's name
     * @return {@code true} for a calibration on noise or on a single sentence
     */
    static boolean isMistake(String row) {
        return row.endsWith("(mistake)");
    }

    /**
     * Describes the mistakes against representative calibration, with the figures.
     *
     * @param rows the probe's rows
     * @param prefix the common start of the static rows' names
     * @return a paragraph
     */
    static String summary(Map<String, SentimentProbe.Row> rows, String prefix) {
        SentimentProbe.Row good = rows.get(prefix + BertSamples.REPRESENTATIVE);
        double fp32 = rows.get(SentimentProbe.FP32).all();
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "The calibration"
                        + " mistake: static INT8 calibrated on %d representative sentences scores"
                        + " %.2f%% (%+.2f points to FP32, mean cosine %.4f)",
                BertSamples.CALIBRATION_SENTENCES, 100 * good.all(), 100 * (good.all() - fp32),
                good.meanCosine()));
        for (String mistake : new String[] {BertSamples.NOISE, BertSamples.SINGLE}) {
            SentimentProbe.Row bad = rows.get(prefix + mistake);
            out.append(String.format(Locale.ROOT, "; calibrated on %s it scores %.2f%% (%+.2f"
                            + " points to representative calibration, mean cosine %.4f, %+.4f)",
                    mistake.replace(" (mistake)", ""), 100 * bad.all(),
                    100 * (bad.all() - good.all()), bad.meanCosine(),
                    bad.meanCosine() - good.meanCosine()));
        }
        return out.append(".\n").toString();
    }

    /**
     * Checks that each mistake still yields a working model (a probe far above chance, features
     * still pointing the way FP32's do), which a calibration that broke a layer would not. How
     * much worse, or better, a mistake is than representative calibration is reported, not
     * asserted: it depends on the model and on the engine's observers (on MiniLM, the MSE
     * observer makes the three calibrations land within a few sentences of each other).
     *
     * @param rows the probe's rows
     * @param prefix the common start of the static rows' names
     */
    static void check(Map<String, SentimentProbe.Row> rows, String prefix) {
        for (String mistake : new String[] {BertSamples.NOISE, BertSamples.SINGLE}) {
            SentimentProbe.Row bad = rows.get(prefix + mistake);
            assertTrue(bad.all() >= MIN_ACCURACY, mistake + ": the probe scores " + bad.all());
            assertTrue(bad.meanCosine() >= MIN_COSINE,
                    mistake + ": mean cosine to FP32 " + bad.meanCosine());
        }
    }
}
