package org.quantint8.ndarray;

import ai.djl.ndarray.types.DataType;

/**
 * What an INT8 operator returns: real values (FP32), the raw INT32 accumulator, or values
 * requantized to 8 bits under given per-tensor parameters.
 */
public final class Int8Output {

    private static final Int8Output FLOAT32 = new Int8Output(DataType.FLOAT32, null);
    private static final Int8Output INT32 = new Int8Output(DataType.INT32, null);

    private final DataType dataType;
    private final QuantizationParameters quantization;

    private Int8Output(DataType dataType, QuantizationParameters quantization) {
        this.dataType = dataType;
        this.quantization = quantization;
    }

    /**
     * Returns the FP32 output: the accumulator scaled back to real values, plus the bias.
     *
     * @return the output kind
     */
    public static Int8Output float32() {
        return FLOAT32;
    }

    /**
     * Returns the raw INT32 accumulator output, {@code sum (a - zA)(w - zW)}, without scale or
     * bias.
     *
     * @return the output kind
     */
    public static Int8Output int32() {
        return INT32;
    }

    /**
     * Returns an 8-bit output requantized under the given parameters.
     *
     * @param parameters per-tensor INT8 or UINT8 parameters
     * @return the output kind
     * @throws IllegalArgumentException if the parameters are per channel or not 8-bit
     */
    public static Int8Output quantized(QuantizationParameters parameters) {
        DataType type = parameters.getDataType();
        if (parameters.isPerChannel() || (type != DataType.INT8 && type != DataType.UINT8)) {
            throw new IllegalArgumentException(
                    "A quantized output needs per-tensor INT8 or UINT8 parameters, got "
                            + parameters);
        }
        return new Int8Output(type, parameters);
    }

    /**
     * Returns the data type of the output array.
     *
     * @return FLOAT32, INT32, INT8 or UINT8
     */
    public DataType getDataType() {
        return dataType;
    }

    /**
     * Returns the output quantization parameters, or null for FP32 and INT32 outputs.
     *
     * @return the parameters or null
     */
    public QuantizationParameters getQuantization() {
        return quantization;
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return quantization == null ? dataType.toString() : quantization.toString();
    }
}
