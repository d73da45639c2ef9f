package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.PoolKernels;
import org.quantint8.kernels.PoolWindow;
import org.quantint8.kernels.QuantizedStorage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Pooling on quantized NCHW data. Codes of one channel share a scale and zero point, so the max
 * and the mean of codes are the codes of the max and the mean: nothing is dequantized. Max
 * pooling also takes FP32 QuantInt8 arrays (a fused convolution's output), so that they need not
 * go to the FP32 engine for it.
 */
final class PoolOps {

    private PoolOps() {}

    static NDArray maxPool2d(
            NDArray input, Shape kernel, Shape stride, Shape padding, boolean ceilMode) {
        try (Operands ops = new Operands("maxPool2d", input)) {
            boolean real = input.getDataType() == DataType.FLOAT32
                    && !(input instanceof QuantInt8NDArray q && q.isQuantized());
            QuantInt8NDArray x = real ? ops.own(input) : pooledInput(ops, input, 4);
            if (x.getShape().dimension() != 4) {
                throw new IllegalArgumentException("maxPool2d: input must be 4-D [N, C, H, W],"
                        + " got shape " + x.getShape());
            }
            if (kernel == null || kernel.dimension() != 2) {
                throw new IllegalArgumentException(
                        "maxPool2d: kernel must have 2 values, got " + kernel);
            }
            int kh = Math.toIntExact(kernel.get(0));
            int kw = Math.toIntExact(kernel.get(1));
            Shape effectiveStride = stride == null || stride.dimension() == 0 ? kernel : stride;
            ConvGeometry g = ConvGeometry.of("maxPool2d", effectiveStride, padding, null, 1);
            if (kh < 1 || kw < 1 || g.padH() > kh / 2 || g.padW() > kw / 2) {
                throw new IllegalArgumentException(
                        "maxPool2d: kernel " + kernel + " must be positive and padding "
                                + padding + " at most half of it");
            }
            Shape s = x.getShape();
            int planes = Math.toIntExact(s.get(0) * s.get(1));
            int h = Math.toIntExact(s.get(2));
            int w = Math.toIntExact(s.get(3));
            int outH = ConvGeometry.outputSize(h, kh, g.strideH(), g.padH(), 1, ceilMode);
            int outW = ConvGeometry.outputSize(w, kw, g.strideW(), g.padW(), 1, ceilMode);
            if (outH < 1 || outW < 1) {
                throw new IllegalArgumentException(
                        "maxPool2d: kernel " + kernel + " does not fit input " + s);
            }
            // Every output position is the max of a window: all are written.
            QuantInt8NDArray result = ops.overwrittenResult(
                    new Shape(s.get(0), s.get(1), outH, outW),
                    x.getDataType(), real ? null : x.getQuantization());
            MemorySegment src = x.getDataSegment();
            MemorySegment dst = result.getDataSegment();
            if (real) {
                PoolKernels.maxPool(src, dst, planes, new PoolWindow(h, w, outH, outW, kh, kw,
                        g.strideH(), g.strideW(), g.padH(), g.padW()));
                return result;
            }
            QuantizedStorage type = Int8Ops.storage(x.getQuantization());
            long o = 0;
            for (long p = 0; p < planes; p++) {
                long base = p * h * w;
                for (int oh = 0; oh < outH; oh++) {
                    int y0 = Math.max(oh * g.strideH() - g.padH(), 0);
                    int y1 = Math.min(oh * g.strideH() - g.padH() + kh, h);
                    for (int ow = 0; ow < outW; ow++) {
                        int x0 = Math.max(ow * g.strideW() - g.padW(), 0);
                        int x1 = Math.min(ow * g.strideW() - g.padW() + kw, w);
                        int max = type.min();
                        for (int y = y0; y < y1; y++) {
                            for (int xx = x0; xx < x1; xx++) {
                                max = Math.max(max, type.get(src, base + (long) y * w + xx));
                            }
                        }
                        type.set(dst, o++, max);
                    }
                }
            }
            return result;
        }
    }

    static NDArray globalAvgPool(NDArray input) {
        try (Operands ops = new Operands("globalAvgPool", input)) {
            if (input instanceof QuantInt8NDArray real && !real.isQuantized()
                    && real.getDataType() == DataType.FLOAT32) {
                return globalAvgPoolReal(ops, real);
            }
            QuantInt8NDArray x = pooledInput(ops, input, -1);
            Shape s = x.getShape();
            long planes = s.get(0) * s.get(1);
            long area = s.size() / Math.max(planes, 1);
            if (area == 0) {
                throw new IllegalArgumentException(
                        "globalAvgPool: input " + s + " has no spatial elements");
            }
            QuantInt8NDArray result =
                    ops.result(s.slice(0, 2), x.getDataType(), x.getQuantization());
            QuantizedStorage type = Int8Ops.storage(x.getQuantization());
            MemorySegment src = x.getDataSegment();
            for (long p = 0; p < planes; p++) {
                long sum = 0;
                for (long i = p * area, end = i + area; i < end; i++) {
                    sum += type.get(src, i);
                }
                type.set(result.getDataSegment(), p, (int) Math.rint((double) sum / area));
            }
            return result;
        }
    }

    /** FP32: each plane's mean, summed in double and rounded to FP32 once. */
    private static NDArray globalAvgPoolReal(Operands ops, QuantInt8NDArray x) {
        Shape s = x.getShape();
        if (s.dimension() < 3) {
            throw new IllegalArgumentException(
                    "globalAvgPool: input must be at least 3-D [N, C, spatial...], got shape " + s);
        }
        long planes = s.get(0) * s.get(1);
        int area = Math.toIntExact(s.size() / Math.max(planes, 1));
        if (area == 0) {
            throw new IllegalArgumentException(
                    "globalAvgPool: input " + s + " has no spatial elements");
        }
        QuantInt8NDArray result = ops.overwrittenResult(s.slice(0, 2), DataType.FLOAT32, null);
        MemorySegment src = x.getDataSegment();
        float[] plane = new float[area];
        float[] means = new float[Math.toIntExact(planes)];
        for (int p = 0; p < means.length; p++) {
            MemorySegment.copy(src, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) p * area * 4, plane,
                    0, area);
            double sum = 0;
            for (float v : plane) {
                sum += v;
            }
            means[p] = (float) (sum / area);
        }
        MemorySegment.copy(means, 0, result.getDataSegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0,
                means.length);
        return result;
    }

    private static QuantInt8NDArray pooledInput(Operands ops, NDArray input, int rank) {
        QuantInt8NDArray x = ops.quantized("input", input);
        int dims = x.getShape().dimension();
        if (rank > 0 ? dims != rank : dims < 3) {
            throw new IllegalArgumentException(
                    ops.op() + ": input must be " + (rank > 0 ? rank + "-D" : "at least 3-D")
                            + " [N, C, spatial...], got shape " + x.getShape());
        }
        QuantizationParameters q = x.getQuantization();
        if (q.isPerChannel() && q.getAxis() > 1) {
            throw new IllegalArgumentException(
                    ops.op() + ": per-channel quantization along spatial axis " + q.getAxis()
                            + " cannot be pooled");
        }
        return x;
    }
}
