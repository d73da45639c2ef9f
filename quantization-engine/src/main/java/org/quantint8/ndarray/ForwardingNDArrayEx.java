package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDArrayIndexer;
import ai.djl.ndarray.internal.NDArrayEx;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.recurrent.RNN;

import java.util.List;
import java.util.function.Supplier;

/**
 * An {@link NDArrayEx} that forwards every operation to another one, the alternative engine's.
 *
 * <p>{@code NDArrayEx} is an interface, so the operators the engine owns cannot be picked by
 * inheritance alone: subclasses override just those ({@link QuantInt8NDArrayEx}) and this class
 * passes everything else on. Results come back through {@link #adopt(NDArray)}, so that a chain
 * of DJL blocks stays in the engine and the next {@code Linear} or {@code Conv2d} still reaches
 * the INT8 operators. The delegate is obtained lazily because creating it copies the array into
 * the alternative engine, which an INT8 operator never needs.
 */
abstract class ForwardingNDArrayEx implements NDArrayEx {

    private final Supplier<NDArrayEx> delegateSupplier;
    private NDArrayEx delegate;

    /**
     * Creates a forwarding extension.
     *
     * @param delegateSupplier supplies the alternative engine's extension on first use
     */
    ForwardingNDArrayEx(Supplier<NDArrayEx> delegateSupplier) {
        this.delegateSupplier = delegateSupplier;
    }

    /**
     * Brings a result of the alternative engine back into this engine.
     *
     * @param result the alternative engine's result
     * @return the result as this engine's array
     */
    protected abstract NDArray adopt(NDArray result);

    /**
     * Brings every array of a result list back into this engine.
     *
     * @param results the alternative engine's results
     * @return the results as this engine's arrays
     */
    protected final NDList adopt(NDList results) {
        NDList adopted = new NDList(results.size());
        for (NDArray result : results) {
            adopted.add(adopt(result));
        }
        return adopted;
    }

