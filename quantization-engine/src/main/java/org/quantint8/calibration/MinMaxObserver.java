package org.quantint8.calibration;

/**
 * Chooses the full range of everything observed. Exact for weights and for bounded activations;
 * on data with rare outliers it wastes most codes on values that hardly occur.
 */
public final class MinMaxObserver extends AbstractObserver {

    /**
     * Creates a min-max observer.
     *
     * @param tensorName the observed tensor
     * @param scheme the scheme parameters are computed for
     */
    public MinMaxObserver(String tensorName, QuantizationScheme scheme) {
        super(tensorName, scheme);
    }

    /** {@inheritDoc} */
    @Override
    public String getDescription() {
        return "min-max";
    }

    /** {@inheritDoc} */
    @Override
    protected void accumulate(
            float[] values, int offset, int length, float batchMin, float batchMax) {
        // The base class already tracks the bounds, which is all this method needs.
    }

    /** {@inheritDoc} */
    @Override
    protected CalibrationRange chooseRange() {
        return observedRange();
    }
}
