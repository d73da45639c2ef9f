package org.quantint8.it.accuracy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the accuracy suites put their figures: one Markdown section per suite, written to {@code
 * target/accuracy/<id>.md} on every run and, when {@code -Dquantint8.it.accuracyDoc=<file>} names
 * it (normally {@code docs/accuracy.md}), also replaced in place in that document between the
 * markers {@code <!-- begin id -->} and {@code <!-- end id -->}. So the committed document is
 * generated, never typed: each section carries the date, the machine and the configuration.
 */
public final class AccuracyReport {

    private static final Path TARGET =
            Paths.get(System.getProperty("user.dir"), "target", "accuracy");

    private AccuracyReport() {}

    /**
     * Publishes one suite's section.
     *
     * @param id the section's identifier, a word
     * @param title the section's heading
     * @param body the section's Markdown, without heading
     */
    public static void publish(String id, String title, String body) {
        String section = "<!-- begin " + id + " -->\n## " + title + "\n\n" + provenance() + "\n\n"
                + body.strip() + "\n<!-- end " + id + " -->";
        try {
            Files.createDirectories(TARGET);
            writeAtomically(TARGET.resolve(id + ".md"), section + "\n");
            String doc = System.getProperty("quantint8.it.accuracyDoc");
            if (doc != null && !doc.isBlank()) {
                Path file = Paths.get(doc).toAbsolutePath();
                String text = Files.exists(file)
                        ? Files.readString(file, StandardCharsets.UTF_8) : "# Accuracy\n";
                Pattern existing = Pattern.compile("<!-- begin " + Pattern.quote(id)
                        + " -->.*?<!-- end " + Pattern.quote(id) + " -->", Pattern.DOTALL);
                Matcher m = existing.matcher(text);
                text = m.find()
                        ? text.substring(0, m.start()) + section + text.substring(m.end())
                        : text.stripTrailing() + "\n\n" + section + "\n";
                writeAtomically(file, text);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the accuracy report section " + id, e);
        }
    }

    /**
     * Returns one line saying when, where and with what the figures were measured.
     *
     * @return the line
     */
    static String provenance() {
        return String.format(Locale.ROOT, "Measured %s on %s (%d cores visible), JDK %s, %s.",
                LocalDate.now(), cpuModel(), Runtime.getRuntime().availableProcessors(),
                Runtime.version(), ManagementFactory.getOperatingSystemMXBean().getName()
                        + " " + ManagementFactory.getOperatingSystemMXBean().getArch());
    }

    /**
     * Returns the CPU's family, model, stepping and microcode, and which of the vector
     * extensions the numeric libraries choose kernels by it has: the model name alone does not
     * tell one EPYC generation from the next, so a failure seen on another machine can be
     * compared with this one.
     *
     * @return one sentence; what cannot be read is left out
     */
    static String cpuSignature() {
        StringBuilder signature = new StringBuilder("CPU");
        List<String> wanted = List.of("avx2", "avx512f", "avx512_vnni", "avx512_bf16",
                "avx_vnni", "amx_tile");
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/cpuinfo"))) {
                String key = line.contains(":") ? line.substring(0, line.indexOf(':')).strip() : "";
                String value = line.substring(line.indexOf(':') + 1).strip();
                switch (key) {
                    case "cpu family" -> signature.append(" family ").append(value);
                    case "model", "stepping", "microcode" ->
                            signature.append(' ').append(key).append(' ').append(value);
                    case "flags" -> {
                        List<String> flags = List.of(value.split(" "));
                        signature.append(", extensions:");
                        wanted.stream().filter(flags::contains)
                                .forEach(f -> signature.append(' ').append(f));
                        return signature.append('.').toString();
                    }
                    default -> { }
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux: nothing more to say than the provenance line.
        }
        return signature.append('.').toString();
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux: the architecture name below is all we can say.
        }
        return System.getProperty("os.arch");
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path temporary = Files.createTempFile(file.toAbsolutePath().getParent(), ".accuracy-",
                ".tmp");
        try {
            Files.writeString(temporary, text, StandardCharsets.UTF_8);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
