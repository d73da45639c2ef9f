package org.quantint8.calibration;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

import org.quantint8.ndarray.QuantizationParameters;

/**
 * Observes a tensor one channel at a time along an axis, with one {@link Observer} per channel,
 * and produces per-channel parameters (the weight scheme: one scale per output channel).
 *
 * <p>The first observation fixes the number of channels; the other dimensions may change between
 * batches, but a later batch with a different channel count is rejected.
 */
public final class PerChannelObserver {

    private final String tensorName;
    private final QuantizationScheme scheme;
    private final int axis;
    private final ObserverFactory factory;
    private Observer[] channels;
    private float[] gathered = new float[0];

    /**
     * Creates an observer.
     *
     * @param tensorName the observed tensor
     * @param scheme the scheme parameters are computed for
     * @param axis the channel axis, non-negative (0 for DJL Linear and Conv weights)
     * @param factory creates the observer of each channel
     */
    public PerChannelObserver(
            String tensorName, QuantizationScheme scheme, int axis, ObserverFactory factory) {
        if (axis < 0) {
            throw new IllegalArgumentException(
                    "Tensor '" + tensorName + "': channel axis must be non-negative, got " + axis);
        }
        this.tensorName = tensorName;
        this.scheme = scheme;
        this.axis = axis;
        this.factory = factory;
    }

    /**
     * Records a batch of values.
     *
     * @param values the values, row-major
     * @param shape their shape
     * @throws IllegalArgumentException naming the tensor if the shape does not hold the values,
     *     has no channel axis, or changes the channel count
     */
    public void observe(float[] values, Shape shape) {
        CalibrationInputs.requireValues(tensorName, values);
        if (shape.dimension() <= axis) {
            throw new IllegalArgumentException(
                    "Tensor '" + tensorName + "': shape " + shape + " has no channel axis " + axis);
        }
        if (shape.size() != values.length) {
            throw new IllegalArgumentException(
                    "Tensor '"
                            + tensorName
                            + "': shape "
                            + shape
                            + " does not hold "
                            + values.length
                            + " values");
        }
        int channelCount = Math.toIntExact(shape.get(axis));
        if (channels == null) {
            channels = new Observer[channelCount];
            for (int c = 0; c < channelCount; c++) {
                channels[c] = factory.create(tensorName + "[channel " + c + "]", scheme);
            }
        } else if (channelCount != channels.length) {
            throw new IllegalArgumentException(
                    "Tensor '"
                            + tensorName
                            + "': channel dimension (axis "
                            + axis
                            + ") changed from "
                            + channels.length
                            + " to "
                            + channelCount
                            + " in shape "
                            + shape);
        }
        observeChannels(values, Math.toIntExact(shape.slice(axis + 1).size()));
    }

    /**
     * Records the values of a FLOAT32 array.
     *
     * @param array the batch
     */
    public void observe(NDArray array) {
        observe(CalibrationInputs.toFloatArray(tensorName, array), array.getShape());
    }

    /** Feeds each channel's values to its observer: slices for axis 0, gathered otherwise. */
    private void observeChannels(float[] values, int inner) {
        int channelCount = channels.length;
        int outer = values.length / Math.max(1, channelCount * inner);
        if (outer == 1) {
            for (int c = 0; c < channelCount; c++) {
                channels[c].observe(values, c * inner, inner);
            }
            return;
        }
        int perChannel = outer * inner;
        if (gathered.length < perChannel) {
            gathered = new float[perChannel];
        }
        for (int c = 0; c < channelCount; c++) {
            int n = 0;
            for (int o = 0; o < outer; o++) {
                System.arraycopy(values, (o * channelCount + c) * inner, gathered, n, inner);
                n += inner;
            }
            channels[c].observe(gathered, 0, perChannel);
        }
    }

    /**
     * Returns the number of channels, fixed by the first observation.
     *
     * @return the channel count
     * @throws IllegalStateException if nothing was observed
     */
    public int getChannelCount() {
        return requireObserved().length;
    }

    /**
     * Returns the observer of one channel.
     *
     * @param channel the channel index
     * @return its observer
     */
    public Observer getChannelObserver(int channel) {
        return requireObserved()[channel];
    }

    /**
     * Returns the largest absolute finite value seen in each channel (unclipped), the input of
     * {@link SmoothQuant}.
     *
     * @return one value per channel
     * @throws IllegalStateException if a channel saw no finite value
     */
    public float[] absMax() {
        Observer[] observers = requireObserved();
        float[] result = new float[observers.length];
        for (int c = 0; c < observers.length; c++) {
            TensorStatistics stats = observers[c].getStatistics();
            if (!stats.hasFiniteValues()) {
                throw new IllegalStateException(
                        "Tensor '" + tensorName + "': channel " + c + " saw no finite value");
            }
            result[c] = stats.absMax();
        }
        return result;
    }

    /**
     * Returns per-channel parameters along the channel axis.
     *
     * @return the parameters
     * @throws IllegalStateException naming the tensor and channel if nothing usable was observed
     */
    public QuantizationParameters computeParameters() {
        Observer[] observers = requireObserved();
        float[] scales = new float[observers.length];
        int[] zeroPoints = new int[observers.length];
        for (int c = 0; c < observers.length; c++) {
            QuantizationParameters channel = observers[c].computeParameters();
            scales[c] = channel.getScale(0);
            zeroPoints[c] = channel.getZeroPoint(0);
        }
        return QuantizationParameters.perChannel(scales, zeroPoints, axis, scheme.getDataType());
    }

    /**
     * Returns the description of the per-channel method, for reports.
     *
     * @return for example {@code "per-channel(axis 0) min-max"}
     */
    public String getDescription() {
        String method = channels == null ? "" : " " + channels[0].getDescription();
        return "per-channel(axis " + axis + ")" + method;
    }

    private Observer[] requireObserved() {
        if (channels == null) {
            throw new IllegalStateException(
                    "Tensor '"
                            + tensorName
                            + "': no calibration data was observed (empty calibration set)");
        }
        return channels;
    }
}
