package org.quantint8.calibration;

import ai.djl.ndarray.types.DataType;

import org.quantint8.ndarray.QuantizationParameters;

/**
 * How a real range is mapped onto 8-bit integers.
 *
 * <p>{@link #SYMMETRIC_INT8} fixes the zero point at 0 and is the weight scheme: it keeps the
 * integer dot product free of zero-point cross terms. {@link #ASYMMETRIC_UINT8} spends all 256
 * codes on the observed range and is the activation scheme, because activations after ReLU or
 * GELU are mostly one-signed.
 */
public enum QuantizationScheme {

    /** Signed 8-bit, zero point 0, the larger absolute bound mapped onto 127. */
    SYMMETRIC_INT8(DataType.INT8),

    /** Unsigned 8-bit with a zero point, the range widened to contain zero. */
    ASYMMETRIC_UINT8(DataType.UINT8);

    private final DataType dataType;

    QuantizationScheme(DataType dataType) {
        this.dataType = dataType;
    }

    /**
     * Returns the quantized data type.
     *
     * @return {@link DataType#INT8} or {@link DataType#UINT8}
     */
    public DataType getDataType() {
        return dataType;
    }

    /**
     * Returns whether the zero point is fixed at 0.
     *
     * @return {@code true} for {@link #SYMMETRIC_INT8}
     */
    public boolean isSymmetric() {
        return this == SYMMETRIC_INT8;
    }

    /**
     * Returns the per-tensor parameters that represent a calibrated range under this scheme.
     *
     * @param range the clip range chosen by an observer
     * @return valid parameters; a zero-width range gives scale 1
     */
    public QuantizationParameters parametersFor(CalibrationRange range) {
        return QuantizationParameters.forRange(range.min(), range.max(), dataType);
    }
}
