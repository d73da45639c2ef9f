package org.quantint8.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.util.Pair;

import org.quantint8.calibration.Granularity;
import org.quantint8.calibration.LayerFilter;
import org.quantint8.calibration.LayerReport;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.calibration.QuantizationError;
import org.quantint8.calibration.QuantizationReport;
import org.quantint8.ndarray.Int8Ops;
import org.quantint8.ndarray.QuantInt8NDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Quantizes a DJL block written in Java through the same sites as ONNX models: the weight of
 * every {@link Linear} and {@link Conv2d} becomes INT8 per output channel, in place, so that
 * DJL's own blocks run through the INT8 operators; activations are quantized per call.
 */
final class BlockQuantizer {

    private BlockQuantizer() {}

    /**
     * Quantizes the weights of a block's linear and 2-D convolution layers.
     *
     * @param block an initialized block whose parameters are QuantInt8 arrays
     * @param filter which layers (by path, e.g. {@code 01SequentialBlock/02Conv2d}) to quantize
     * @return what was done to each layer
     * @throws IllegalArgumentException if the block is not initialized or its parameters belong to
     *     another engine
     */
    static QuantizationReport quantize(Block block, LayerFilter filter) {
        List<LayerReport> reports = new ArrayList<>();
        visit(block, "", filter, reports);
        return new QuantizationReport(reports);
    }

    /**
     * Checks that a configuration asks only for what a Java block supports: dynamic INT8 with
     * per-channel weights and per-tensor activations quantized per call. The rest (static ranges,
     * per-token activations, weight-only, SmoothQuant, a budget) needs the ONNX path's graph
     * rewriting; running the block dynamically instead would silently ignore the options.
     *
     * @param config the configuration of the load options
     * @throws IllegalArgumentException naming each option the block path cannot honour
     */
    static void requireSupported(QuantizationConfig config) {
        List<String> unsupported = new ArrayList<>();
        if (config.getMode() != QuantizationMode.DYNAMIC) {
            unsupported.add(QuantizationOptions.MODE + "="
                    + config.getMode().name().toLowerCase(Locale.ROOT).replace("_", ""));
        }
        if (config.getWeightGranularity() != Granularity.PER_CHANNEL) {
            unsupported.add(QuantizationOptions.WEIGHT_GRANULARITY + "=tensor");
        }
        if (config.getActivationGranularity() != Granularity.PER_TENSOR) {
            unsupported.add(QuantizationOptions.ACTIVATION_GRANULARITY + "=token");
        }
        if (config.getSmoothQuantAlpha().isPresent()) {
            unsupported.add(QuantizationOptions.SMOOTH_QUANT);
        }
        if (config.getAccuracyBudget().isPresent()) {
            unsupported.add(QuantizationOptions.MIN_SQNR_DB);
        }
        if (!unsupported.isEmpty()) {
            throw new IllegalArgumentException("A model built in Java (optBlock / setBlock) is"
                    + " quantized dynamically, with per-channel weights and per-tensor activations"
                    + " quantized per call; it cannot honour " + String.join(", ", unsupported)
                    + ". Export the block to ONNX and load the file for these options.");
        }
    }

    private static void visit(Block block, String path, LayerFilter filter,
            List<LayerReport> reports) {
        if (block instanceof Linear || block instanceof Conv2d) {
            Parameter weight = block.getParameters().get("weight");
            String type = block instanceof Linear ? "Linear" : "Conv2d";
            String name = path.isEmpty() ? type : path;
            reports.add(quantizeWeight(name, type, weight, filter));
            return;
        }
        for (Pair<String, Block> child : block.getChildren()) {
            visit(child.getValue(), path.isEmpty() ? child.getKey() : path + '/' + child.getKey(),
                    filter, reports);
        }
    }

    private static LayerReport quantizeWeight(String name, String type, Parameter weight,
            LayerFilter filter) {
        if (weight == null || !weight.isInitialized()) {
            throw new IllegalArgumentException(
                    "Layer '" + name + "' is not initialized: initialize the block (or load its"
                            + " parameters) before quantizing it");
        }
        NDArray array = weight.getArray();
        long elements = array.getShape().size();
        if (!filter.accepts(name, type)) {
            return new LayerReport(name, type, false, "excluded by the configuration", "", null,
                    null, Double.NaN, Double.NaN, elements);
        }
        if (!(array instanceof QuantInt8NDArray ours)) {
            throw new IllegalArgumentException(
                    "Layer '" + name + "': its weight is a " + array.getClass().getSimpleName()
                            + "; initialize the block with the QuantInt8 engine's manager");
        }
        if (ours.isQuantized()) {
            return new LayerReport(name, type, true, "quantized already", "",
                    ours.getQuantization(), null, Double.NaN, Double.NaN, elements);
        }
        float[] original = array.toFloatArray();
        QuantInt8NDArray quantized = Int8Ops.quantizePerChannel(array, 0);
        float[] restored = Int8Ops.dequantize(quantized).toFloatArray();
        double sqnr = QuantizationError.sqnrDb(original, restored);
        array.intern(quantized);
        return new LayerReport(name, type, true, "dynamic", "per-call min-max",
                ours.getQuantization(), null, sqnr, Double.NaN, elements);
    }
}
