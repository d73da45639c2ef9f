package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import org.testng.annotations.Test;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The probe's bookkeeping and report text, with cheap word-count features instead of a model. */
public class SentimentProbeTest {

    private static final List<String> WORDS =
            List.of("good", "great", "love", "excellent", "bad", "not", "poor", "worst");
    private static final String STATIC = "static, ";

    @Test
    public void rowsTableGoalsAndMistakeSummary() throws Exception {
        SentimentProbe probe = new SentimentProbe();
        SentimentProbe.Row fp32 = probe.train(SentimentProbeTest::words);
        assertTrue(fp32.all() > 0.6, "word counts carry sentiment: " + fp32.all());
        probe.score(STATIC + BertSamples.REPRESENTATIVE, SentimentProbeTest::words);
        // Half the words lost: a worse variant, further from the reference features.
        probe.score(STATIC + BertSamples.NOISE, s -> halved(words(s)));
        probe.score(STATIC + BertSamples.SINGLE, s -> halved(words(s)));

        Map<String, SentimentProbe.Row> rows = probe.rows();
        assertEquals(rows.keySet().iterator().next(), SentimentProbe.FP32);
        assertEquals(rows.get(STATIC + BertSamples.REPRESENTATIVE).all(), fp32.all());
        assertEquals(rows.get(STATIC + BertSamples.REPRESENTATIVE).meanCosine(), 1, 1e-9);
        assertTrue(rows.get(STATIC + BertSamples.NOISE).meanCosine() < 0.999);

        String table = probe.table();
        assertEquals(table.lines().count(), 2 + rows.size(), table);
        assertTrue(table.contains(String.format(Locale.ROOT, "| FP32 | %.2f%%",
                100 * fp32.accuracy().get("amazon"))), table);
        String goals = probe.goals(0.3);
        assertTrue(goals.contains("holds for " + STATIC + BertSamples.REPRESENTATIVE + " (+0.00)"),
                goals);
        String summary = CalibrationMistake.summary(rows, STATIC);
        assertTrue(summary.contains("calibrated on a single sentence it scores"), summary);
        assertTrue(CalibrationMistake.isMistake(STATIC + BertSamples.NOISE));
        assertTrue(!CalibrationMistake.isMistake(STATIC + BertSamples.REPRESENTATIVE));
    }

    private static float[] words(String sentence) {
        String lower = sentence.toLowerCase(Locale.ROOT);
        float[] counts = new float[WORDS.size() + 1];
        for (int i = 0; i < WORDS.size(); i++) {
            counts[i] = lower.contains(WORDS.get(i)) ? 1 : 0;
        }
        counts[WORDS.size()] = 1; // never all zero, so the cosine is defined
        return counts;
    }

    private static float[] halved(float[] features) {
        for (int i = 0; i < features.length / 2; i++) {
            features[i] = 0;
        }
        return features;
    }
}
