package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertThrows;

import org.testng.annotations.Test;

public class CompactVocabularyTest {

    // Counts: 5 -> 4, 2 -> 3, 9 -> 2, 1 -> 2, 0 -> 1.
    private static final long[] TRAINING = {5, 2, 9, 5, 1, 2, 5, 0, 9, 2, 1, 5};

    @Test
    public void keepsTheMostFrequentIdsAndMapsTheRestToTheRareId() {
        CompactVocabulary vocabulary = CompactVocabulary.mostFrequent(TRAINING, 3, 10);
        assertEquals(vocabulary.size(), 4);
        assertEquals(vocabulary.rareId(), 3);
        // Most frequent first; 9 and 1 tie at two, the smaller id wins.
        assertEquals(vocabulary.map(new long[] {5, 2, 1, 9, 0, 7}), new long[] {0, 1, 2, 3, 3, 3});
    }

    @Test
    public void coverageIsTheShareOfKeptIds() {
        CompactVocabulary vocabulary = CompactVocabulary.mostFrequent(TRAINING, 3, 10);
        assertEquals(vocabulary.coverage(TRAINING), 9 / 12.0, 1e-12);
        assertEquals(vocabulary.coverage(new long[] {7, 8, 5, 0}), 0.25, 1e-12);
    }

    @Test
    public void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class,
                () -> CompactVocabulary.mostFrequent(TRAINING, 6, 10));
        assertThrows(IllegalArgumentException.class,
                () -> CompactVocabulary.mostFrequent(new long[] {1, 10}, 1, 10));
        CompactVocabulary vocabulary = CompactVocabulary.mostFrequent(TRAINING, 3, 10);
        assertThrows(IllegalArgumentException.class, () -> vocabulary.map(new long[] {-1}));
        assertThrows(IllegalArgumentException.class, () -> vocabulary.coverage(new long[0]));
    }
}
