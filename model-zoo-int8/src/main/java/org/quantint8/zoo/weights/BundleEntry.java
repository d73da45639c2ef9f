package org.quantint8.zoo.weights;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One tensor's entry in a TensorFlow bundle index ({@code BundleEntryProto}): where its bytes are
 * and their checksum.
 *
 * @param dtype the TensorFlow {@code DataType} code (1 is {@code DT_FLOAT})
 * @param shape the dimensions
 * @param shardId the data file holding the bytes
 * @param offset where the bytes start in that file
 * @param size how many bytes
 * @param maskedCrc32c the masked CRC-32C of the bytes
 */
record BundleEntry(int dtype, long[] shape, int shardId, long offset, long size,
        int maskedCrc32c) {

    /**
     * Decodes an entry.
     *
     * @param value the {@code BundleEntryProto} bytes
     * @param source the index file and the tensor name, for messages
     * @return the entry
     * @throws WeightFormatException if it is malformed or describes a sliced tensor
     */
    static BundleEntry decode(ByteBuffer value, String source) throws WeightFormatException {
        ProtoFields fields = new ProtoFields(value, source);
        int dtype = 0;
        long[] shape = new long[0];
        long shard = 0;
        long offset = 0;
        long size = 0;
        int crc = 0;
        while (fields.hasRemaining()) {
            long tag = fields.varint();
            int wireType = (int) (tag & 7);
            switch ((int) (tag >>> 3)) {
                case 1 -> dtype = (int) fields.varint();
                case 2 -> shape = shape(new ProtoFields(fields.delimited(), source + " shape"));
                case 3 -> shard = fields.varint();
                case 4 -> offset = fields.varint();
                case 5 -> size = fields.varint();
                case 6 -> crc = fields.fixed32();
                case 7 -> throw fields.error("sliced (partitioned) tensors are not supported");
                default -> fields.skip(wireType);
            }
        }
        if (shard < 0 || shard > Integer.MAX_VALUE || offset < 0 || size < 0) {
            throw new WeightFormatException(source + ": invalid location shard " + shard
                    + ", offset " + offset + ", size " + size);
        }
        return new BundleEntry(dtype, shape, (int) shard, offset, size, crc);
    }

    /** Decodes a {@code TensorShapeProto}: repeated {@code dim} (2) with {@code size} (1). */
    private static long[] shape(ProtoFields fields) throws WeightFormatException {
        List<Long> dims = new ArrayList<>();
        while (fields.hasRemaining()) {
            long tag = fields.varint();
            if (tag >>> 3 == 3 && fields.varint() != 0) {
                throw fields.error("shape of unknown rank");
            } else if (tag >>> 3 != 2) {
                fields.skip((int) (tag & 7));
                continue;
            }
            ProtoFields dim = new ProtoFields(fields.delimited(), "dimension");
            long size = 0;
            while (dim.hasRemaining()) {
                long dimTag = dim.varint();
                if (dimTag >>> 3 == 1) {
                    size = dim.varint();
                } else {
                    dim.skip((int) (dimTag & 7));
                }
            }
            if (size < 0) {
                throw fields.error("unknown or negative dimension " + size);
            }
            dims.add(size);
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }
}
