package org.quantint8.it.accuracy;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A compact vocabulary cut from a larger one (GPT-2's BPE): the {@code K} token ids most frequent
 * in a training stream become ids {@code 0..K-1}, most frequent first, and every other id maps to
 * one "rare token" id {@code K}. A model over the {@code K + 1} ids keeps the real tokenization
 * while its embedding and output head shrink by the ratio of the vocabularies.
 */
final class CompactVocabulary {

    private final int[] compactOf;
    private final int kept;

    private CompactVocabulary(int[] compactOf, int kept) {
        this.compactOf = compactOf;
        this.kept = kept;
    }

    /**
     * Keeps the most frequent ids of a token stream; ties go to the smaller id, so the result
     * depends on the stream only.
     *
     * @param tokens the training stream, ids in {@code [0, sourceSize)}
     * @param kept how many ids to keep, {@code K}
     * @param sourceSize the size of the vocabulary the ids come from
     * @return the vocabulary
     * @throws IllegalArgumentException if an id is out of range or the stream has fewer than
     *     {@code kept} distinct ids
     */
    static CompactVocabulary mostFrequent(long[] tokens, int kept, int sourceSize) {
        if (kept < 1 || kept >= sourceSize) {
            throw new IllegalArgumentException("cannot keep " + kept + " of " + sourceSize
                    + " token ids");
        }
        long[] counts = new long[sourceSize];
        for (int i = 0; i < tokens.length; i++) {
            counts[checked(tokens[i], sourceSize, i)]++;
        }
        long distinct = Arrays.stream(counts).filter(c -> c > 0).count();
        if (distinct < kept) {
            throw new IllegalArgumentException("the training stream has " + distinct
                    + " distinct token ids, fewer than the " + kept + " to keep");
        }
        int[] byFrequency = IntStream.range(0, sourceSize).boxed()
                .sorted(Comparator.<Integer>comparingLong(id -> -counts[id])
                        .thenComparingInt(id -> id))
                .mapToInt(Integer::intValue).limit(kept).toArray();
        int[] compactOf = new int[sourceSize];
        Arrays.fill(compactOf, kept);
        for (int c = 0; c < kept; c++) {
            compactOf[byFrequency[c]] = c;
        }
        return new CompactVocabulary(compactOf, kept);
    }

    /**
     * Returns the model's vocabulary size: the kept ids and the rare-token id.
     *
     * @return {@code K + 1}
     */
    int size() {
        return kept + 1;
    }

    /**
     * Returns the id every id not kept maps to.
     *
     * @return {@code K}
     */
    int rareId() {
        return kept;
    }

    /**
     * Maps source ids to compact ids.
     *
     * @param ids source ids
     * @return the compact ids, one per source id
     * @throws IllegalArgumentException if an id is outside the source vocabulary
     */
    long[] map(long[] ids) {
        long[] mapped = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            mapped[i] = compactOf[checked(ids[i], compactOf.length, i)];
        }
        return mapped;
    }

    /**
     * Returns the share of source ids that the vocabulary keeps (maps to something other than the
     * rare-token id).
     *
     * @param ids source ids, at least one
     * @return the coverage, in {@code [0, 1]}
     */
    double coverage(long[] ids) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("no token ids to measure the coverage of");
        }
        return Arrays.stream(map(ids)).filter(id -> id != kept).count() / (double) ids.length;
    }

    private static int checked(long id, int sourceSize, int position) {
        if (id < 0 || id >= sourceSize) {
            throw new IllegalArgumentException("token id " + id + " at position " + position
                    + " is outside the vocabulary of " + sourceSize);
        }
        return (int) id;
    }
}
