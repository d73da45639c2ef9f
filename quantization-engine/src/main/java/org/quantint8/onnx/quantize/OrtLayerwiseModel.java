package org.quantint8.onnx.quantize;

import ai.djl.ndarray.NDList;

import org.quantint8.calibration.BudgetFallback;
import org.quantint8.calibration.LayerwiseQuantizableModel;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxModel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX model whose layers can be quantized one at a time, run by ONNX Runtime on calibration
 * samples: the view that sensitivity analysis and mixed-precision planning work on. Each output is
 * the model's first output, flattened. The layers left out of a run are in the configuration's
 * {@link BudgetFallback} form: FP32, or INT8 with per-token inputs.
 */
final class OrtLayerwiseModel implements LayerwiseQuantizableModel {

    private final OnnxModel model;
    private final QuantizationConfig config;
    private final Map<String, QuantizationParameters> activations;
    private final List<NDList> samples;
    private final List<String> layers = new ArrayList<>();

    OrtLayerwiseModel(OnnxModel model, QuantizationConfig config,
            Map<String, QuantizationParameters> activations, List<NDList> samples) {
        this.model = model;
        this.config = config;
        this.activations = activations;
        this.samples = samples;
        for (QuantizableSite site : QuantizableSite.find(model.getGraph(), new ArrayList<>())) {
            if (config.getLayerFilter().accepts(site.layerName(), site.node().getOpType())) {
                layers.add(site.layerName());
            }
        }
    }

    /** {@inheritDoc} */
    @Override
    public List<String> getQuantizableLayers() {
        return layers;
    }

    /** {@inheritDoc} */
    @Override
    public List<float[]> run(Set<String> quantizedLayers) {
        boolean perToken = config.getBudgetFallback() == BudgetFallback.PER_TOKEN;
        if (quantizedLayers.isEmpty() && !perToken) {
            return runReference();
        }
        Map<String, String> fallback = new HashMap<>();
        for (String layer : layers) {
            if (!quantizedLayers.contains(layer)) {
                fallback.put(layer, "sensitivity analysis");
            }
        }
        OnnxQuantizer.Builder quantizer =
                OnnxQuantizer.builder().optConfig(config).optActivationParameters(activations);
        if (perToken) {
            quantizer.optPerTokenLayers(fallback);
        } else {
            quantizer.optKeepInFp32(fallback);
        }
        return outputs(quantizer.build().quantize(model).model());
    }

    /** {@inheritDoc} */
    @Override
    public List<float[]> runReference() {
        return outputs(model);
    }

    private List<float[]> outputs(OnnxModel variant) {
        String output = model.getGraph().getOutputs().get(0).getName();
        List<float[]> outputs = new ArrayList<>(samples.size());
        try (OrtGraphRunner runner = new OrtGraphRunner(variant, List.of(), 1)) {
            for (NDList sample : samples) {
                outputs.add(runner.run(sample).get(output).values());
            }
        }
        return outputs;
    }
}
