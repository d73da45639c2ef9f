package org.quantint8.onnx.quantize;

import ai.djl.ndarray.NDList;
import ai.djl.util.Progress;

import org.quantint8.calibration.BudgetFallback;
import org.quantint8.calibration.MixedPrecisionPlan;
import org.quantint8.calibration.MixedPrecisionPlanner;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Post-training quantization of an ONNX model from start to end, as the configuration asks:
 * SmoothQuant (calibrated on the samples), then static calibration of the layer inputs or dynamic
 * quantization, then, with an accuracy budget, mixed precision (the most sensitive layers stay in
 * FP32, or quantize their input per token, until the budget holds on the samples), then the
 * rewrite into integer operators.
 */
public final class PostTrainingQuantizer {

    private static final Logger LOGGER = LoggerFactory.getLogger(PostTrainingQuantizer.class);
    private static final int SENSITIVITY_SAMPLES = 32;

    private PostTrainingQuantizer() {}

    /**
     * Quantizes a model.
     *
     * @param model the FP32 model
     * @param config the configuration
     * @param samples representative model inputs; required for static mode and SmoothQuant, and
     *     ignored otherwise
     * @return the quantized model and its report
     * @throws IllegalArgumentException if the configuration needs samples and none are given
     */
    public static QuantizedOnnxModel quantize(
            OnnxModel model, QuantizationConfig config, List<NDList> samples) {
        return quantize(model, config, samples, null);
    }

    /**
     * Quantizes a model, reporting calibration progress.
     *
     * @param model the FP32 model
     * @param config the configuration
     * @param samples representative model inputs; required for static mode and SmoothQuant, and
     *     ignored otherwise
     * @param progress told of each calibration sample, or null
     * @return the quantized model and its report
     * @throws IllegalArgumentException if the configuration needs samples and none are given
     */
    public static QuantizedOnnxModel quantize(OnnxModel model, QuantizationConfig config,
            List<NDList> samples, Progress progress) {
        // Weight-only quantization, like dynamic, fixes no activation range ahead of time.
        boolean dynamic = config.getMode() != QuantizationMode.STATIC;
        OptionalDouble alpha = config.getSmoothQuantAlpha();
        boolean needsSamples = !dynamic || alpha.isPresent() || config.getAccuracyBudget().isPresent();
        if (needsSamples && samples.isEmpty()) {
            throw new IllegalArgumentException(
                    (dynamic ? "SmoothQuant or an accuracy budget" : "Static quantization")
                            + " needs calibration samples: representative inputs of the model, not"
                            + " random data (a few hundred is typical); without any, use dynamic"
                            + " quantization");
        }
        OnnxModel prepared = model;
        CalibrationResult calibration = null;
        if (alpha.isPresent()) {
            calibration = calibrate(model, config, samples, progress);
            prepared = SmoothQuantTransform.apply(
                    model, calibration.channelAbsMax(), config.getLayerFilter(), alpha.getAsDouble());
            calibration = null; // the smoothed layers read new tensors: calibrate those
        }
        OnnxQuantizer.Builder quantizer = OnnxQuantizer.builder().optConfig(config);
        Map<String, QuantizationParameters> activations = Map.of();
        if (!dynamic) {
            calibration = calibrate(prepared, config, samples, progress);
            activations = calibration.parameters();
            quantizer.optActivationParameters(activations);
        }
        if (config.getAccuracyBudget().isPresent()) {
            Map<String, String> sensitive =
                    planMixedPrecision(prepared, config, activations, samples);
            if (config.getBudgetFallback() == BudgetFallback.PER_TOKEN) {
                quantizer.optPerTokenLayers(sensitive);
            } else {
                quantizer.optKeepInFp32(sensitive);
            }
        }
        return quantizer.build().quantize(prepared);
    }

    /**
     * The layers to move to the configured fallback (FP32, or per-token inputs) so that the
     * budget holds, each with its reason.
     */
    private static Map<String, String> planMixedPrecision(OnnxModel model,
            QuantizationConfig config, Map<String, QuantizationParameters> activations,
            List<NDList> samples) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException(
                    "An accuracy budget needs calibration samples to measure the error against");
        }
        // Sensitivity needs one model run per layer: a subset of the samples keeps it affordable.
        List<NDList> subset = samples.subList(0, Math.min(samples.size(), SENSITIVITY_SAMPLES));
        MixedPrecisionPlan plan = MixedPrecisionPlanner.plan(
                new OrtLayerwiseModel(model, config, activations, subset),
                config.getAccuracyBudget().get());
        if (!plan.budgetMet()) {
            LOGGER.warn("The accuracy budget is not met even with {} layer(s) in fallback {}: {}",
                    plan.fp32Layers().size(), config.getBudgetFallback(),
                    plan.summary(config.getBudgetFallback()));
        }
        Map<String, String> keep = new LinkedHashMap<>();
        for (String layer : plan.fp32Layers()) {
            keep.put(layer, plan.reasonFor(layer));
        }
        return keep;
    }

    private static CalibrationResult calibrate(OnnxModel model, QuantizationConfig config,
            List<NDList> samples, Progress progress) {
        try (ActivationCalibrator calibrator = ActivationCalibrator.create(model, config)) {
            if (progress != null) {
                progress.reset("Calibrating", samples.size());
            }
            for (NDList sample : samples) {
                calibrator.observe(sample);
                if (progress != null) {
                    progress.increment(1);
                }
            }
            if (progress != null) {
                progress.end();
            }
            return calibrator.result();
        }
    }
}
