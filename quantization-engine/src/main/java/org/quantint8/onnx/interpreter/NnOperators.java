package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.OperatorSupport.axis;
import static org.quantint8.onnx.interpreter.OperatorSupport.input;
import static org.quantint8.onnx.interpreter.OperatorSupport.optionalInput;
import static org.quantint8.onnx.interpreter.OperatorSupport.single;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.ndarray.Int8Ops;
import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.onnx.OnnxNode;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Neural-network operators: {@code MatMul}, {@code Gemm}, {@code Conv}, the poolings and the
 * normalizations ({@code BatchNormalization} in inference mode, {@code LayerNormalization}).
 */
final class NnOperators {

    private NnOperators() {}

    static void register(OperatorRegistry registry) {
        registry.register("", "MatMul", (c, n, in) -> single(input(in, 0).matMul(input(in, 1))));
        registry.register("", "Gemm", NnOperators::gemm);
        registry.register("", "Conv", NnOperators::conv);
        registry.register("", "MaxPool", (c, n, in) -> pool(n, in, true));
        registry.register("", "AveragePool", (c, n, in) -> pool(n, in, false));
        registry.register("", "GlobalAveragePool", (c, n, in) -> global(in, false));
        registry.register("", "GlobalMaxPool", (c, n, in) -> global(in, true));
        registry.register("", "BatchNormalization", NnOperators::batchNorm);
        registry.register("", "LayerNormalization",
                OnnxOperator.readingInPlace(NnOperators::layerNorm, 1, 2));
    }

    /** {@code alpha * A' * B' + beta * C}, A' and B' optionally transposed. */
    private static NDList gemm(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray a = input(inputs, 0);
        NDArray b = input(inputs, 1);
        NDArray c = optionalInput(inputs, 2);
        float alpha = node.getFloat("alpha", 1f);
        float beta = node.getFloat("beta", 1f);
        try (NDList temps = new NDList()) {
            NDArray left = node.getInt("transA", 0) != 0 ? keep(temps, a.transpose()) : a;
            NDArray right = node.getInt("transB", 0) != 0 ? keep(temps, b.transpose()) : b;
            NDArray y = left.matMul(right);
            if (alpha != 1f) {
                y = keep(temps, y).mul(alpha);
            }
            if (c != null && beta != 0f) {
                NDArray bias = beta == 1f ? c : keep(temps, c.mul(beta));
                y = keep(temps, y).add(bias);
            }
            return single(y);
        }
    }

    /** Adds a temporary to a list closed at the end of the operator. */
    private static NDArray keep(NDList temps, NDArray array) {
        temps.add(array);
        return array;
    }

    private static NDList conv(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        NDArray w = input(inputs, 1);
        NDArray bias = optionalInput(inputs, 2);
        int spatial = x.getShape().dimension() - 2;
        long[] kernel = Arrays.copyOfRange(w.getShape().getShape(), 2, w.getShape().dimension());
        if (spatial < 1 || kernel.length != spatial) {
            throw new IllegalArgumentException(
                    "Conv input " + x.getShape() + " and weight " + w.getShape() + " do not fit");
        }
        long[] strides = node.getInts("strides", ones(spatial));
        long[] dilations = node.getInts("dilations", ones(spatial));
        SpatialPadding padding = SpatialPadding.of(node, x.getShape(), kernel, strides, dilations);
        try (NDList temps = new NDList()) {
            NDArray padded = padding.padExplicitly(x, 0);
            if (padded != x) {
                temps.add(padded);
            }
            NDList out =
                    padded.getNDArrayInternal()
                            .convolution(
                                    padded,
                                    w,
                                    bias,
                                    new Shape(strides),
                                    padding.symmetric(),
                                    new Shape(dilations),
                                    (int) node.getInt("group", 1));
            return single(out.singletonOrThrow());
        }
    }

