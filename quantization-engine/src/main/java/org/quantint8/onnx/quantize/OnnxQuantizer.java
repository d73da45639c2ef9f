package org.quantint8.onnx.quantize;

import org.quantint8.calibration.Granularity;
import org.quantint8.calibration.LayerReport;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.calibration.QuantizationReport;
import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Post-training quantization of an ONNX model: every {@link QuantizableSite} the configuration
 * accepts gets INT8 weights (per output channel by default) and runs as an integer operator, with
 * activations quantized per call (dynamic; per tensor, or per token when the configuration's
 * activation granularity says so) or with calibrated parameters (static); in weight-only mode the
 * operators stay FP32 and read INT8 weights dequantized. Chosen layers can also quantize their
 * input per token whatever the mode ({@link Builder#optPerTokenLayers}): the per-token fallback of
 * automatic mixed precision.
 *
 * <pre>{@code
 * QuantizedOnnxModel q = OnnxQuantizer.builder()
 *         .optConfig(QuantizationConfig.builder().optMode(QuantizationMode.DYNAMIC).build())
 *         .build()
 *         .quantize(model);
 * }</pre>
 */
public final class OnnxQuantizer {

    private final QuantizationConfig config;
    private final Map<String, QuantizationParameters> activations;
    private final Map<String, String> keepInFp32;
    private final Map<String, String> perTokenLayers;

    private OnnxQuantizer(Builder builder) {
        this.config = builder.config;
        this.activations = Map.copyOf(builder.activations);
        this.keepInFp32 = Map.copyOf(builder.keepInFp32);
        this.perTokenLayers = Map.copyOf(builder.perTokenLayers);
    }

    /**
     * Returns a builder.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Quantizes a model.
     *
     * @param model the FP32 model
     * @return the quantized model and its report
     * @throws IllegalArgumentException if static mode lacks the parameters of a site's input, or
     *     the model's opset is too old for the integer operators
     */
    public QuantizedOnnxModel quantize(OnnxModel model) {
        OnnxGraph source = model.getGraph();
        long opset = model.getDefaultOpsetVersion().orElse(1);
        boolean dynamic = config.getMode() == QuantizationMode.DYNAMIC;
        boolean weightOnly = config.getMode() == QuantizationMode.WEIGHT_ONLY;
        // Per-token quantization, like DynamicQuantizeLinear, needs opset 11.
        long needed = dynamic || !perTokenLayers.isEmpty() ? 11 : 10;
        if (opset < needed) {
            throw new IllegalArgumentException(
                    "Quantization needs opset " + needed + " or later, the model has " + opset);
        }
        List<String> unsupported = new ArrayList<>();
        Map<OnnxNode, QuantizableSite> sites = new HashMap<>();
        Map<OnnxNode, String> kept = new HashMap<>();
        for (QuantizableSite site : QuantizableSite.find(source, unsupported)) {
            sites.put(site.node(), site);
            boolean accepted =
                    config.getLayerFilter().accepts(site.layerName(), site.node().getOpType());
            String keep = !accepted
                    ? "excluded by the configuration"
                    : keepInFp32.getOrDefault(site.layerName(), convWithoutPerToken(site));
            if (keep != null) {
                kept.put(site.node(), keep);
            }
        }
        Set<OnnxNode> rewritten = new HashSet<>(sites.keySet());
        rewritten.removeAll(kept.keySet());
        Set<OnnxNode> replacedTransposes = replacedTransposes(source, sites, rewritten);
        // The source's initializers come at the end, once it is known which ones are still read.
        OnnxGraph.Builder graph = source.toBuilderWithoutNodes(t -> false);
        boolean allPerToken = config.getActivationGranularity() == Granularity.PER_TOKEN;
        IntegerOpsRewriter rewriter =
                new IntegerOpsRewriter(source, graph, valueNames(source), opset);
        List<LayerReport> reports = new ArrayList<>();
        Map<String, QuantizedWeight> weights = new HashMap<>();
        for (OnnxNode node : source.getNodes()) {
            QuantizableSite site = sites.get(node);
            if (replacedTransposes.contains(node)) {
                continue; // the rewritten sites transpose the 8-bit table instead
            }
            if (site == null || kept.containsKey(node)) {
                graph.addNode(node);
                if (site != null) {
                    reports.add(new LayerReport(site.layerName(), node.getOpType(), false,
                            kept.get(node), "", null, null, Double.NaN, Double.NaN,
                            OnnxTensor.elementCount(site.weight().getDims())));
                }
                continue;
            }
            boolean gather = site.kind() == QuantizableSite.Kind.GATHER;
            String perTokenReason = perTokenLayers.get(site.layerName());
            boolean perToken = allPerToken || perTokenReason != null;
            QuantizationParameters activation =
                    dynamic || gather || weightOnly || perToken ? null : activationOf(site);
            boolean perChannel = QuantizedWeight.perChannel(site, config, opset);
            String key = QuantizedWeight.sharingKey(site, perChannel);
            // A table shared by a Gather and a tied head is stored, and reported, once.
            boolean shared = weights.containsKey(key);
            QuantizedWeight weight = weights.computeIfAbsent(
                    key, k -> QuantizedWeight.of(site, config, perChannel));
            if (weightOnly) {
                rewriter.rewriteWeightOnly(site, weight);
            } else {
                rewriter.rewrite(site, weight, activation, perToken);
            }
            reports.add(new LayerReport(site.layerName(), node.getOpType(), true,
                    mode(gather || weightOnly, perTokenReason, dynamic), gather || weightOnly ? "" : activationSource(site, activation, perToken),
                    weight.parameters(), activation, weight.sqnrDb(), Double.NaN,
                    shared ? 0 : OnnxTensor.elementCount(site.weight().getDims())));
        }
        Set<String> used = stillUsed(source, sites, rewritten, replacedTransposes);
        source.getInitializers().values().stream().filter(t -> used.contains(t.getName()))
                .forEach(graph::addInitializer);
        OnnxModel.Builder out = model.toBuilder(graph.build())
                .optProducerName("QuantInt8").optProducerVersion("0.1.0");
        out.addMetadataProp("quantint8.mode", config.getMode().name());
        return new QuantizedOnnxModel(out.build(), new QuantizationReport(reports), unsupported);
    }

    /** How the report names a quantized site's mode. */
    private static String mode(boolean weightOnly, String perTokenReason, boolean dynamic) {
        if (weightOnly) {
            return "weight-only";
        }
        if (perTokenReason != null) {
            return "dynamic per token: " + perTokenReason;
        }
        return dynamic ? "dynamic" : "static";
    }

    /**
     * Why a site chosen for the per-token fallback stays FP32 instead: a {@code Conv} input stays
     * per tensor. Null for every other site.
     */
    private String convWithoutPerToken(QuantizableSite site) {
        String reason = perTokenLayers.get(site.layerName());
        if (reason == null || site.kind() != QuantizableSite.Kind.CONV) {
            return null;
        }
        return reason + "; kept in FP32: a Conv input is not quantized per token";
    }

    /** How the report describes where a site's activation range comes from. */
    private static String activationSource(QuantizableSite site,
            QuantizationParameters calibrated, boolean perToken) {
        if (calibrated != null) {
            return "calibrated";
        }
        boolean rows = perToken && site.kind() != QuantizableSite.Kind.CONV;
        return rows ? "per-call min-max per token" : "per-call min-max";
    }

    private QuantizationParameters activationOf(QuantizableSite site) {
        String input = site.node().getInputs().get(0);
        QuantizationParameters p = activations.get(input);
        if (p == null) {
            throw new IllegalArgumentException(
                    "Static quantization of " + site.node().describe() + " needs calibrated"
                            + " parameters for its input '" + input + "'");
        }
        if (p.isPerChannel()) {
            throw new IllegalArgumentException(
                    "Activation '" + input + "' must be quantized per tensor, got " + p);
        }
        return p;
    }

    /**
     * The {@code Transpose} nodes of rewritten sites that nothing else reads: dropped, so that
     * the FP32 table they read is not kept for them.
     */
    private static Set<OnnxNode> replacedTransposes(
            OnnxGraph source, Map<OnnxNode, QuantizableSite> sites, Set<OnnxNode> rewritten) {
        Map<String, List<OnnxNode>> readers = new HashMap<>();
        for (OnnxNode node : source.getNodes()) {
            for (String input : node.getInputs()) {
                readers.computeIfAbsent(input, k -> new ArrayList<>()).add(node);
            }
        }
        Set<String> graphOutputs = new HashSet<>();
        source.getOutputs().forEach(o -> graphOutputs.add(o.getName()));
        Set<OnnxNode> replaced = new HashSet<>();
        for (OnnxNode node : rewritten) {
            OnnxNode transpose = sites.get(node).transpose();
            if (transpose != null) {
                String value = transpose.getOutputs().get(0);
                if (!graphOutputs.contains(value)
                        && rewritten.containsAll(readers.getOrDefault(value, List.of()))) {
                    replaced.add(transpose);
                }
            }
        }
        return replaced;
    }

    /** The FP32 weights still read by a node that is kept, or by a graph output. */
    private static Set<String> stillUsed(OnnxGraph source, Map<OnnxNode, QuantizableSite> sites,
            Set<OnnxNode> rewritten, Set<OnnxNode> dropped) {
        Set<String> used = new HashSet<>();
        for (OnnxNode node : source.getNodes()) {
            if (dropped.contains(node)) {
                continue;
            }
            QuantizableSite site = sites.get(node);
            boolean replaced = rewritten.contains(node);
            int weightInput = site != null && site.kind() == QuantizableSite.Kind.GATHER ? 0 : 1;
            // A rewritten Conv adds its bias reshaped to [1, OC, 1, 1].
            int biasInput = site != null && site.kind() == QuantizableSite.Kind.CONV ? 2 : -1;
            for (int i = 0; i < node.getInputs().size(); i++) {
                // A rewritten node reads the quantized weight, and still its other inputs.
                if (!(replaced && (i == weightInput || i == biasInput))) {
                    used.add(node.getInputs().get(i));
                }
            }
        }
        source.getOutputs().forEach(o -> used.add(o.getName()));
        return used;
    }

    private static Set<String> valueNames(OnnxGraph graph) {
        Set<String> names = new HashSet<>(graph.getInitializers().keySet());
        for (OnnxNode node : graph.getNodes()) {
            names.addAll(node.getOutputs());
            names.add(node.getName());
        }
        graph.getInputs().forEach(i -> names.add(i.getName()));
        return names;
    }

    /** Configures an {@link OnnxQuantizer}. */
    public static final class Builder {

        private QuantizationConfig config =
                QuantizationConfig.builder().optMode(QuantizationMode.DYNAMIC).build();
        private final Map<String, QuantizationParameters> activations = new HashMap<>();
        private final Map<String, String> keepInFp32 = new HashMap<>();
        private final Map<String, String> perTokenLayers = new HashMap<>();

        Builder() {}

        /**
         * Keeps layers in FP32 although the configuration accepts them, for example the most
         * sensitive ones found by mixed-precision planning.
         *
         * @param reasons why each layer stays in FP32, by layer name
         * @return this builder
         */
        public Builder optKeepInFp32(Map<String, String> reasons) {
            keepInFp32.putAll(reasons);
            return this;
        }

        /**
         * Quantizes the input of the named layers per token, measured on every call, whatever
         * the mode and activation granularity: their weights stay INT8. A named {@code Conv}
         * layer stays in FP32 instead (its input is not quantized per token); a layer also kept
         * in FP32 by {@link #optKeepInFp32} stays FP32.
         *
         * @param reasons why each layer is quantized per token, by layer name, for the report
         * @return this builder
         */
        public Builder optPerTokenLayers(Map<String, String> reasons) {
            perTokenLayers.putAll(reasons);
            return this;
        }

        /**
         * Sets the configuration; by default dynamic quantization with per-channel INT8 weights.
         *
         * @param config the configuration
         * @return this builder
         */
        public Builder optConfig(QuantizationConfig config) {
            this.config = config;
            return this;
        }

        /**
         * Sets the calibrated parameters of activation tensors, by tensor name; static mode needs
         * those of every quantized node's input.
         *
         * @param parameters per-tensor parameters by tensor name
         * @return this builder
         */
        public Builder optActivationParameters(Map<String, QuantizationParameters> parameters) {
            activations.putAll(parameters);
            return this;
        }

        /**
         * Builds the quantizer.
         *
         * @return the quantizer
         */
        public OnnxQuantizer build() {
            return new OnnxQuantizer(this);
        }
    }
}
