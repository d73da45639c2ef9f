package org.quantint8.onnx.quantize;

import org.quantint8.calibration.LayerFilter;
import org.quantint8.calibration.SmoothQuant;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SmoothQuant on an ONNX graph, before quantization: for each group of {@code MatMul} / {@code
 * Gemm} layers that read the same activation X, it moves part of X's per-channel range into the
 * weights, {@code X W = (X / s)(s W)}, so that outlier channels stop dictating the activation
 * scale. The model computes the same function in FP32.
 *
 * <p>The division is an explicit {@code Mul(X, 1 / s)} read only by the group: folding 1 / s into
 * the preceding normalization would also scale the residual path that reads the same tensor.
 */
final class SmoothQuantTransform {

    private SmoothQuantTransform() {}

    /**
     * Smooths the accepted layers of a model.
     *
     * @param model the FP32 model
     * @param channelAbsMax the largest magnitude of each channel of each layer input, from
     *     calibration
     * @param filter which layers to consider
     * @param alpha the share of the activation range moved into the weights
     * @return the smoothed FP32 model
     */
    static OnnxModel apply(OnnxModel model, Map<String, float[]> channelAbsMax,
            LayerFilter filter, double alpha) {
        OnnxGraph source = model.getGraph();
        Map<String, List<QuantizableSite>> groups = new LinkedHashMap<>();
        for (QuantizableSite site : QuantizableSite.find(source, new ArrayList<>())) {
            String input = site.node().getInputs().get(0);
            // A table read through a Transpose (a tied head) also feeds its Gather: scaling it
            // would change the embeddings.
            boolean linear = (site.kind() == QuantizableSite.Kind.MATMUL
                    || site.kind() == QuantizableSite.Kind.GEMM) && site.transpose() == null;
            if (linear
                    && filter.accepts(site.layerName(), site.node().getOpType())
                    && channelAbsMax.containsKey(input)) {
                groups.computeIfAbsent(input, k -> new ArrayList<>()).add(site);
            }
        }
        Map<OnnxNode, OnnxNode> replaced = new LinkedHashMap<>();
        Map<OnnxNode, OnnxNode> scaleNodeBefore = new LinkedHashMap<>();
        List<OnnxTensor> added = new ArrayList<>();
        Set<String> dropped = new HashSet<>();
        SmoothQuant smoothQuant = new SmoothQuant(alpha);
        for (Map.Entry<String, List<QuantizableSite>> group : groups.entrySet()) {
            float[] factors = factors(smoothQuant, group.getValue(), channelAbsMax.get(group.getKey()));
            String x = group.getKey();
            String smoothed = x + "/smoothquant";
            float[] inverse = new float[factors.length];
            for (int j = 0; j < factors.length; j++) {
                inverse[j] = 1f / factors[j];
            }
            added.add(OnnxTensor.of(smoothed + "/inverse_factors", inverse, inverse.length));
            OnnxNode mul = OnnxNode.builder().setOpType("Mul").optName(smoothed)
                    .addInput(x, smoothed + "/inverse_factors").addOutput(smoothed).build();
            scaleNodeBefore.put(group.getValue().get(0).node(), mul);
            for (QuantizableSite site : group.getValue()) {
                OnnxTensor weight = scaledWeight(site, factors);
                added.add(weight);
                dropped.add(site.weight().getName());
                replaced.put(site.node(), rewire(site.node(), smoothed, weight.getName()));
            }
        }
        return rebuild(model, replaced, scaleNodeBefore, added, dropped);
    }

    /** One factor per input channel for the whole group, from its stacked weights [out, in]. */
    private static float[] factors(SmoothQuant smoothQuant, List<QuantizableSite> sites,
            float[] absMax) {
        int in = absMax.length;
        List<float[]> rows = new ArrayList<>();
        for (QuantizableSite site : sites) {
            float[] w = site.weight().toFloatArray();
            boolean inputMajor = site.weightChannelAxis() == 1; // [K, N]
            long[] d = site.weight().getDims();
            int out = (int) (inputMajor ? d[1] : d[0]);
            if ((inputMajor ? d[0] : d[1]) != in) {
                throw new IllegalArgumentException("Layer '" + site.layerName() + "': weight "
                        + java.util.Arrays.toString(d) + " does not take " + in + " input channels");
            }
            for (int o = 0; o < out; o++) {
                float[] row = new float[in];
                for (int j = 0; j < in; j++) {
                    row[j] = inputMajor ? w[j * out + o] : w[o * in + j];
                }
                rows.add(row);
            }
        }
        float[] stacked = new float[rows.size() * in];
        for (int r = 0; r < rows.size(); r++) {
            System.arraycopy(rows.get(r), 0, stacked, r * in, in);
        }
        return smoothQuant.apply(sites.get(0).layerName(), absMax, stacked, rows.size(), in)
                .getFactors();
    }

    private static OnnxTensor scaledWeight(QuantizableSite site, float[] factors) {
        float[] w = site.weight().toFloatArray();
        long[] d = site.weight().getDims();
        boolean inputMajor = site.weightChannelAxis() == 1;
        int cols = (int) d[1];
        for (int i = 0; i < w.length; i++) {
            int j = inputMajor ? i / cols : i % cols; // the input channel of element i
            w[i] *= factors[j];
        }
        return OnnxTensor.of(site.weight().getName() + "/smoothed", w, d);
    }

    private static OnnxNode rewire(OnnxNode node, String input, String weight) {
        OnnxNode.Builder b = OnnxNode.builder().setOpType(node.getOpType())
                .optDomain(node.getDomain()).optName(node.getName())
                .addInput(input, weight);
        node.getInputs().stream().skip(2).forEach(b::addInput);
        node.getOutputs().forEach(b::addOutput);
        node.getAttributes().values().forEach(b::addAttribute);
        return b.build();
    }

    private static OnnxModel rebuild(OnnxModel model, Map<OnnxNode, OnnxNode> replaced,
            Map<OnnxNode, OnnxNode> scaleNodeBefore, List<OnnxTensor> added, Set<String> dropped) {
        OnnxGraph source = model.getGraph();
        List<OnnxNode> nodes = new ArrayList<>();
        Set<String> stillRead = new HashSet<>();
        for (OnnxNode node : source.getNodes()) {
            OnnxNode scale = scaleNodeBefore.get(node);
            if (scale != null) {
                nodes.add(scale);
            }
            OnnxNode out = replaced.getOrDefault(node, node);
            stillRead.addAll(out.getInputs());
            nodes.add(out);
        }
        OnnxGraph.Builder graph = source.toBuilderWithoutNodes(
                t -> !dropped.contains(t.getName()) || stillRead.contains(t.getName()));
        nodes.forEach(graph::addNode);
        added.forEach(graph::addInitializer);
        return model.toBuilder(graph.build()).build();
    }
}
