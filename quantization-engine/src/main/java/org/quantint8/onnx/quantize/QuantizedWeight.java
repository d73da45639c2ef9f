package org.quantint8.onnx.quantize;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.calibration.Granularity;
import org.quantint8.calibration.Observer;
import org.quantint8.calibration.PerChannelObserver;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationError;
import org.quantint8.kernels.QuantMath;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A weight quantized for an integer operator: its 8-bit codes in the layout the operator reads
 * ([K, N] for {@code MatMulInteger}, [OC, C / group, KH, KW] for {@code ConvInteger}, [rows, dim]
 * for an embedding table, also when a tied head reads it through a {@code Transpose}) and one
 * scale and zero point per output channel (or one for the tensor).
 *
 * @param codes the codes, named after the original weight with a {@code _quantized} suffix
 * @param parameters the parameters, with the channel axis of {@code codes}
 * @param sqnrDb the signal-to-quantization-noise ratio of the weight, in dB
 */
record QuantizedWeight(OnnxTensor codes, QuantizationParameters parameters, double sqnrDb) {

    /**
     * Returns whether a site's weight is quantized per output channel: when the configuration
     * asks for it, except for an embedding table whose rows the integer form cannot scale one by
     * one. A table is dequantized row by row with {@code Unsqueeze(axes = [-1])} (negative axes
     * need opset 11) and without zero points (a symmetric scheme). A table read through a {@code
     * Transpose} (a tied head) follows the same rule as the table read by {@code Gather}, so that
     * the two share one quantized copy.
     *
     * @param site the site
     * @param config the configuration
     * @param opset the model's default opset
     * @return {@code true} for one scale per output channel
     */
    static boolean perChannel(QuantizableSite site, QuantizationConfig config, long opset) {
        boolean table = site.kind() == QuantizableSite.Kind.GATHER || site.transpose() != null;
        return config.getWeightGranularity() == Granularity.PER_CHANNEL
                && (!table || config.getWeightScheme().isSymmetric() && opset >= 11);
    }

    /**
     * Returns what identifies the quantized form of a site's weight: sites with equal keys (a
     * table read by {@code Gather} and by a tied head) store one quantized copy.
     *
     * @param site the site
     * @param perChannel whether the weight is quantized per output channel
     * @return the key
     */
    static String sharingKey(QuantizableSite site, boolean perChannel) {
        return site.weight().getName() + '|' + (perChannel ? site.weightChannelAxis() : -1)
                + (storedTransposed(site) ? "|transposed" : "");
    }

    /**
     * Quantizes the weight of a site with the config's weight scheme and observer.
     *
     * @param site the site
     * @param config the configuration
     * @param perChannel whether to quantize per output channel ({@link #perChannel})
     * @return the quantized weight
     */
    static QuantizedWeight of(QuantizableSite site, QuantizationConfig config, boolean perChannel) {
        OnnxTensor weight = site.weight();
        float[] values = weight.toFloatArray();
        Shape shape = weight.getShape();
        int axis = site.weightChannelAxis();
        QuantizationParameters params;
        if (perChannel) {
            PerChannelObserver observer = new PerChannelObserver(
                    weight.getName(), config.getWeightScheme(), axis, config.getWeightObserver());
            observer.observe(values, shape);
            params = observer.computeParameters();
        } else {
            Observer observer = config.getWeightObserver()
                    .create(weight.getName(), config.getWeightScheme());
            observer.observe(values);
            params = observer.computeParameters();
        }
        double sqnr = QuantizationError.sqnrDb(
                values, QuantizationError.fakeQuantize(values, shape, params));
        byte[] codes = quantize(values, shape, params);
        long[] dims = weight.getDims();
        // A transposed Gemm weight [N, K] is stored as [K, N], the layout MatMulInteger reads.
        if (storedTransposed(site)) {
            codes = transpose(codes, (int) dims[0], (int) dims[1]);
            dims = new long[] {dims[1], dims[0]};
            params = params.withAxis(1);
        }
        OnnxDataType type = params.getDataType() == DataType.INT8
                ? OnnxDataType.INT8
                : OnnxDataType.UINT8;
        ByteBuffer data = ByteBuffer.wrap(codes).order(ByteOrder.LITTLE_ENDIAN);
        OnnxTensor tensor = OnnxTensor.of(weight.getName() + "_quantized", type, data, dims);
        return new QuantizedWeight(tensor, params, sqnr);
    }

