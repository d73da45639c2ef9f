package org.quantint8.benchmarks;

import org.quantint8.kernels.foreign.CpuProbe;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Prints the inputs of the single-core VNNI peak: the clock in {@code /proc/cpuinfo}, the clock
 * measured by a dependent-add chain, and the measured rate of 512-bit {@code vpdpbusd}. Run it
 * in the same session as the benchmarks: {@code java -cp ... org.quantint8.benchmarks.VnniPeakProbe}.
 */
public final class VnniPeakProbe {

    private VnniPeakProbe() {}

    /**
     * Runs the probes.
     *
     * @param args ignored
     * @throws Exception if /proc/cpuinfo cannot be read
     */
    public static void main(String[] args) throws Exception {
        String mhz = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter(l -> l.startsWith("cpu MHz")).findFirst().orElse("cpu MHz : ?");
        System.out.println("/proc/cpuinfo " + mhz.replaceAll("\\s+", " "));
        double ghz = CpuProbe.clockGhz().orElse(Double.NaN);
        double rate = CpuProbe.vnniPerNanosecond().orElse(Double.NaN);
        System.out.printf("measured clock (dependent adds): %.3f GHz%n", ghz);
        System.out.printf("zmm vpdpbusd retired: %.3f per ns = %.2f per cycle = %.1f GOPS"
                + " (64 multiply-adds = 128 ops each)%n", rate, rate / ghz, 128 * rate);
        System.out.printf("peak at 1 zmm vpdpbusd per cycle: %.1f GOPS at the measured clock,"
                + " %.1f GOPS at the /proc/cpuinfo clock%n", 128 * ghz,
                128 * Double.parseDouble(mhz.replaceAll(".*:\\s*", "")) / 1000);
    }
}
