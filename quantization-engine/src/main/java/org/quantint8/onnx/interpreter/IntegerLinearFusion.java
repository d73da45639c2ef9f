package org.quantint8.onnx.interpreter;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxOpsetImport;
import org.quantint8.onnx.OnnxTensor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fuses each dynamically quantized projection of a graph,
 *
 * <pre>
 *   DynamicQuantizeLinear(X) -> (Xq, x_scale, x_zero_point)
 *   MatMulInteger(Xq, B, x_zero_point[, b_zero_point]) -> Cast(FLOAT) -> Mul(., Mul(x_scale, b_scale))
 * </pre>
 *
 * <p>into one node {@code org.quantint8:QuantizeMatMul(X, B, b_scale[, b_zero_point])} that
 * runs as a single INT8 linear: one operator call instead of five, and no INT32 tensor in between.
 * This is the form QuantInt8's quantizer writes and ONNX Runtime's dynamic quantizer writes too.
 * It changes only how the interpreter runs the graph, never a file, and the fused operator gives the
 * same bits as the chain. A chain is fused only when nothing else reads its intermediate values.
 *
 * <p>B may also be {@code Transpose(T)} of a constant [N, K] table (a head tied to the token
 * embedding): the fused node then reads T itself with {@code transB = 1}, which is already the
 * kernel's [N, K] layout, and the {@code Transpose} is dropped once nothing else reads it, so the
 * table is neither transposed on each call nor held twice.
 *
 * <p>The same chain around {@code ConvInteger} (a constant weight) becomes {@code
 * org.quantint8:QuantizeConv(X, W, w_scale, [w_zero_point], [B], [bn_scale, bn_bias,
 * bn_mean, bn_var])} with the convolution's attributes, taking along what follows it when the
 * parameters are constant: {@code Add} of a per-channel bias, an inference-mode {@code
 * BatchNormalization} ({@code epsilon} copied) and {@code Relu} ({@code relu = 1}), in that
 * order, each optional. A ResNet block's convolution then runs as one operator instead of eight.
 *
 * <p>The static form of either chain, {@code QuantizeLinear(X, x_scale, x_zero_point)} with
 * constant per-tensor parameters (the same zero point given to the integer operator) and a Mul by
 * a constant (the product {@code x_scale * w_scale[c]} QuantInt8's quantizer writes), fuses the
 * same way: the constant takes w_scale's place and the input's parameters are kept on the node
 * ({@link StaticInput}). Unfused, a statically quantized ResNet-50 ran its convolutions' chains
 * node by node, more than twice as slow as the dynamic one.
 *
 * <p>A projection whose input QuantInt8's quantizer quantized per token (per row) becomes the
 * same operator with {@code per_token = 1} ({@link PerTokenLinearFusion}).
 */
final class IntegerLinearFusion {

    /** The domain of QuantInt8's own operators. */
    static final String DOMAIN = "org.quantint8";
    /** The fused operator. */
    static final String FUSED_OP = "QuantizeMatMul";
    /** The fused operator's attribute that says B is given as [N, K]. */
    static final String TRANS_B = "transB";
    /** The fused convolution. */
    static final String FUSED_CONV = "QuantizeConv";
    /** The fused convolution's attribute that says a Relu follows. */
    static final String RELU = "relu";

    private IntegerLinearFusion() {}

    /**
     * Returns the model with every matching chain fused, or the model itself when none matches.
     *
     * @param model the model
     * @return the fused model
     */
    static OnnxModel apply(OnnxModel model) {
        OnnxGraph graph = model.getGraph();
        Map<String, OnnxNode> producers = new HashMap<>();
        Map<String, List<OnnxNode>> readers = new HashMap<>();
        for (OnnxNode node : graph.getNodes()) {
            node.getOutputs().forEach(o -> producers.put(o, node));
            for (String input : node.getInputs()) {
                readers.computeIfAbsent(input, k -> new ArrayList<>()).add(node);
            }
        }
        Set<String> graphOutputs = new HashSet<>();
        graph.getOutputs().forEach(o -> graphOutputs.add(o.getName()));
        Map<OnnxNode, OnnxNode> fusedAt = new HashMap<>();
        Set<OnnxNode> removed = new HashSet<>();
        Set<OnnxNode> transposes = new HashSet<>();
        Set<OnnxNode> perTokenQuantizers = new HashSet<>();
        Set<OnnxNode> quantizers = new LinkedHashSet<>();
        PerTokenLinearFusion perToken = new PerTokenLinearFusion(graph,
                model.getDefaultOpsetVersion().orElse(1), producers, readers, graphOutputs);
        for (OnnxNode node : graph.getNodes()) {
            PerTokenLinearFusion.Site site = perToken.match(node);
            if (site != null) {
                fusedAt.put(site.last(), site.fused());
                removed.addAll(site.site());
                perTokenQuantizers.addAll(site.quantization());
                if (site.transpose() != null) {
                    transposes.add(site.transpose());
                }
                continue;
            }
            Chain chain = Chain.match(node, graph, producers, readers, graphOutputs);
            if (chain != null) {
                fusedAt.put(chain.mul, chain.fused());
                quantizers.add(chain.quantizer);
                removed.add(chain.matMul);
                removed.add(chain.cast);
                if (chain.scaleMul != null) {
                    removed.add(chain.scaleMul);
                }
                removed.addAll(chain.tail.nodes());
                if (chain.transpose != null) {
                    transposes.add(chain.transpose);
                }
            }
        }
        if (fusedAt.isEmpty()) {
            return model;
        }
        removeUnread(quantizers, readers, removed, graphOutputs);
        // Last node first: a per-token quantization's nodes read one another.
        List<OnnxNode> perTokenNodes = new ArrayList<>(graph.getNodes().stream()
                .filter(perTokenQuantizers::contains).toList());
        removeUnread(perTokenNodes.reversed(), readers, removed, graphOutputs);
        removeUnread(transposes, readers, removed, graphOutputs);
        OnnxGraph.Builder out = graph.toBuilderWithoutNodes(t -> true);
        for (OnnxNode node : graph.getNodes()) {
            OnnxNode fused = fusedAt.get(node);
            if (fused != null) {
                out.addNode(fused);
            } else if (!removed.contains(node)) {
                out.addNode(node);
            }
        }
        return model.toBuilder(out.build()).addOpsetImport(DOMAIN, 1).build();
    }

    /** Whether {@code reader} is the only reader of {@code value}, which is no graph output. */
    static boolean onlyReader(String value, OnnxNode reader, Map<String, List<OnnxNode>> readers,
            Set<String> graphOutputs) {
        List<OnnxNode> all = readers.getOrDefault(value, List.of());
        return !graphOutputs.contains(value) && all.size() == 1 && all.get(0) == reader;
    }

    /** Removes the candidates (quantizers, weight transposes) whose every reader was fused away. */
    private static void removeUnread(Collection<OnnxNode> candidates,
            Map<String, List<OnnxNode>> readers, Set<OnnxNode> removed, Set<String> graphOutputs) {
        for (OnnxNode node : candidates) {
            boolean unread = node.getOutputs().stream().noneMatch(graphOutputs::contains)
                    && node.getOutputs().stream().allMatch(o ->
                            readers.getOrDefault(o, List.of()).stream().allMatch(removed::contains));
            if (unread) {
                removed.add(node);
            }
        }
    }

    /** Returns {@code node} if it swaps the two axes of a 2-D initializer, else null. */
    static OnnxNode constantMatrixTranspose(OnnxNode node, OnnxGraph graph) {
        if (node == null || !isDefault(node, "Transpose")) {
            return null;
        }
        OnnxTensor table = graph.getInitializer(node.getInputs().get(0));
        long[] perm = node.getInts("perm", new long[] {1, 0});
        boolean swap = perm.length == 2 && perm[0] == 1 && perm[1] == 0;
        return table != null && table.getDims().length == 2 && swap ? node : null;
    }

    /** Whether the node is the standard ONNX operator {@code opType}. */
    static boolean isDefault(OnnxNode node, String opType) {
        return node.getOpType().equals(opType)
                && OnnxOpsetImport.isDefaultDomain(node.getDomain());
    }

    /**
     * One matched chain, from its Mul back to its quantizer; {@code matMul} is the MatMulInteger
     * or ConvInteger, {@code tail} what a convolution takes along after the Mul.
     */
    private record Chain(OnnxNode quantizer, OnnxNode matMul, OnnxNode cast, OnnxNode mul,
            OnnxNode scaleMul, String weightScale, OnnxNode transpose, ConvTail tail,
            StaticInput staticInput) {

        static Chain match(OnnxNode mul, OnnxGraph graph, Map<String, OnnxNode> producers,
                Map<String, List<OnnxNode>> readers, Set<String> graphOutputs) {
            if (!isDefault(mul, "Mul") || mul.getInputs().size() != 2) {
                return null;
            }
            for (int side = 0; side < 2; side++) {
                Chain chain = match(mul, mul.getInputs().get(side), mul.getInputs().get(1 - side),
                        graph, producers, readers, graphOutputs);
                if (chain != null) {
                    return chain;
                }
            }
            return null;
        }

        private static Chain match(OnnxNode mul, String accumulator, String scale, OnnxGraph graph,
                Map<String, OnnxNode> producers, Map<String, List<OnnxNode>> readers,
                Set<String> graphOutputs) {
            OnnxNode cast = producers.get(accumulator);
            OnnxNode scaleMul = producers.get(scale);
            if (cast == null || !isDefault(cast, "Cast") || cast.getInt("to", 0) != 1
                    || !onlyReader(accumulator, mul, readers, graphOutputs)) {
                return null;
            }
            OnnxNode matMul = producers.get(cast.getInputs().get(0));
            boolean conv = matMul != null && isDefault(matMul, "ConvInteger");
            if (matMul == null || !(conv || isDefault(matMul, "MatMulInteger"))
                    || matMul.getInputs().size() < 3
                    || !onlyReader(cast.getInputs().get(0), cast, readers, graphOutputs)) {
                return null;
            }
            String weight = matMul.getInputs().get(1);
            OnnxNode transpose = graph.getInitializer(weight) == null && !conv
                    ? constantMatrixTranspose(producers.get(weight), graph)
                    : null;
            if (graph.getInitializer(weight) == null && transpose == null) {
                return null;
            }
            OnnxNode quantizer = producers.get(matMul.getInputs().get(0));
            if (quantizer == null
                    || !quantizer.getOutputs().get(0).equals(matMul.getInputs().get(0))) {
                return null;
            }
            String weightScale;
            StaticInput staticInput = null;
            if (isDefault(quantizer, "DynamicQuantizeLinear")) {
                // The scale product reads x_scale and a constant weight scale, in either order.
                if (scaleMul == null || !isDefault(scaleMul, "Mul")
                        || !onlyReader(scale, mul, readers, graphOutputs)
                        || !quantizer.getOutputs().get(2).equals(matMul.getInputs().get(2))) {
                    return null;
                }
                String xScale = quantizer.getOutputs().get(1);
                List<String> factors = scaleMul.getInputs();
                weightScale = factors.get(0).equals(xScale) ? factors.get(1)
                        : factors.get(1).equals(xScale) ? factors.get(0) : null;
            } else {
                // Static: the scale product is a constant, x's parameters constants too.
                staticInput = StaticInput.of(quantizer, matMul.getInputs().get(2), graph);
                scaleMul = null;
                weightScale = staticInput == null ? null : scale;
            }
            if (weightScale == null || graph.getInitializer(weightScale) == null) {
                return null;
            }
            ConvTail tail = conv
                    ? ConvTail.match(mul, matMul, graph, readers, graphOutputs)
                    : ConvTail.NONE;
            return new Chain(quantizer, matMul, cast, mul, scaleMul, weightScale, transpose, tail,
                    staticInput);
        }

        OnnxNode fused() {
            boolean conv = isDefault(matMul, "ConvInteger");
            String output = tail.output() != null ? tail.output() : mul.getOutputs().get(0);
            OnnxNode.Builder b = OnnxNode.builder().setOpType(conv ? FUSED_CONV : FUSED_OP)
                    .optDomain(DOMAIN)
                    .optName(matMul.getName().isEmpty() ? output : matMul.getName())
                    .addInput(quantizer.getInputs().get(0), weight(), weightScale);
            boolean zeroPoint =
                    matMul.getInputs().size() > 3 && !matMul.getInputs().get(3).isEmpty();
            if (zeroPoint || conv && tail.hasInputs()) {
                b.addInput(zeroPoint ? matMul.getInputs().get(3) : "");
            }
            if (transpose != null) {
                b.addAttribute(OnnxAttribute.ofInt(TRANS_B, 1));
            }
            if (conv) {
                matMul.getAttributes().values().forEach(b::addAttribute);
                tail.addTo(b);
            }
            if (staticInput != null) {
                staticInput.addTo(b);
            }
            return b.addOutput(output).build();
        }

        /** The constant B: the initializer MatMulInteger reads, or the one it reads transposed. */
        private String weight() {
            return transpose == null ? matMul.getInputs().get(1) : transpose.getInputs().get(0);
        }
    }
}
