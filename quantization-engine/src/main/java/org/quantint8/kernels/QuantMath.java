package org.quantint8.kernels;

/**
 * The scalar arithmetic of affine quantization, shared by every kernel and by calibration so that
 * all of them round the same way.
 *
 * <p>Quantization follows ONNX {@code QuantizeLinear}: divide by the scale, round half to even,
 * add the zero point, saturate to the type's range.
 */
public final class QuantMath {

    private QuantMath() {}

    /**
     * Quantizes one real value.
     *
     * @param x the real value; NaN maps to the zero point
     * @param scale the scale, positive
     * @param zeroPoint the zero point
     * @param quantMin the smallest quantized value
     * @param quantMax the largest quantized value
     * @return the saturated quantized value
     */
    public static int quantize(float x, float scale, int zeroPoint, int quantMin, int quantMax) {
        double q = Math.rint(x / scale) + zeroPoint;
        if (q != q) { // NaN: no meaningful code, use the one that stands for zero
            return zeroPoint;
        }
        // Compare in double so that infinities and huge values saturate instead of wrapping.
        if (q <= quantMin) {
            return quantMin;
        }
        if (q >= quantMax) {
            return quantMax;
        }
        return (int) q;
    }

    /**
     * Returns the real value of a quantized value.
     *
     * @param q the quantized value
     * @param scale the scale
     * @param zeroPoint the zero point
     * @return {@code scale * (q - zeroPoint)}
     */
    public static float dequantize(int q, float scale, int zeroPoint) {
        return scale * (q - zeroPoint);
    }

    /**
     * Quantizes then dequantizes a value ("fake quantization"), the error model of calibration.
     *
     * @param x the real value
     * @param scale the scale
     * @param zeroPoint the zero point
     * @param quantMin the smallest quantized value
     * @param quantMax the largest quantized value
     * @return the nearest representable real value
     */
    public static float fakeQuantize(
            float x, float scale, int zeroPoint, int quantMin, int quantMax) {
        return dequantize(quantize(x, scale, zeroPoint, quantMin, quantMax), scale, zeroPoint);
    }
}
