package org.quantint8.onnx;

import ai.djl.ndarray.types.DataType;

/**
 * The element types of ONNX tensors ({@code TensorProto.DataType}), with their storage width, the
 * typed {@code TensorProto} field that may hold their values, and the matching DJL type.
 */
public enum OnnxDataType {
    /** No type set. */
    UNDEFINED(0, 0, TypedField.NONE, DataType.UNKNOWN),
    /** 32-bit IEEE float. */
    FLOAT(1, 32, TypedField.FLOAT_DATA, DataType.FLOAT32),
    /** Unsigned 8-bit integer. */
    UINT8(2, 8, TypedField.INT32_DATA, DataType.UINT8),
    /** Signed 8-bit integer. */
    INT8(3, 8, TypedField.INT32_DATA, DataType.INT8),
    /** Unsigned 16-bit integer. */
    UINT16(4, 16, TypedField.INT32_DATA, DataType.UINT16),
    /** Signed 16-bit integer. */
    INT16(5, 16, TypedField.INT32_DATA, DataType.INT16),
    /** Signed 32-bit integer. */
    INT32(6, 32, TypedField.INT32_DATA, DataType.INT32),
    /** Signed 64-bit integer. */
    INT64(7, 64, TypedField.INT64_DATA, DataType.INT64),
    /** Byte string, UTF-8 by convention; not stored in raw data. */
    STRING(8, 0, TypedField.STRING_DATA, DataType.STRING),
    /** Boolean stored as one byte, 0 or 1. */
    BOOL(9, 8, TypedField.INT32_DATA, DataType.BOOLEAN),
    /** IEEE 754 half-precision float. */
    FLOAT16(10, 16, TypedField.INT32_DATA, DataType.FLOAT16),
    /** 64-bit IEEE float. */
    DOUBLE(11, 64, TypedField.DOUBLE_DATA, DataType.FLOAT64),
    /** Unsigned 32-bit integer. */
    UINT32(12, 32, TypedField.UINT64_DATA, DataType.UINT32),
    /** Unsigned 64-bit integer. */
    UINT64(13, 64, TypedField.UINT64_DATA, DataType.UINT64),
    /** Complex number of two 32-bit floats, real part first. */
    COMPLEX64(14, 64, TypedField.FLOAT_DATA, DataType.COMPLEX64),
    /** Complex number of two 64-bit floats, real part first; DJL has no such type. */
    COMPLEX128(15, 128, TypedField.DOUBLE_DATA, null),
    /** Brain float: the upper 16 bits of a 32-bit float. */
    BFLOAT16(16, 16, TypedField.INT32_DATA, DataType.BFLOAT16),
    /** 8-bit float E4M3, finite-only; DJL has no such type. */
    FLOAT8E4M3FN(17, 8, TypedField.INT32_DATA, null),
    /** 8-bit float E4M3, finite-only, no negative zero; DJL has no such type. */
    FLOAT8E4M3FNUZ(18, 8, TypedField.INT32_DATA, null),
    /** 8-bit float E5M2; DJL has no such type. */
    FLOAT8E5M2(19, 8, TypedField.INT32_DATA, null),
    /** 8-bit float E5M2, finite-only, no negative zero; DJL has no such type. */
    FLOAT8E5M2FNUZ(20, 8, TypedField.INT32_DATA, null),
    /** Unsigned 4-bit integer, two per byte, first in the low bits; DJL has no such type. */
    UINT4(21, 4, TypedField.INT32_DATA, null),
    /** Signed 4-bit integer, two per byte, first in the low bits; DJL has no such type. */
    INT4(22, 4, TypedField.INT32_DATA, null),
    /** 4-bit float E2M1, two per byte; DJL has no such type. */
    FLOAT4E2M1(23, 4, TypedField.INT32_DATA, null),
    /** 8-bit power-of-two scale E8M0; DJL has no such type. */
    FLOAT8E8M0(24, 8, TypedField.INT32_DATA, null),
    /** Unsigned 2-bit integer, four per byte; DJL has no such type. */
    UINT2(25, 2, TypedField.INT32_DATA, null),
    /** Signed 2-bit integer, four per byte; DJL has no such type. */
    INT2(26, 2, TypedField.INT32_DATA, null);

