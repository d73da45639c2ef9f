package org.quantint8.calibration;

import java.util.List;
import java.util.Set;

/**
 * A model whose layers can be quantized one at a time, the view of a model that sensitivity
 * analysis and automatic mixed precision need. The engine implements it over a loaded model and
 * its calibration samples.
 */
public interface LayerwiseQuantizableModel {

    /**
     * Returns the names of the layers that may be quantized, in a stable order.
     *
     * @return the layer names, not empty
     */
    List<String> getQuantizableLayers();

    /**
     * Runs every calibration sample with the given layers quantized and all others in FP32.
     *
     * @param quantizedLayers the layers to quantize; empty for the FP32 reference
     * @return one flattened output per calibration sample, in a stable order
     */
    List<float[]> run(Set<String> quantizedLayers);
}