    private static NDList pool(OnnxNode node, List<NDArray> inputs, boolean max) {
        NDArray x = input(inputs, 0);
        int spatial = x.getShape().dimension() - 2;
        long[] kernel = node.getInts("kernel_shape", null);
        if (kernel == null || kernel.length != spatial) {
            throw new IllegalArgumentException("kernel_shape does not fit input " + x.getShape());
        }
        long[] strides = node.getInts("strides", ones(spatial));
        long[] dilations = node.getInts("dilations", ones(spatial));
        if (Arrays.stream(dilations).anyMatch(d -> d != 1)) {
            throw new IllegalArgumentException("pooling dilations other than 1 are not supported");
        }
        boolean ceil = node.getInt("ceil_mode", 0) != 0;
        boolean countPads = node.getInt("count_include_pad", 0) != 0;
        SpatialPadding padding = SpatialPadding.of(node, x.getShape(), kernel, strides, dilations);
        if (!max && padding.extra() != null && !countPads) {
            throw new IllegalArgumentException(
                    "asymmetric AveragePool padding without count_include_pad is not supported");
        }
        NDArray padded = padding.padExplicitly(x, max ? Double.NEGATIVE_INFINITY : 0);
        try {
            Shape k = new Shape(kernel);
            Shape s = new Shape(strides);
            return single(
                    max
                            ? padded.getNDArrayInternal().maxPool(k, s, padding.symmetric(), ceil)
                            : padded.getNDArrayInternal()
                                    .avgPool(k, s, padding.symmetric(), ceil, countPads));
        } finally {
            if (padded != x) {
                padded.close();
            }
        }
    }

    private static NDList global(List<NDArray> inputs, boolean max) {
        NDArray x = input(inputs, 0);
        if (!max && x instanceof QuantInt8NDArray q && !q.isQuantized()
                && q.getDataType() == DataType.FLOAT32 && q.getShape().dimension() >= 3) {
            // A fused convolution's result left in QuantInt8 memory (ResNet's last block): pooled
            // there, with no copy to PyTorch and back. ONNX keeps the pooled axes as size 1.
            long[] kept = x.getShape().getShape().clone();
            Arrays.fill(kept, 2, kept.length, 1L);
            try (NDArray pooled = Int8Ops.globalAvgPool(q)) {
                return single(pooled.reshape(new Shape(kept)));
            }
        }
        int[] axes = IntStream.range(2, x.getShape().dimension()).toArray();
        return single(
                ReductionOperators.reduce(x, axes, true, max ? NDArray::max : NDArray::mean));
    }

    /** Inference: {@code (x - mean) / sqrt(var + epsilon) * scale + bias} per channel (axis 1). */
    private static NDList batchNorm(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        float epsilon = node.getFloat("epsilon", 1e-5f);
        if (node.getInt("training_mode", 0) != 0) {
            throw new IllegalArgumentException("BatchNormalization in training mode");
        }
        long[] dims = new long[x.getShape().dimension() - 1];
        Arrays.fill(dims, 1);
        dims[0] = -1;
        Shape channel = new Shape(dims);
        try (NDArray std = input(inputs, 4).add(epsilon).sqrt();
                NDArray factor = input(inputs, 1).div(std);
                NDArray shift = input(inputs, 2).sub(input(inputs, 3).mul(factor));
                NDArray f = factor.reshape(channel);
                NDArray b = shift.reshape(channel);
                NDArray scaled = x.mul(f)) {
            return single(scaled.add(b));
        }
    }

    /**
     * Normalizes over the axes from {@code axis} on, then scales and shifts: FP32 in Java ({@link
     * TransformerOperators#layerNorm}), other types as a chain of operators.
     */
    static NDList layerNorm(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        int rank = x.getShape().dimension();
        int axis = axis(node.getInt("axis", -1), rank);
        NDList inJava = TransformerOperators.layerNorm(context, node, inputs, axis);
        if (inJava != null) {
            return inJava;
        }
        float epsilon = node.getFloat("epsilon", 1e-5f);
        int[] axes = IntStream.range(axis, rank).toArray();
        NDArray bias = optionalInput(inputs, 2);
        try (NDArray mean = ReductionOperators.reduce(x, axes, true, NDArray::mean);
                NDArray centered = x.sub(mean);
                NDArray squared = centered.mul(centered);
                NDArray variance =
                        ReductionOperators.reduce(squared, axes, true, NDArray::mean);
                NDArray std = variance.add(epsilon).sqrt();
                NDArray normalized = centered.div(std);
                NDArray scaled = normalized.mul(input(inputs, 1))) {
            return single(bias == null ? scaled.duplicate() : scaled.add(bias));
        }
    }

    private static long[] ones(int n) {
        long[] values = new long[n];
        Arrays.fill(values, 1);
        return values;
    }
}