    /** The {@code TensorProto} field, besides {@code raw_data}, that may hold a type's values. */
    enum TypedField {
        /** No typed field; the type cannot hold data. */
        NONE(0),
        /** {@code float_data}, fixed 32-bit. */
        FLOAT_DATA(4),
        /** {@code int32_data}, varint, one storage unit (at most 4 bytes) per value. */
        INT32_DATA(5),
        /** {@code string_data}, length-delimited. */
        STRING_DATA(6),
        /** {@code int64_data}, varint. */
        INT64_DATA(7),
        /** {@code double_data}, fixed 64-bit. */
        DOUBLE_DATA(10),
        /** {@code uint64_data}, varint. */
        UINT64_DATA(11);

        final int fieldNumber;

        TypedField(int fieldNumber) {
            this.fieldNumber = fieldNumber;
        }
    }

    private static final OnnxDataType[] BY_CODE = values();

    private final int code;
    private final int bits;
    private final TypedField typedField;
    private final DataType djlType;

    OnnxDataType(int code, int bits, TypedField typedField, DataType djlType) {
        this.code = code;
        this.bits = bits;
        this.typedField = typedField;
        this.djlType = djlType;
    }

    /**
     * Returns the type with an ONNX code.
     *
     * @param code the {@code TensorProto.DataType} number
     * @return the type, or {@code null} if the code is unknown
     */
    public static OnnxDataType fromCode(long code) {
        // The constants are declared in code order, so the code is the ordinal.
        return code >= 0 && code < BY_CODE.length ? BY_CODE[(int) code] : null;
    }

    /**
     * Returns the ONNX type of a DJL type.
     *
     * @param dataType a DJL type
     * @return the ONNX type
     * @throws IllegalArgumentException if ONNX has no equivalent
     */
    public static OnnxDataType fromDjl(DataType dataType) {
        for (OnnxDataType type : BY_CODE) {
            if (type.djlType == dataType && type != UNDEFINED) {
                return type;
            }
        }
        throw new IllegalArgumentException("No ONNX tensor type for DJL type " + dataType);
    }

    /**
     * Returns the ONNX code of this type.
     *
     * @return the {@code TensorProto.DataType} number
     */
    public int getCode() {
        return code;
    }

    /**
     * Returns the width of one element in bits, 0 for {@link #STRING} and {@link #UNDEFINED}.
     *
     * @return the element width in bits
     */
    public int getBits() {
        return bits;
    }

    /**
     * Tells whether elements of this type have a fixed width and so can be stored in raw data.
     *
     * @return {@code true} for every type but {@link #STRING} and {@link #UNDEFINED}
     */
    public boolean isFixedWidth() {
        return bits > 0;
    }

    /**
     * Tells whether this is a signed integer type, whose {@code int32_data} values are
     * sign-extended.
     *
     * @return {@code true} for INT2, INT4, INT8, INT16, INT32 and INT64
     */
    public boolean isSignedInteger() {
        return this == INT2
                || this == INT4
                || this == INT8
                || this == INT16
                || this == INT32
                || this == INT64;
    }

    /**
     * Returns the matching DJL type.
     *
     * @return the DJL type, or {@code null} if DJL has none (complex128, 8-, 4- and 2-bit types)
     */
    public DataType toDjl() {
        return djlType;
    }

    /**
     * Returns the number of bytes that a given number of elements occupy in raw data, sub-byte
     * types packed and rounded up to whole bytes.
     *
     * @param elementCount the number of elements, non-negative
     * @return the byte count
     * @throws ArithmeticException if the count overflows a {@code long}
     * @throws IllegalStateException for types without a fixed width
     */
    public long storageBytes(long elementCount) {
        if (!isFixedWidth()) {
            throw new IllegalStateException(this + " elements have no fixed width");
        }
        if (bits >= 8) {
            return Math.multiplyExact(elementCount, bits / 8);
        }
        long perByte = 8 / bits;
        return elementCount / perByte + (elementCount % perByte == 0 ? 0 : 1);
    }

    /**
     * Returns the bytes that one value of the typed field stores in raw data.
     *
     * @return 1 to 8 for fixed-width types, 0 for the others
     */
    int typedValueBytes() {
        return switch (typedField) {
            case FLOAT_DATA -> 4;
            case DOUBLE_DATA, INT64_DATA -> 8;
            case UINT64_DATA -> bits / 8;
            // Sub-byte types pack a whole byte of elements into each int32_data value.
            case INT32_DATA -> Math.max(1, bits / 8);
            case NONE, STRING_DATA -> 0;
        };
    }

    TypedField typedField() {
        return typedField;
    }
}
