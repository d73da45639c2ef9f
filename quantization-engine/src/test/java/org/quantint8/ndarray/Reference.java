package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import org.quantint8.kernels.QuantMath;

import java.util.Random;

/** Independent FP32/double reference computations and random data for the operator tests. */
final class Reference {

    private Reference() {}

    static float[] uniform(Random random, int n, float lo, float hi) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = lo + (hi - lo) * random.nextFloat();
        }
        return x;
    }

    /** The real values a quantized array stands for, computed element by element. */
    static double[] realValues(QuantInt8NDArray q) {
        QuantizationParameters p = q.getQuantization();
        long[] dims = q.getShape().getShape();
        int[] codes = codes(q);
        double[] out = new double[codes.length];
        long inner = 1;
        for (int i = p.getAxis() + 1; i < dims.length && p.isPerChannel(); i++) {
            inner *= dims[i];
        }
        for (int i = 0; i < codes.length; i++) {
            int c = p.isPerChannel() ? (int) ((i / inner) % dims[p.getAxis()]) : 0;
            out[i] = (double) p.getScale(c) * (codes[i] - p.getZeroPoint(c));
        }
        return out;
    }

    /** The integer codes of an 8-bit or 32-bit array. */
    static int[] codes(NDArray q) {
        if (q.getDataType() == DataType.INT32) {
            return q.toIntArray();
        }
        byte[] bytes = q.toByteArray();
        int[] out = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = q.getDataType() == DataType.UINT8 ? bytes[i] & 0xFF : bytes[i];
        }
        return out;
    }

    static int quantize(double real, QuantizationParameters p) {
        return QuantMath.quantize((float) real, p.getScale(0), p.getZeroPoint(0),
                p.getQuantMin(), p.getQuantMax());
    }

    /** Asserts |actual - expected| <= tol * (1 + |expected|) element-wise, naming the index. */
    static void assertClose(float[] actual, double[] expected, double tol, String what) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": length " + actual.length + " != " + expected.length);
        }
        for (int i = 0; i < actual.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= tol * (1 + Math.abs(expected[i])))) {
                throw new AssertionError(
                        what + ": index " + i + " got " + actual[i] + " expected " + expected[i]);
            }
        }
    }
}
