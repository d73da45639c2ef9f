package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Carries quantization parameters through DJL's NDArray encoding.
 *
 * <p>The parameters follow the standard encoding as a trailer ({@code params, length, magic}) so
 * that the bytes stay readable by every DJL engine: they decode the data and stop before the
 * trailer.
 */
final class QuantizedEncoding {

    private static final byte[] TRAILER_MAGIC = {'Q', 'I', '8', 'T'};
    private static final int TRAILER_FIXED = 4 + TRAILER_MAGIC.length;

    private QuantizedEncoding() {}

    static byte[] encode(byte[] standard, QuantizationParameters parameters) {
        if (parameters == null) {
            return standard;
        }
        byte[] params = parameters.encode();
        ByteBuffer bb = ByteBuffer.allocate(standard.length + params.length + TRAILER_FIXED);
        bb.put(standard).put(params).putInt(params.length).put(TRAILER_MAGIC);
        return bb.array();
    }

    static NDArray decode(QuantInt8NDManager manager, byte[] bytes) {
        int n = bytes.length;
        if (n < TRAILER_FIXED
                || !Arrays.equals(bytes, n - TRAILER_MAGIC.length, n, TRAILER_MAGIC, 0, 4)) {
            return manager.from(manager.decodeStandard(bytes));
        }
        int paramsLength = ByteBuffer.wrap(bytes, n - TRAILER_FIXED, 4).getInt();
        if (paramsLength <= 0 || paramsLength > n - TRAILER_FIXED) {
            throw new IllegalArgumentException(
                    "Malformed quantized NDArray encoding: parameter length " + paramsLength);
        }
        int standardLength = n - TRAILER_FIXED - paramsLength;
        QuantizationParameters params =
                QuantizationParameters.decode(ByteBuffer.wrap(bytes, standardLength, paramsLength));
        QuantInt8NDArray array =
                manager.from(manager.decodeStandard(Arrays.copyOf(bytes, standardLength)));
        try {
            array.setQuantization(params);
        } catch (IllegalArgumentException e) {
            array.close();
            throw e;
        }
        return array;
    }
}
