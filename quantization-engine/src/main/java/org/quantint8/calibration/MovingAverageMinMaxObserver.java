package org.quantint8.calibration;

/**
 * Chooses the exponential moving average of each batch's bounds: {@code avg += c * (batch -
 * avg)}. A single extreme batch moves the range by only a fraction {@code c}, which suits
 * calibration sets with occasional outlier batches.
 */
public final class MovingAverageMinMaxObserver extends AbstractObserver {

    /** The averaging constant PyTorch uses by default. */
    public static final double DEFAULT_AVERAGING_CONSTANT = 0.01;

    private final double averagingConstant;
    private double averageMin;
    private double averageMax;
    private boolean initialized;

    /**
     * Creates an observer.
     *
     * @param tensorName the observed tensor
     * @param scheme the scheme parameters are computed for
     * @param averagingConstant the weight of each new batch, in {@code (0, 1]}
     */
    public MovingAverageMinMaxObserver(
            String tensorName, QuantizationScheme scheme, double averagingConstant) {
        super(tensorName, scheme);
        if (!(averagingConstant > 0 && averagingConstant <= 1)) {
            throw new IllegalArgumentException(
                    "Tensor '"
                            + tensorName
                            + "': averaging constant must be in (0, 1], got "
                            + averagingConstant);
        }
        this.averagingConstant = averagingConstant;
    }

    /** {@inheritDoc} */
    @Override
    public String getDescription() {
        return "moving-average-min-max(" + averagingConstant + ")";
    }

    /** {@inheritDoc} */
    @Override
    protected void accumulate(
            float[] values, int offset, int length, float batchMin, float batchMax) {
        if (!initialized) {
            averageMin = batchMin;
            averageMax = batchMax;
            initialized = true;
            return;
        }
        averageMin += averagingConstant * (batchMin - averageMin);
        averageMax += averagingConstant * (batchMax - averageMax);
    }

    /** {@inheritDoc} */
    @Override
    protected CalibrationRange chooseRange() {
        return new CalibrationRange((float) averageMin, (float) averageMax);
    }
}
