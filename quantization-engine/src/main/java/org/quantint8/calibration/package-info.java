/**
 * Post-training calibration: choosing INT8 quantization parameters from data.
 *
 * <p>{@link org.quantint8.calibration.Observer}s watch tensors during calibration and turn what
 * they saw into {@link org.quantint8.ndarray.QuantizationParameters}: {@link
 * org.quantint8.calibration.MinMaxObserver}, {@link
 * org.quantint8.calibration.MovingAverageMinMaxObserver}, and the histogram methods {@link
 * org.quantint8.calibration.PercentileObserver}, {@link
 * org.quantint8.calibration.EntropyObserver} and {@link org.quantint8.calibration.MseObserver}.
 * {@link org.quantint8.calibration.PerChannelObserver} applies any of them per channel.
 * {@link org.quantint8.calibration.QuantizationConfig} chooses schemes, observers, layers and an
 * {@link org.quantint8.calibration.AccuracyBudget}; {@link
 * org.quantint8.calibration.SmoothQuant} rebalances outlier activation channels into weights;
 * {@link org.quantint8.calibration.MixedPrecisionPlanner} keeps the most sensitive layers in FP32
 * until the budget holds; {@link org.quantint8.calibration.QuantizationReport} records the result.
 *
 * <p>Everything here works on {@code float[]} and is independent of any engine; NDArray inputs
 * are read with {@code toFloatArray()}.
 */
package org.quantint8.calibration;
