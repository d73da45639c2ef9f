package org.quantint8.onnx;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Seeded mutations of encoded ONNX models, shared by the fuzz tests of the reader and of the
 * whole loading path.
 */
public final class ModelMutator {

    private ModelMutator() {}

    /**
     * Applies one random mutation: a bit flip, a byte change, a truncation, an insertion or a
     * deletion of a few bytes, or a huge value written over a length prefix.
     *
     * @param bytes the encoded model
     * @param random the seeded source of the mutation
     * @param prefixes the length prefixes of the original encoding
     * @param log receives a description of the mutation
     * @return the mutated copy; {@code bytes} is not modified
     */
    public static byte[] mutate(
            byte[] bytes, Random random, List<int[]> prefixes, StringBuilder log) {
        if (bytes.length == 0) {
            return bytes;
        }
        int at = random.nextInt(bytes.length);
        byte[] copy = bytes.clone();
        switch (random.nextInt(6)) {
            case 0 -> {
                copy[at] ^= (byte) (1 << random.nextInt(8));
                log.append(", bit flip at ").append(at);
            }
            case 1 -> {
                copy[at] = (byte) random.nextInt(256);
                log.append(", byte change at ").append(at);
            }
            case 2 -> {
                log.append(", truncate to ").append(at);
                return Arrays.copyOf(bytes, at);
            }
            case 3 -> {
                byte[] inserted = new byte[1 + random.nextInt(8)];
                random.nextBytes(inserted);
                log.append(", insert ").append(inserted.length).append(" at ").append(at);
                return splice(bytes, at, 0, inserted);
            }
            case 4 -> {
                int length = Math.min(1 + random.nextInt(8), bytes.length - at);
                log.append(", delete ").append(length).append(" at ").append(at);
                return splice(bytes, at, length, new byte[0]);
            }
            default -> {
                // Only meaningful on the original layout; after other mutations it is one more
                // corruption among others.
                int[] prefix = prefixes.get(random.nextInt(prefixes.size()));
                if (prefix[0] + prefix[1] > bytes.length) {
                    return copy;
                }
                long[] huge = {Integer.MAX_VALUE, 1L << 32, Long.MAX_VALUE, -1L, 1L << 20};
                long value = huge[random.nextInt(huge.length)];
                log.append(", length at ").append(prefix[0]).append(" = ").append(value);
                return splice(bytes, prefix[0], prefix[1], varint(value));
            }
        }
        return copy;
    }

    private static byte[] splice(byte[] bytes, int at, int removed, byte[] inserted) {
        byte[] result = new byte[bytes.length - removed + inserted.length];
        System.arraycopy(bytes, 0, result, 0, at);
        System.arraycopy(inserted, 0, result, at, inserted.length);
        System.arraycopy(
                bytes, at + removed, result, at + inserted.length, bytes.length - at - removed);
        return result;
    }

    private static byte[] varint(long value) {
        ProtoWriter writer = new ProtoWriter();
        writer.writeVarint(value);
        return writer.toByteArray();
    }

    /**
     * Returns {offset, size} of every length prefix of an encoded message, recursing into
     * payloads that parse as messages.
     *
     * @param bytes the encoding
     * @return the length prefixes
     */
    public static List<int[]> lengthPrefixes(byte[] bytes) {
        List<int[]> out = new ArrayList<>();
        collectLengthPrefixes(bytes, 0, bytes.length, out, 0);
        return out;
    }

    private static void collectLengthPrefixes(
            byte[] bytes, int from, int to, List<int[]> out, int depth) {
        ProtoReader in =
                new ProtoReader(ByteBuffer.wrap(bytes, from, to - from), new DecodeContext("scan"));
        try {
            while (in.hasMore()) {
                int tag = in.readTag();
                if (ProtoReader.wireType(tag) != ProtoReader.LEN) {
                    in.skipField(tag);
                    continue;
                }
                int prefix = in.position();
                ByteBuffer payload = in.readBytes(tag, "payload");
                int payloadStart = in.position() - payload.remaining();
                out.add(new int[] {from + prefix, payloadStart - prefix});
                if (depth < 20) {
                    collectLengthPrefixes(
                            bytes, from + payloadStart, from + in.position(), out, depth + 1);
                }
            }
        } catch (OnnxFormatException e) {
            // not a message: strings and tensor data end the scan of this payload
        }
    }

}