    /**
     * Returns the alternative engine's extension, created on first use.
     *
     * @return the delegate
     */
    protected final NDArrayEx delegate() {
        if (delegate == null) {
            delegate = delegateSupplier.get();
        }
        return delegate;
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rdiv(Number n) {
        return adopt(delegate().rdiv(n));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rdiv(NDArray b) {
        return adopt(delegate().rdiv(b));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rdivi(Number n) {
        return adopt(delegate().rdivi(n));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rdivi(NDArray b) {
        return adopt(delegate().rdivi(b));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rsub(Number n) {
        return adopt(delegate().rsub(n));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rsub(NDArray b) {
        return adopt(delegate().rsub(b));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rsubi(Number n) {
        return adopt(delegate().rsubi(n));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rsubi(NDArray b) {
        return adopt(delegate().rsubi(b));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rmod(Number n) {
        return adopt(delegate().rmod(n));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rmod(NDArray b) {
        return adopt(delegate().rmod(b));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rmodi(Number n) {
        return adopt(delegate().rmodi(n));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rmodi(NDArray b) {
        return adopt(delegate().rmodi(b));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rpow(Number n) {
        return adopt(delegate().rpow(n));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray rpowi(Number n) {
        return adopt(delegate().rpowi(n));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray relu() {
        return adopt(delegate().relu());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray sigmoid() {
        return adopt(delegate().sigmoid());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray tanh() {
        return adopt(delegate().tanh());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray softPlus() {
        return adopt(delegate().softPlus());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray softSign() {
        return adopt(delegate().softSign());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray leakyRelu(float alpha) {
        return adopt(delegate().leakyRelu(alpha));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray elu(float alpha) {
        return adopt(delegate().elu(alpha));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray selu() {
        return adopt(delegate().selu());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray gelu() {
        return adopt(delegate().gelu());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray swish(float beta) {
        return adopt(delegate().swish(beta));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray mish() {
        return adopt(delegate().mish());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray maxPool(Shape kernelShape, Shape stride, Shape padding, boolean ceilMode) {
        return adopt(delegate().maxPool(kernelShape, stride, padding, ceilMode));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray globalMaxPool() {
        return adopt(delegate().globalMaxPool());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray avgPool(Shape kernelShape, Shape stride, Shape padding, boolean ceilMode, boolean countIncludePad) {
        return adopt(delegate().avgPool(kernelShape, stride, padding, ceilMode, countIncludePad));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray globalAvgPool() {
        return adopt(delegate().globalAvgPool());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray lpPool(float normType, Shape kernelShape, Shape stride, Shape padding, boolean ceilMode) {
        return adopt(delegate().lpPool(normType, kernelShape, stride, padding, ceilMode));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray globalLpPool(float normType) {
        return adopt(delegate().globalLpPool(normType));
    }

    /** {@inheritDoc} */
    @Override
    public void adadeltaUpdate(NDList inputs, NDList weights, float weightDecay, float rescaleGrad, float clipGrad, float rho, float epsilon) {
        delegate().adadeltaUpdate(inputs, weights, weightDecay, rescaleGrad, clipGrad, rho, epsilon);
    }

    /** {@inheritDoc} */
    @Override
    public void adagradUpdate(NDList inputs, NDList weights, float learningRate, float weightDecay, float rescaleGrad, float clipGrad, float epsilon) {
        delegate().adagradUpdate(inputs, weights, learningRate, weightDecay, rescaleGrad, clipGrad, epsilon);
    }

    /** {@inheritDoc} */
    @Override
    public void adamUpdate(NDList inputs, NDList weights, float learningRate, float learningRateBiasCorrection, float weightDecay, float rescaleGrad, float clipGrad, float beta1, float beta2, float epsilon, boolean lazyUpdate, boolean adamw) {
        delegate().adamUpdate(inputs, weights, learningRate, learningRateBiasCorrection, weightDecay, rescaleGrad, clipGrad, beta1, beta2, epsilon, lazyUpdate, adamw);
    }

    /** {@inheritDoc} */
    @Override
    public void nagUpdate(NDList inputs, NDList weights, float learningRate, float weightDecay, float rescaleGrad, float clipGrad, float momentum) {
        delegate().nagUpdate(inputs, weights, learningRate, weightDecay, rescaleGrad, clipGrad, momentum);
    }

    /** {@inheritDoc} */
    @Override
    public void rmspropUpdate(NDList inputs, NDList weights, float learningRate, float weightDecay, float rescaleGrad, float clipGrad, float rho, float momentum, float epsilon, boolean centered) {
        delegate().rmspropUpdate(inputs, weights, learningRate, weightDecay, rescaleGrad, clipGrad, rho, momentum, epsilon, centered);
    }

    /** {@inheritDoc} */
    @Override
    public void sgdUpdate(NDList inputs, NDList weights, float learningRate, float weightDecay, float rescaleGrad, float clipGrad, float momentum, boolean lazyUpdate) {
        delegate().sgdUpdate(inputs, weights, learningRate, weightDecay, rescaleGrad, clipGrad, momentum, lazyUpdate);
    }

    /** {@inheritDoc} */
    @Override
    public NDList convolution(NDArray input, NDArray weight, NDArray bias, Shape stride, Shape padding, Shape dilation, int groups) {
        return adopt(delegate().convolution(input, weight, bias, stride, padding, dilation, groups));
    }

    /** {@inheritDoc} */
    @Override
    public NDList deconvolution(NDArray input, NDArray weight, NDArray bias, Shape stride, Shape padding, Shape outPadding, Shape dilation, int groups) {
        return adopt(delegate().deconvolution(input, weight, bias, stride, padding, outPadding, dilation, groups));
    }

    /** {@inheritDoc} */
    @Override
    public NDList linear(NDArray input, NDArray weight, NDArray bias) {
        return adopt(delegate().linear(input, weight, bias));
    }

    /** {@inheritDoc} */
    @Override
    public NDList embedding(NDArray input, NDArray weight, SparseFormat sparse) {
        return adopt(delegate().embedding(input, weight, sparse));
    }

    /** {@inheritDoc} */
    @Override
    public NDList prelu(NDArray input, NDArray alpha) {
        return adopt(delegate().prelu(input, alpha));
    }

    /** {@inheritDoc} */
    @Override
    public NDList dropout(NDArray input, float rate, boolean training) {
        return adopt(delegate().dropout(input, rate, training));
    }

    /** {@inheritDoc} */
    @Override
    public NDList layerNorm(NDArray input, Shape normalizedShape, NDArray gamma, NDArray beta, float eps) {
        return adopt(delegate().layerNorm(input, normalizedShape, gamma, beta, eps));
    }

    /** {@inheritDoc} */
    @Override
    public NDList batchNorm(NDArray input, NDArray runningMean, NDArray runningVar, NDArray gamma, NDArray beta, int axis, float momentum, float eps, boolean training) {
        return adopt(delegate().batchNorm(input, runningMean, runningVar, gamma, beta, axis, momentum, eps, training));
    }

    /** {@inheritDoc} */
    @Override
    public NDList rnn(NDArray input, NDArray state, NDList params, boolean hasBiases, int numLayers, RNN.Activation activation, double dropRate, boolean training, boolean bidirectional, boolean batchFirst) {
        return adopt(delegate().rnn(input, state, params, hasBiases, numLayers, activation, dropRate, training, bidirectional, batchFirst));
    }

    /** {@inheritDoc} */
    @Override
    public NDList gru(NDArray input, NDArray state, NDList params, boolean hasBiases, int numLayers, double dropRate, boolean training, boolean bidirectional, boolean batchFirst) {
        return adopt(delegate().gru(input, state, params, hasBiases, numLayers, dropRate, training, bidirectional, batchFirst));
    }

    /** {@inheritDoc} */
    @Override
    public NDList lstm(NDArray input, NDList states, NDList params, boolean hasBiases, int numLayers, double dropRate, boolean training, boolean bidirectional, boolean batchFirst) {
        return adopt(delegate().lstm(input, states, params, hasBiases, numLayers, dropRate, training, bidirectional, batchFirst));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray normalize(float[] mean, float[] std) {
        return adopt(delegate().normalize(mean, std));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray toTensor() {
        return adopt(delegate().toTensor());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray interpolation(long[] size, int mode, boolean alignCorners) {
        return adopt(delegate().interpolation(size, mode, alignCorners));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray resize(int width, int height, int interpolation) {
        return adopt(delegate().resize(width, height, interpolation));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray crop(int x, int y, int width, int height) {
        return adopt(delegate().crop(x, y, width, height));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray randomFlipLeftRight() {
        return adopt(delegate().randomFlipLeftRight());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray randomFlipTopBottom() {
        return adopt(delegate().randomFlipTopBottom());
    }

    /** {@inheritDoc} */
    @Override
    public NDArray randomBrightness(float brightness) {
        return adopt(delegate().randomBrightness(brightness));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray randomHue(float hue) {
        return adopt(delegate().randomHue(hue));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray randomColorJitter(float brightness, float contrast, float saturation, float hue) {
        return adopt(delegate().randomColorJitter(brightness, contrast, saturation, hue));
    }

    /** {@inheritDoc} */
    @Override
    public NDArrayIndexer getIndexer(NDManager manager) {
        return delegate().getIndexer(manager);
    }

    /** {@inheritDoc} */
    @Override
    public NDArray where(NDArray condition, NDArray other) {
        return adopt(delegate().where(condition, other));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray stack(NDList arrays, int axis) {
        return adopt(delegate().stack(arrays, axis));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray stack(NDList arrays) {
        return adopt(delegate().stack(arrays));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray concat(NDList arrays, int axis) {
        return adopt(delegate().concat(arrays, axis));
    }

    /** {@inheritDoc} */
    @Override
    public NDArray concat(NDList arrays) {
        return adopt(delegate().concat(arrays));
    }

    /** {@inheritDoc} */
    @Override
    public NDList multiBoxTarget(NDList inputs, float iouThreshold, float ignoreLabel, float negativeMiningRatio, float negativeMiningThreshold, int minNegativeSamples) {
        return adopt(delegate().multiBoxTarget(inputs, iouThreshold, ignoreLabel, negativeMiningRatio, negativeMiningThreshold, minNegativeSamples));
    }

    /** {@inheritDoc} */
    @Override
    public NDList multiBoxPrior(List<Float> sizes, List<Float> ratios, List<Float> steps, List<Float> offsets, boolean clip) {
        return adopt(delegate().multiBoxPrior(sizes, ratios, steps, offsets, clip));
    }

    /** {@inheritDoc} */
    @Override
    public NDList multiBoxDetection(NDList inputs, boolean clip, float threshold, int backgroundId, float nmsThreshold, boolean forceSuppress, int nmsTopK) {
        return adopt(delegate().multiBoxDetection(inputs, clip, threshold, backgroundId, nmsThreshold, forceSuppress, nmsTopK));
    }
}
