package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

import java.util.function.Supplier;

/**
 * DJL's operator surface for QuantInt8 arrays: the operators DJL blocks call ({@code Linear},
 * {@code Conv2d}, activations, pooling, {@code Embedding}) run in INT8 when their weights or
 * inputs are quantized, and everything else goes to the alternative engine, whose results are
 * copied back so that the next block again dispatches here.
 */
final class QuantInt8NDArrayEx extends ForwardingNDArrayEx {

    private final QuantInt8NDArray array;

    QuantInt8NDArrayEx(QuantInt8NDArray array, Supplier<NDArrayEx> alternative) {
        super(alternative);
        this.array = array;
    }

    /** {@inheritDoc} */
    @Override
    protected NDArray adopt(NDArray result) {
        if (result == null || result instanceof QuantInt8NDArray) {
            return result;
        }
        NDArray adopted = array.getManager().from(result);
        adopted.setName(result.getName());
        // An operation may hand back its input, the alternative copy of this array: keep that.
        if (result != delegate().getArray()) {
            result.close();
        }
        return adopted;
    }

    /** {@inheritDoc} */
    @Override
    public NDArray getArray() {
        return array;
    }

    /** {@inheritDoc} */
    @Override
    public NDList linear(NDArray input, NDArray weight, NDArray bias) {
        if (isQuantized(weight)) {
            return new NDList(Int8Ops.linear(input, weight, bias, Int8Output.float32()));
        }
        return super.linear(input, weight, bias);
    }

    /** {@inheritDoc} */
    @Override
    public NDList convolution(
            NDArray input,
            NDArray weight,
            NDArray bias,
            Shape stride,
            Shape padding,
            Shape dilation,
            int groups) {
        if (isQuantized(weight)) {
            if (weight.getShape().dimension() != 4) {
                throw new UnsupportedOperationException(
                        "QuantInt8 runs 2-D INT8 convolutions only; the quantized weight has shape "
                                + weight.getShape());
            }
            return new NDList(
                    Int8Ops.conv2d(
                            input, weight, bias, stride, padding, dilation, groups,
                            Int8Output.float32()));
        }
        return super.convolution(input, weight, bias, stride, padding, dilation, groups);
    }

    /**
     * {@inheritDoc}
     *
     * <p>PyTorch's batch norm re-attaches its result to the manager of its input when the axis is
     * not 1, which fails for a QuantInt8 manager: it is given its own copy of this array instead.
     */
    @Override
    public NDList batchNorm(NDArray input, NDArray runningMean, NDArray runningVar,
            NDArray gamma, NDArray beta, int axis, float momentum, float eps, boolean training) {
        NDArray alternative = input == array ? delegate().getArray() : input;
        return adopt(delegate().batchNorm(alternative, runningMean, runningVar, gamma, beta, axis,
                momentum, eps, training));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray relu() {
        return array.isQuantized() ? Int8Ops.relu(array) : super.relu();
    }

    /** {@inheritDoc} */
    @Override
    public NDArray maxPool(Shape kernelShape, Shape stride, Shape padding, boolean ceilMode) {
        if (array.isQuantized()) {
            return Int8Ops.maxPool2d(array, kernelShape, stride, padding, ceilMode);
        }
        return super.maxPool(kernelShape, stride, padding, ceilMode);
    }

    /** {@inheritDoc} */
    @Override
    public NDArray globalAvgPool() {
        return array.isQuantized() ? Int8Ops.globalAvgPool(array) : super.globalAvgPool();
    }

    /** {@inheritDoc} */
    @Override
    public NDList embedding(NDArray input, NDArray weight, SparseFormat sparse) {
        if (isQuantized(weight)) {
            return new NDList(Int8Ops.gather(weight, input));
        }
        return super.embedding(input, weight, sparse);
    }

    private static boolean isQuantized(NDArray x) {
        return x instanceof QuantInt8NDArray q && q.isQuantized();
    }
}
