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
     * Runs every calibration sample with the given layers quantized and all others in their
     * fallback form: FP32, unless the model was built with another {@link BudgetFallback}.
     *
     * @param quantizedLayers the layers to quantize; empty for all in the fallback form
     * @return one flattened output per calibration sample, in a stable order
     */
    List<float[]> run(Set<String> quantizedLayers);

    /**
     * Runs every calibration sample with the whole model in FP32: the reference that outputs are
     * scored against. By default {@code run(Set.of())}, which is FP32 when the fallback is.
     *
     * @return one flattened output per calibration sample, in the order of {@link #run}
     */
    default List<float[]> runReference() {
        return run(Set.of());
    }
}
