package org.quantint8.zoo.weights;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC-32C (Castagnoli) with LevelDB's and TensorFlow's masking, which keeps a CRC stored next to
 * the data it covers from being the CRC of a string that contains it.
 */
final class Crc32c {

    private static final int MASK_DELTA = 0xa282ead8;

    private Crc32c() {}

    /**
     * Returns the CRC-32C of bytes, optionally followed by one more byte.
     *
     * @param data the bytes, from position to limit; the position is not moved
     * @param trailer a byte to append, or -1 for none
     * @return the CRC
     */
    static int of(ByteBuffer data, int trailer) {
        CRC32C crc = new CRC32C();
        crc.update(data.duplicate());
        if (trailer >= 0) {
            crc.update(trailer);
        }
        return (int) crc.getValue();
    }

    /**
     * Masks a CRC for storage: rotated right by 15 bits, plus a constant.
     *
     * @param crc the CRC
     * @return the masked CRC
     */
    static int mask(int crc) {
        return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
    }
}
