package org.quantint8.kernels.foreign;

import java.lang.invoke.MethodHandle;
import java.util.OptionalDouble;

/**
 * Measures what the GEMM kernels are compared against: the core clock (a chain of dependent
 * 1-cycle adds) and the sustained rate of 512-bit {@code vpdpbusd}. Under virtualization the
 * clock in {@code /proc/cpuinfo} is the nominal rate, not the boost clock the core runs at, so
 * the benchmarks report both. Each probe runs on the calling thread only.
 */
public final class CpuProbe {

    private static final long ADD_ITERATIONS = 200_000_000L;
    private static final long VNNI_ITERATIONS = 50_000_000L;

    private CpuProbe() {}

    /**
     * Measures the clock of the core running the caller, in GHz: best of three runs of 800 M
     * dependent adds (about a quarter of a second each).
     *
     * @return the clock, or empty without the native library
     */
    public static OptionalDouble clockGhz() {
        NativeBindings b = NativeBindings.loaded();
        if (b == null) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(4.0 * ADD_ITERATIONS / bestNanos(b.probeAddChain, ADD_ITERATIONS));
    }

    /**
     * Measures how many 512-bit {@code vpdpbusd} one core retires per nanosecond (best of three
     * runs of 800 M independent instructions). Multiply by 128 for INT8 GOPS.
     *
     * @return the rate, or empty without the library or without AVX-512 VNNI
     */
    public static OptionalDouble vnniPerNanosecond() {
        NativeBindings b = NativeBindings.loaded();
        if (b == null || NativeInt8Kernels.bestIsa() != Isa.AVX512_VNNI) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(16.0 * VNNI_ITERATIONS / bestNanos(b.probeVnni, VNNI_ITERATIONS));
    }

    private static double bestNanos(MethodHandle probe, long iterations) {
        long best = Long.MAX_VALUE;
        for (int run = 0; run < 3; run++) {
            long start = System.nanoTime();
            try {
                long ignored = (long) probe.invokeExact(iterations);
            } catch (Throwable t) {
                throw new IllegalStateException("probe failed", t);
            }
            best = Math.min(best, System.nanoTime() - start);
        }
        return best;
    }
}
