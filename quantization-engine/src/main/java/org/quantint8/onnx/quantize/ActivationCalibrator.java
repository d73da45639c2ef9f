package org.quantint8.onnx.quantize;

import ai.djl.ndarray.NDList;

import org.quantint8.calibration.Observer;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.TensorStatistics;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxModel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Calibration: runs the FP32 model on representative samples and lets the configured activation
 * observer watch the input of every layer that will be quantized, plus the largest magnitude of
 * each input channel for SmoothQuant.
 *
 * <pre>{@code
 * try (ActivationCalibrator calibrator = ActivationCalibrator.create(model, config)) {
 *     for (NDList sample : samples) {
 *         calibrator.observe(sample);
 *     }
 *     CalibrationResult result = calibrator.result();
 * }
 * }</pre>
 */
public final class ActivationCalibrator implements AutoCloseable {

    private final OrtGraphRunner runner;
    private final Map<String, Observer> observers = new LinkedHashMap<>();
    private final Map<String, float[]> channelAbsMax = new HashMap<>();
    private int samples;

    private ActivationCalibrator(OnnxModel model, QuantizationConfig config) {
        List<String> tensors = new ArrayList<>();
        for (QuantizableSite site : QuantizableSite.find(model.getGraph(), new ArrayList<>())) {
            String input = site.node().getInputs().get(0);
            if (site.hasActivation()
                    && config.getLayerFilter().accepts(site.layerName(), site.node().getOpType())
                    && !observers.containsKey(input)) {
                observers.put(input,
                        config.getActivationObserver().create(input, config.getActivationScheme()));
                tensors.add(input);
            }
        }
        // One thread: calibration runs beside the application, which owns the other cores.
        runner = new OrtGraphRunner(model, tensors, 1);
    }

    /**
     * Prepares the calibration of a model's quantizable layers.
     *
     * @param model the FP32 model
     * @param config the configuration: which layers, which observer, which scheme
     * @return the calibrator
     */
    public static ActivationCalibrator create(OnnxModel model, QuantizationConfig config) {
        return new ActivationCalibrator(model, config);
    }

    /**
     * Runs one sample through the model and records the layer inputs.
     *
     * @param sample the model inputs, named after the graph inputs or in their order
     */
    public void observe(NDList sample) {
        Map<String, OrtGraphRunner.Tensor> values = runner.run(sample);
        for (Map.Entry<String, Observer> e : observers.entrySet()) {
            OrtGraphRunner.Tensor t = values.get(e.getKey());
            if (t == null) {
                throw new IllegalStateException("Tensor '" + e.getKey() + "' was not computed");
            }
            e.getValue().observe(t.values());
            recordChannels(e.getKey(), t);
        }
        samples++;
    }

    private void recordChannels(String name, OrtGraphRunner.Tensor t) {
        int channels = Math.toIntExact(t.shape().get(t.shape().dimension() - 1));
        float[] absMax = channelAbsMax.computeIfAbsent(name, k -> new float[channels]);
        if (absMax.length != channels) {
            throw new IllegalArgumentException("Tensor '" + name + "' changed its channel count"
                    + " from " + absMax.length + " to " + channels + " between samples");
        }
        float[] v = t.values();
        for (int i = 0; i < v.length; i++) {
            float a = Math.abs(v[i]);
            // NaN compares false and is left out, as the observers leave it out.
            if (a > absMax[i % channels] && a != Float.POSITIVE_INFINITY) {
                absMax[i % channels] = a;
            }
        }
    }

    /**
     * Returns the number of samples observed.
     *
     * @return the count
     */
    public int getSampleCount() {
        return samples;
    }

    /**
     * Returns the calibration result.
     *
     * @return the parameters, channel ranges and statistics of every observed tensor
     * @throws IllegalStateException if no sample was observed, or a tensor never had a finite value
     */
    public CalibrationResult result() {
        if (samples == 0) {
            throw new IllegalStateException(
                    "No calibration samples were given: static quantization needs representative"
                            + " inputs of the model (a few hundred is typical)");
        }
        Map<String, QuantizationParameters> parameters = new HashMap<>();
        Map<String, TensorStatistics> statistics = new HashMap<>();
        for (Map.Entry<String, Observer> e : observers.entrySet()) {
            parameters.put(e.getKey(), e.getValue().computeParameters());
            statistics.put(e.getKey(), e.getValue().getStatistics());
        }
        return new CalibrationResult(samples, parameters, channelAbsMax, statistics);
    }

    /** {@inheritDoc} */
    @Override
    public void close() {
        runner.close();
    }
}
