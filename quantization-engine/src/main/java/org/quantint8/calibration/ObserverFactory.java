package org.quantint8.calibration;

/**
 * Creates a fresh {@link Observer} for each tensor to calibrate; the configurable choice of
 * method. The static methods return the built-in methods.
 */
@FunctionalInterface
public interface ObserverFactory {

    /**
     * Creates an observer for one tensor.
     *
     * @param tensorName the tensor, used in messages
     * @param scheme the scheme the parameters are computed for
     * @return a new observer with no observations
     */
    Observer create(String tensorName, QuantizationScheme scheme);

    /**
     * Returns the factory of {@link MinMaxObserver}.
     *
     * @return the factory
     */
    static ObserverFactory minMax() {
        return MinMaxObserver::new;
    }

    /**
     * Returns the factory of {@link MovingAverageMinMaxObserver} with the default averaging
     * constant.
     *
     * @return the factory
     */
    static ObserverFactory movingAverageMinMax() {
        return movingAverageMinMax(MovingAverageMinMaxObserver.DEFAULT_AVERAGING_CONSTANT);
    }

    /**
     * Returns the factory of {@link MovingAverageMinMaxObserver}.
     *
     * @param averagingConstant the weight of each new batch, in {@code (0, 1]}
     * @return the factory
     */
    static ObserverFactory movingAverageMinMax(double averagingConstant) {
        return (name, scheme) -> new MovingAverageMinMaxObserver(name, scheme, averagingConstant);
    }

    /**
     * Returns the factory of {@link PercentileObserver} with {@link Histogram#DEFAULT_BIN_COUNT}
     * bins.
     *
     * @param percentile the percentage of values to keep, in {@code (0, 100]}
     * @return the factory
     * @throws IllegalArgumentException if the percentile is out of range
     */
    static ObserverFactory percentile(double percentile) {
        PercentileObserver.checkPercentile(percentile);
        return (name, scheme) ->
                new PercentileObserver(name, scheme, percentile, Histogram.DEFAULT_BIN_COUNT);
    }

    /**
     * Returns the factory of {@link EntropyObserver} with {@link Histogram#DEFAULT_BIN_COUNT}
     * bins.
     *
     * @return the factory
     */
    static ObserverFactory entropy() {
        return (name, scheme) -> new EntropyObserver(name, scheme, Histogram.DEFAULT_BIN_COUNT);
    }

    /**
     * Returns the factory of {@link MseObserver} with {@link Histogram#DEFAULT_BIN_COUNT} bins.
     *
     * @return the factory
     */
    static ObserverFactory mse() {
        return (name, scheme) -> new MseObserver(name, scheme, Histogram.DEFAULT_BIN_COUNT);
    }
}
