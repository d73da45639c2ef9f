package org.quantint8.onnx;

import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * A constant tensor of an ONNX model ({@code TensorProto}): an initializer, or the value of a
 * tensor attribute.
 *
 * <p>Numeric data is held as a read-only little-endian {@link ByteBuffer} in ONNX raw-data layout.
 * Tensors read from a file are views of the file's mapping (or of the external data file), not
 * copies; {@link #getData()} returns a fresh view each time. String tensors hold their elements as
 * a list instead. Instances are immutable.
 */
public final class OnnxTensor {

    private final String name;
    private final OnnxDataType dataType;
    private final long[] dims;
    private final ByteBuffer data;
    private final List<String> strings;
    private final String docString;

    private OnnxTensor(Builder builder) {
        name = builder.name;
        dataType = builder.dataType;
        dims = builder.dims;
        data = builder.data;
        strings = builder.strings;
        docString = builder.docString;
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns a float tensor holding a copy of the values.
     *
     * @param name the tensor name, may be empty
     * @param values the elements in row-major order
     * @param dims the shape; empty for a scalar
     * @return the tensor
     */
    public static OnnxTensor of(String name, float[] values, long... dims) {
        ByteBuffer data = allocate(values.length, 4);
        data.asFloatBuffer().put(values);
        return of(name, OnnxDataType.FLOAT, data, dims);
    }

    /**
     * Returns an int64 tensor holding a copy of the values.
     *
     * @param name the tensor name, may be empty
     * @param values the elements in row-major order
     * @param dims the shape; empty for a scalar
     * @return the tensor
     */
    public static OnnxTensor of(String name, long[] values, long... dims) {
        ByteBuffer data = allocate(values.length, 8);
        data.asLongBuffer().put(values);
        return of(name, OnnxDataType.INT64, data, dims);
    }

    /**
     * Returns an int32 tensor holding a copy of the values.
     *
     * @param name the tensor name, may be empty
     * @param values the elements in row-major order
     * @param dims the shape; empty for a scalar
     * @return the tensor
     */
    public static OnnxTensor of(String name, int[] values, long... dims) {
        ByteBuffer data = allocate(values.length, 4);
        data.asIntBuffer().put(values);
        return of(name, OnnxDataType.INT32, data, dims);
    }

    /**
     * Returns a tensor of any fixed-width type whose data is the given bytes.
     *
     * @param name the tensor name, may be empty
     * @param dataType the element type
     * @param data the raw data, little-endian; used as is, not copied
     * @param dims the shape; empty for a scalar
     * @return the tensor
     */
    public static OnnxTensor of(String name, OnnxDataType dataType, ByteBuffer data, long... dims) {
        return builder().optName(name).setDataType(dataType).setDims(dims).setData(data).build();
    }

    private static ByteBuffer allocate(int count, int width) {
        return ByteBuffer.allocate(Math.multiplyExact(count, width)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Returns the number of elements of a shape.
     *
     * @param dims the dimensions
     * @return their product, 1 for a scalar
     * @throws IllegalArgumentException if a dimension is negative or the product overflows
     */
    public static long elementCount(long[] dims) {
        long count = 1;
        for (long dim : dims) {
            if (dim < 0) {
                throw new IllegalArgumentException(
                        "Dimension " + dim + " of shape " + Arrays.toString(dims) + " is negative");
            }
            try {
                count = Math.multiplyExact(count, dim);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(
                        "Shape " + Arrays.toString(dims) + " has more than 2^63 elements", e);
            }
        }
        return count;
    }

    /**
     * Returns the name; empty for unnamed attribute values.
     *
     * @return the name; empty for unnamed attribute values
     */
    public String getName() {
        return name;
    }

    /**
     * Returns the element type.
     *
     * @return the element type
     */
    public OnnxDataType getDataType() {
        return dataType;
    }

    /**
     * Returns a copy of the dimensions; empty for a scalar.
     *
     * @return a copy of the dimensions; empty for a scalar
     */
    public long[] getDims() {
        return dims.clone();
    }

    /**
     * Returns the shape as a DJL {@link Shape}.
     *
     * @return the shape as a DJL {@link Shape}
     */
    public Shape getShape() {
        return new Shape(dims);
    }

    /**
     * Returns the number of elements.
     *
     * @return the number of elements
     */
    public long getElementCount() {
        return elementCount(dims);
    }

    /**
     * Returns the documentation string; empty if none.
     *
     * @return the documentation string; empty if none
     */
    public String getDocString() {
        return docString;
    }

    /**
     * Returns the data in raw-data layout.
     *
     * @return a new read-only little-endian view, position 0
     * @throws IllegalStateException for string tensors
     */
    public ByteBuffer getData() {
        if (data == null) {
            throw new IllegalStateException(describe() + " holds strings, not raw data");
        }
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Returns the elements of a string tensor.
     *
     * @return the strings, unmodifiable
     * @throws IllegalStateException for other tensors
     */
    public List<String> getStrings() {
        if (strings == null) {
            throw new IllegalStateException(describe() + " is " + dataType + ", not STRING");
        }
        return strings;
    }

    /**
     * Returns the data as floats: FLOAT as is, FLOAT16, BFLOAT16 and DOUBLE converted.
     *
     * @return a new array
     * @throws IllegalStateException for other types
     */
    public float[] toFloatArray() {
        ByteBuffer bytes = getData();
        float[] values = new float[arrayLength()];
        for (int i = 0; i < values.length; i++) {
            values[i] =
                    switch (dataType) {
                        case FLOAT -> bytes.getFloat(4 * i);
                        case DOUBLE -> (float) bytes.getDouble(8 * i);
                        case FLOAT16 -> Float.float16ToFloat(bytes.getShort(2 * i));
                        case BFLOAT16 -> Float.intBitsToFloat(bytes.getShort(2 * i) << 16);
                        default -> throw notConvertible("float");
                    };
        }
        return values;
    }

    /**
     * Returns the data as longs; any integer type and BOOL, UINT64 as its two's complement bits.
     *
     * @return a new array
     * @throws IllegalStateException for other types
     */
    public long[] toLongArray() {
        if (!isWholeByteInteger()) {
            throw notConvertible("long");
        }
        ByteBuffer bytes = getData();
        long[] values = new long[arrayLength()];
        for (int i = 0; i < values.length; i++) {
            values[i] = integerAt(bytes, i);
        }
        return values;
    }

    /**
     * Returns the data as ints; integer types of at most 16 bits, INT32 and BOOL.
     *
     * @return a new array
     * @throws IllegalStateException for other types
     */
    public int[] toIntArray() {
        if (!isWholeByteInteger() || dataType.getBits() > 32 || dataType == OnnxDataType.UINT32) {
            throw notConvertible("int");
        }
        ByteBuffer bytes = getData();
        int[] values = new int[arrayLength()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (int) integerAt(bytes, i);
        }
        return values;
    }

    /**
     * Returns a copy of the raw data.
     *
     * @return a new array in raw-data layout
     * @throws IllegalStateException for string tensors
     */
    public byte[] toByteArray() {
        ByteBuffer bytes = getData();
        byte[] copy = new byte[bytes.remaining()];
        bytes.get(copy);
        return copy;
    }

    @Override
    public String toString() {
        return describe() + " " + dataType + Arrays.toString(dims);
    }

    String describe() {
        return "tensor '" + name + "'";
    }

    private boolean isWholeByteInteger() {
        return switch (dataType) {
            case INT8, UINT8, INT16, UINT16, INT32, UINT32, INT64, UINT64, BOOL -> true;
            default -> false;
        };
    }

    private long integerAt(ByteBuffer bytes, int i) {
        return switch (dataType) {
            case INT8 -> bytes.get(i);
            case UINT8, BOOL -> Byte.toUnsignedLong(bytes.get(i));
            case INT16 -> bytes.getShort(2 * i);
            case UINT16 -> Short.toUnsignedLong(bytes.getShort(2 * i));
            case INT32 -> bytes.getInt(4 * i);
            case UINT32 -> Integer.toUnsignedLong(bytes.getInt(4 * i));
            default -> bytes.getLong(8 * i);
        };
    }

    private int arrayLength() {
        long count = getElementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(describe() + " has too many elements for an array");
        }
        return (int) count;
    }

    private IllegalStateException notConvertible(String target) {
        return new IllegalStateException(
                describe() + " is " + dataType + " and cannot be read as " + target + " values");
    }

    /** Builds {@link OnnxTensor}s; data type, dims and data are required. */
    public static final class Builder {

        private String name = "";
        private OnnxDataType dataType;
        private long[] dims;
        private ByteBuffer data;
        private List<String> strings;
        private String docString = "";

        Builder() {}

        /**
         * Sets the name, required for initializers.
         *
         * @param name the name
         * @return this builder
         */
        public Builder optName(String name) {
            this.name = name;
            return this;
        }

        /**
         * Sets the element type.
         *
         * @param dataType the element type, not {@link OnnxDataType#UNDEFINED}
         * @return this builder
         */
        public Builder setDataType(OnnxDataType dataType) {
            this.dataType = dataType;
            return this;
        }

        /**
         * Sets the dimensions.
         *
         * @param dims the dimensions, each non-negative; none for a scalar
         * @return this builder
         */
        public Builder setDims(long... dims) {
            this.dims = dims.clone();
            return this;
        }

        /**
         * Sets the data of a fixed-width tensor; the buffer is kept, not copied.
         *
         * @param data the remaining bytes, little-endian raw-data layout
         * @return this builder
         */
        public Builder setData(ByteBuffer data) {
            this.data = data.slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
            return this;
        }

        /**
         * Sets the elements of a string tensor.
         *
         * @param strings the elements in row-major order
         * @return this builder
         */
        public Builder setStrings(List<String> strings) {
            this.strings = List.copyOf(strings);
            return this;
        }

        /**
         * Sets the documentation string.
         *
         * @param docString the documentation
         * @return this builder
         */
        public Builder optDocString(String docString) {
            this.docString = docString;
            return this;
        }

        /**
         * Builds the tensor.
         *
         * @return the tensor
         * @throws IllegalArgumentException if a required value is missing, a dimension is
         *     negative, or the data does not hold exactly the elements of the shape
         */
        public OnnxTensor build() {
            if (dataType == null || dataType == OnnxDataType.UNDEFINED || dims == null) {
                throw new IllegalArgumentException(
                        "Tensor '" + name + "' needs a data type and dims");
            }
            long count = elementCount(dims);
            if (dataType == OnnxDataType.STRING) {
                checkCount(strings == null ? -1 : strings.size(), count, "strings");
                data = null;
            } else {
                long expected = storageBytes(count);
                checkCount(data == null ? -1 : data.remaining(), expected, "bytes");
                strings = null;
            }
            return new OnnxTensor(this);
        }

        private long storageBytes(long count) {
            try {
                return dataType.storageBytes(count);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(
                        "Tensor '" + name + "' of shape " + Arrays.toString(dims) + " is too big",
                        e);
            }
        }

        private void checkCount(long actual, long expected, String unit) {
            if (actual != expected) {
                throw new IllegalArgumentException(
                        "Tensor '"
                                + name
                                + "' of type "
                                + dataType
                                + " and shape "
                                + Arrays.toString(dims)
                                + " needs "
                                + expected
                                + " "
                                + unit
                                + " of data, "
                                + (actual < 0 ? "none given" : "got " + actual));
            }
        }
    }
}
