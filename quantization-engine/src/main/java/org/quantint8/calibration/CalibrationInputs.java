package org.quantint8.calibration;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** Argument checks shared by everything that accepts calibration values. */
final class CalibrationInputs {

    private CalibrationInputs() {}

    static float[] requireValues(String tensorName, float[] values) {
        if (values == null) {
            throw new IllegalArgumentException("Tensor '" + tensorName + "': values are null");
        }
        return values;
    }

    static void checkSlice(String tensorName, float[] values, int offset, int length) {
        requireValues(tensorName, values);
        if (offset < 0 || length < 0 || offset > values.length - length) {
            throw new IllegalArgumentException(
                    "Tensor '"
                            + tensorName
                            + "': slice [offset "
                            + offset
                            + ", length "
                            + length
                            + "] is outside an array of "
                            + values.length
                            + " values");
        }
    }

    /** Reads a FLOAT32 array; calibration does not convert silently because that hides bugs. */
    static float[] toFloatArray(String tensorName, NDArray array) {
        if (array == null) {
            throw new IllegalArgumentException("Tensor '" + tensorName + "': array is null");
        }
        DataType type = array.getDataType();
        if (type != DataType.FLOAT32) {
            throw new IllegalArgumentException(
                    "Tensor '"
                            + tensorName
                            + "': calibration observes FLOAT32 arrays, got "
                            + type
                            + "; convert it first with toType(DataType.FLOAT32, false)");
        }
        return array.toFloatArray();
    }
}
