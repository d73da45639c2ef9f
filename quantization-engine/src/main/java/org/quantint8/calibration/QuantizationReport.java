package org.quantint8.calibration;

import java.util.List;

/**
 * What quantization did to a model, layer by layer, with totals; rendered as an aligned text
 * table by {@link #toText()} and as JSON by {@link #toJson()}.
 */
public final class QuantizationReport {

    private final List<LayerReport> layers;

    /**
     * Creates a report.
     *
     * @param layers one entry per layer, in model order
     */
    public QuantizationReport(List<LayerReport> layers) {
        this.layers = List.copyOf(layers);
    }

    /**
     * Returns the layer entries.
     *
     * @return the entries, in model order
     */
    public List<LayerReport> getLayers() {
        return layers;
    }

    /**
     * Returns the number of layers running in INT8.
     *
     * @return the count
     */
    public int getQuantizedLayerCount() {
        return (int) layers.stream().filter(LayerReport::quantized).count();
    }

    /**
     * Returns the total weight storage in FP32.
     *
     * @return the bytes
     */
    public long getFp32WeightBytes() {
        return layers.stream().mapToLong(LayerReport::fp32WeightBytes).sum();
    }

    /**
     * Returns the total weight storage as deployed.
     *
     * @return the bytes
     */
    public long getDeployedWeightBytes() {
        return layers.stream().mapToLong(LayerReport::deployedWeightBytes).sum();
    }

    /**
     * Renders the report as an aligned text table followed by totals.
     *
     * @return the text
     */
    public String toText() {
        return ReportTextRenderer.render(this);
    }

    /**
     * Renders the report as JSON. Unmeasured or infinite SQNR values are {@code null}.
     *
     * @return the JSON text
     */
    public String toJson() {
        return ReportJsonRenderer.render(this);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return toText();
    }
}
