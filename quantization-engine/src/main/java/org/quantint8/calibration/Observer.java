package org.quantint8.calibration;

import ai.djl.ndarray.NDArray;

import org.quantint8.ndarray.QuantizationParameters;

/**
 * Watches the values of one tensor during calibration and turns what it saw into quantization
 * parameters.
 *
 * <p>An observer does exactly two things: it records statistics as batches pass ({@link
 * #observe(float[], int, int)}), and it chooses a clip range from them ({@link #computeRange()}).
 * How the range is chosen is the observer's own business; nothing else in the engine depends on
 * it. Observers keep bounded state (a few numbers or a fixed-size histogram), never the raw
 * values. NaN and infinite values are counted in {@link #getStatistics()} and excluded from the
 * range. Observers are not thread-safe.
 */
public interface Observer {

    /**
     * Returns the name of the observed tensor, used in every error message.
     *
     * @return the tensor name
     */
    String getTensorName();

    /**
     * Returns the scheme the parameters are computed for.
     *
     * @return the scheme
     */
    QuantizationScheme getScheme();

    /**
     * Returns a short description of the method and its settings, for reports.
     *
     * @return for example {@code "percentile(99.99)"}
     */
    String getDescription();

    /**
     * Records a batch of values.
     *
     * @param values the array holding the batch
     * @param offset the index of the first value
     * @param length the number of values, may be 0
     * @throws IllegalArgumentException naming the tensor if the slice is out of bounds
     */
    void observe(float[] values, int offset, int length);

    /**
     * Records a whole array of values.
     *
     * @param values the batch
     */
    default void observe(float[] values) {
        observe(CalibrationInputs.requireValues(getTensorName(), values), 0, values.length);
    }

    /**
     * Records the values of a {@link ai.djl.ndarray.types.DataType#FLOAT32} array.
     *
     * @param array the batch
     * @throws IllegalArgumentException naming the tensor if the array is not FLOAT32
     */
    default void observe(NDArray array) {
        observe(CalibrationInputs.toFloatArray(getTensorName(), array));
    }

    /**
     * Returns what has been counted so far.
     *
     * @return the statistics
     */
    TensorStatistics getStatistics();

    /**
     * Returns the clip range chosen from everything observed.
     *
     * @return a finite range within the observed finite values (widened to zero by the scheme)
     * @throws IllegalStateException naming the tensor if no finite value was observed
     */
    CalibrationRange computeRange();

    /**
     * Returns the per-tensor quantization parameters of the chosen range.
     *
     * @return valid parameters under {@link #getScheme()}
     * @throws IllegalStateException naming the tensor if no finite value was observed
     */
    default QuantizationParameters computeParameters() {
        return getScheme().parametersFor(computeRange());
    }
}