    /** A Gemm weight [N, K] is stored as [K, N]; a table read through a Transpose stays [N, K]. */
    private static boolean storedTransposed(QuantizableSite site) {
        return site.kind() == QuantizableSite.Kind.GEMM && site.weightChannelAxis() == 0;
    }

    private static byte[] quantize(float[] values, Shape shape, QuantizationParameters p) {
        long inner = 1;
        for (int i = p.getAxis() + 1; p.isPerChannel() && i < shape.dimension(); i++) {
            inner *= shape.get(i);
        }
        int channels = p.getChannelCount();
        byte[] codes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            int c = p.isPerChannel() ? (int) ((i / inner) % channels) : 0;
            codes[i] = (byte) QuantMath.quantize(values[i], p.getScale(c), p.getZeroPoint(c),
                    p.getQuantMin(), p.getQuantMax());
        }
        return codes;
    }

    private static byte[] transpose(byte[] codes, int rows, int cols) {
        byte[] out = new byte[codes.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = codes[r * cols + c];
            }
        }
        return out;
    }

    /**
     * Returns the same weight as UINT8 codes {@code q + 128} with zero point 128.
     *
     * @return the shifted weight
     * @throws IllegalStateException if the weight is not symmetric INT8
     */
    QuantizedWeight shiftedToUint8() {
        if (parameters.getDataType() != DataType.INT8 || !symmetric()) {
            throw new IllegalStateException("only symmetric INT8 weights can be shifted");
        }
        ByteBuffer src = codes.getData();
        byte[] shifted = new byte[src.remaining()];
        for (int i = 0; i < shifted.length; i++) {
            shifted[i] = (byte) (src.get(src.position() + i) + 128);
        }
        int[] zeros = new int[parameters.getChannelCount()];
        java.util.Arrays.fill(zeros, 128);
        QuantizationParameters p = parameters.isPerChannel()
                ? QuantizationParameters.perChannel(
                        parameters.getScales(), zeros, parameters.getAxis(), DataType.UINT8)
                : QuantizationParameters.perTensor(parameters.getScale(0), 128, DataType.UINT8);
        OnnxTensor tensor = OnnxTensor.of(codes.getName(), OnnxDataType.UINT8,
                ByteBuffer.wrap(shifted).order(ByteOrder.LITTLE_ENDIAN), codes.getDims());
        return new QuantizedWeight(tensor, p, sqnrDb);
    }

    /**
     * Returns, per output channel, the sum of the zero-point-centred codes {@code sum_k (q[k, n] -
     * z[n])} of a 2-D weight: what an activation zero point multiplies in the accumulator of
     * {@code MatMulInteger}, computed once here so that it can be subtracted exactly per row.
     *
     * @param channelAxis the axis of {@code codes} that holds the output channels (1 for [K, N], 0
     *     for a table [N, K] read through a {@code Transpose})
     * @return one sum per output channel
     */
    int[] centredChannelSums(int channelAxis) {
        long[] dims = codes.getDims();
        int rows = (int) dims[0];
        int cols = (int) dims[1];
        int[] values = codes.toIntArray();
        int[] zeros = parameters.getZeroPoints();
        int[] sums = new int[channelAxis == 0 ? rows : cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int channel = channelAxis == 0 ? r : c;
                sums[channel] += values[r * cols + c] - zeros[zeros.length == 1 ? 0 : channel];
            }
        }
        return sums;
    }

    /**
     * Returns the scale of each output channel, one value when quantized per tensor.
     *
     * @return the scales
     */
    float[] scales() {
        return parameters.getScales();
    }

    /**
     * Returns whether every zero point is 0, so that the integer operator may omit it.
     *
     * @return {@code true} for symmetric weights
     */
    boolean symmetric() {
        for (int z : parameters.getZeroPoints()) {
            if (z != 0) {
                return false;
            }
        }
        return true;
    }
}
