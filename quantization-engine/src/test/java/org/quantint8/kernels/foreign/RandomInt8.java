package org.quantint8.kernels.foreign;

import org.quantint8.kernels.Int8Matrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Random 8-bit matrices whose values and zero points often sit at the ends of their range. */
final class RandomInt8 {

    private RandomInt8() {}

    static Int8Matrix matrix(Arena arena, Random random, int rows, int cols, boolean signed) {
        int lo = signed ? -128 : 0;
        int hi = signed ? 127 : 255;
        int mode = random.nextInt(4);
        byte[] bytes = new byte[rows * cols];
        for (int i = 0; i < bytes.length; i++) {
            int v = switch (mode) {
                case 0 -> random.nextBoolean() ? lo : hi; // saturated
                case 1 -> hi;                              // constant at the top
                default -> lo + random.nextInt(256);       // uniform
            };
            bytes[i] = (byte) v;
        }
        // Native or heap memory: the kernels must copy heap data before the downcall.
        MemorySegment data = random.nextInt(4) == 0
                ? MemorySegment.ofArray(bytes)
                : arena.allocate(Math.max(1, bytes.length)).copyFrom(MemorySegment.ofArray(bytes));
        int[] zeros = new int[random.nextBoolean() ? 1 : Math.max(1, rows)];
        if (rows == 0) {
            zeros = new int[1];
        }
        for (int i = 0; i < zeros.length; i++) {
            zeros[i] = switch (random.nextInt(4)) {
                case 0 -> lo;
                case 1 -> hi;
                case 2 -> signed ? 0 : 128;
                default -> lo + random.nextInt(256);
            };
        }
        return new Int8Matrix(data, rows, cols, signed, zeros);
    }
}
