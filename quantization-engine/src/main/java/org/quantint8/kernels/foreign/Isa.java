package org.quantint8.kernels.foreign;

/**
 * The instruction-set levels of the native kernels; the ordinal is the level the C code uses.
 */
public enum Isa {
    /** Plain C compiled for the baseline x86-64: any CPU. */
    PORTABLE("portable"),
    /** AVX2 with exact 16-bit multiplies ({@code vpmaddwd}). */
    AVX2("avx2"),
    /** AVX-512 with VNNI ({@code vpdpbusd}). */
    AVX512_VNNI("avx512-vnni");

    private final String label;

    Isa(String label) {
        this.label = label;
    }

    /**
     * Returns the lower-case name used in logs and benchmark parameters.
     *
     * @return the label
     */
    public String label() {
        return label;
    }
}
