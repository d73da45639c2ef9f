package org.quantint8.zoo;

import java.util.Locale;

/** The numeric precision of a zoo artifact, its {@value #PROPERTY} property. */
public enum Precision {
    /** The original model, 32-bit floating point weights and activations. */
    FP32,
    /** The model quantized to INT8 (per-channel INT8 weights, activations quantized per call). */
    INT8;

    /** The artifact property holding the precision, for {@code Criteria.optFilter}. */
    public static final String PROPERTY = "precision";

    /**
     * Returns the property value, also the artifact name's suffix.
     *
     * @return {@code fp32} or {@code int8}
     */
    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }
}
