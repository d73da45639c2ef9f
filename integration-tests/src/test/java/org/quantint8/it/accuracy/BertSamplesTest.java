package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertNotEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import org.testng.annotations.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

public class BertSamplesTest {

    private static final List<long[]> REAL = List.of(new long[] {101, 2023, 2003, 102},
            new long[] {101, 7592, 1010, 2088, 999, 102});

    @Test
    public void noiseKeepsLengthsAndFrameAndDrawsWordPieces() {
        List<long[]> noise = BertSamples.noise(REAL, new Random(1));
        assertEquals(noise.size(), REAL.size());
        for (int r = 0; r < REAL.size(); r++) {
            long[] real = REAL.get(r);
            long[] row = noise.get(r);
            assertEquals(row.length, real.length);
            assertEquals(row[0], 101L);
            assertEquals(row[row.length - 1], 102L);
            for (int i = 1; i < row.length - 1; i++) {
                assertTrue(row[i] >= 999 && row[i] < 30522, "id " + row[i]);
            }
            assertNotEquals(Arrays.copyOfRange(row, 1, row.length - 1),
                    Arrays.copyOfRange(real, 1, real.length - 1));
        }
    }

    @Test
    public void inputsAreOneBatchNamedLikeTheGraph() {
        try (NDManager manager = NDManager.newBaseManager()) {
            List<long[]> rows = List.of(REAL.get(0), REAL.get(0).clone());
            NDList inputs = BertSamples.inputs(manager, rows);
            assertEquals(inputs.get("input_ids").getShape(), new Shape(2, 4));
            assertEquals(inputs.get("input_ids").toLongArray()[5], 2023L);
            assertEquals(inputs.get("attention_mask").sum().getLong(), 8L);
            assertEquals(inputs.get("token_type_ids").sum().getLong(), 0L);
        }
    }

    @Test
    public void inputsRefuseRowsOfDifferentLengths() {
        try (NDManager manager = NDManager.newBaseManager()) {
            IllegalArgumentException e = expectThrows(IllegalArgumentException.class,
                    () -> BertSamples.inputs(manager, REAL));
            assertTrue(e.getMessage().contains("row 1 has 6 tokens"), e.getMessage());
        }
    }
}
