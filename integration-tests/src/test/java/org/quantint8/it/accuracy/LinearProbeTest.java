package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertThrows;
import static org.testng.Assert.assertTrue;

import org.testng.annotations.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

public class LinearProbeTest {

    @Test
    public void separatesLinearlySeparableClassesAndNotRandomLabels() {
        Random random = new Random(7);
        List<float[]> features = new ArrayList<>();
        int[] labels = new int[600];
        int[] shuffled = new int[600];
        for (int i = 0; i < labels.length; i++) {
            float[] row = new float[16];
            for (int d = 0; d < row.length; d++) {
                row[d] = (float) random.nextGaussian();
            }
            labels[i] = row[3] - 0.5f * row[7] > 0 ? 1 : 0;
            shuffled[i] = random.nextBoolean() ? 1 : 0;
            features.add(row);
        }
        List<float[]> train = features.subList(0, 500);
        List<float[]> test = features.subList(500, 600);
        LinearProbe probe = LinearProbe.fit(train, Arrays.copyOf(labels, 500));
        double accuracy = probe.accuracy(test, Arrays.copyOfRange(labels, 500, 600));
        assertTrue(accuracy >= 0.95, "accuracy " + accuracy);
        LinearProbe noise = LinearProbe.fit(train, Arrays.copyOf(shuffled, 500));
        double chance = noise.accuracy(test, Arrays.copyOfRange(shuffled, 500, 600));
        assertTrue(chance <= 0.7, "accuracy on random labels " + chance);
    }

    @Test
    public void rejectsMismatchedInput() {
        List<float[]> rows = List.of(new float[] {1, 2}, new float[] {3, 4});
        assertThrows(IllegalArgumentException.class, () -> LinearProbe.fit(rows, new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> LinearProbe.fit(rows, new int[] {1, 2}));
        LinearProbe probe = LinearProbe.fit(rows, new int[] {0, 1});
        assertEquals(probe.accuracy(rows, new int[] {0, 1}), 1.0);
        assertThrows(IllegalArgumentException.class,
                () -> probe.accuracy(List.of(new float[] {1, 2, 3}), new int[] {0}));
    }
}
