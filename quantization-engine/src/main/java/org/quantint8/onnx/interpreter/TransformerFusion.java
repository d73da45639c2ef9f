package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.IntegerLinearFusion.isDefault;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
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
 * Fuses the FP32 chains that transformer exports spell out node by node into single operators
 * that run in Java ({@link TransformerOperators}), so that a layer's FP32 work between its INT8
 * projections is a few operator calls rather than a dozen PyTorch round trips:
 *
 * <ul>
 *   <li>layer normalization over the last axis, {@code ReduceMean, Sub, Pow(2), ReduceMean, Add
 *       (eps), Sqrt, Div, Mul(gamma), Add(beta)} (Hugging Face's BERT exports), becomes {@code
 *       LayerNormalization(axis = -1, epsilon)};
 *   <li>GELU, {@code 0.5 x (1 + erf(x / sqrt 2))} (BERT) or {@code 0.5 x (1 + tanh(sqrt(2 / pi)
 *       (x + 0.044715 x^3)))} (GPT-2), with the factor 0.5 applied first or last, becomes {@code
 *       org.quantint8:Gelu(approximate = "none" | "tanh")};
 *   <li>{@code org.quantint8:QuantizeMatMul} followed by {@code Add} of a constant [N]
 *       bias takes the bias as its fifth input: the epilogue adds it in FP32 after the scale,
 *       exactly as the Add did, so the result has the same bits;
 *   <li>{@code org.quantint8:QuantizeMatMul} read only by the fused GELU takes it as
 *       {@code activation = "gelu_erf" | "gelu_tanh"}: the GEMM's epilogue applies it to the
 *       accumulators in registers, with the same bits as the GELU operator;
 *   <li>{@code LayerNormalization} of a residual {@code Add} becomes {@code
 *       org.quantint8:AddLayerNormalization}, with the sum as a second output when something else
 *       reads it;
 *   <li>multi-head attention, from the heads' {@code Reshape} and {@code Transpose} through
 *       the scores, scale, mask, {@code Softmax} and context product to the heads' merging
 *       {@code Transpose}, becomes {@code org.quantint8:Attention} ({@link AttentionFusion});
 *   <li>a fused projection whose readers all run in Java gets {@code keepInQuantInt8 = 1}: its
 *       result is not copied into PyTorch.
 * </ul>
 *
 * <p>Like {@link IntegerLinearFusion} it changes only how the interpreter runs a graph, never a
 * file, and fuses a chain only when nothing outside it reads its intermediate values. Constants
 * are compared with a relative tolerance of 1e-6, which accepts each exporter's FP32 rounding of
 * sqrt 2 or sqrt(2 / pi) and nothing else.
 */
final class TransformerFusion {

    /** The fused projection's attribute naming the GELU its epilogue applies. */
    static final String ACTIVATION = "activation";

    private static final double CONSTANT_TOLERANCE = 1e-6;

    private final OnnxGraph graph;
    final Map<String, OnnxNode> producers = new HashMap<>();
    final Map<String, List<OnnxNode>> readers = new HashMap<>();
    final Set<String> graphOutputs = new HashSet<>();
    private final Map<OnnxNode, OnnxNode> fusedAt = new HashMap<>();
    private final Set<OnnxNode> removed = new HashSet<>();

    private TransformerFusion(OnnxGraph graph) {
        this.graph = graph;
        for (OnnxNode node : graph.getNodes()) {
            node.getOutputs().forEach(o -> producers.put(o, node));
            node.getInputs().forEach(i -> readers.computeIfAbsent(i, k -> new ArrayList<>())
                    .add(node));
        }
        graph.getOutputs().forEach(o -> graphOutputs.add(o.getName()));
    }

    /**
     * Returns the model with every matching chain fused, or the model itself when none matches.
     *
     * @param model the model, after {@link IntegerLinearFusion} if the bias is to be fused
     * @return the fused model
     */
    static OnnxModel apply(OnnxModel model) {
        OnnxModel chains = stage(model, (fusion, node) -> {
            if (isDefault(node, "Erf") || isDefault(node, "Tanh")) {
                fusion.gelu(node);
            } else if (isDefault(node, "ReduceMean")) {
                fusion.layerNorm(node);
            } else if (isFusedMatMul(node)) {
                fusion.bias(node);
            }
        });
        OnnxModel residuals = stage(chains, (fusion, node) -> {
            if (isDefault(node, "LayerNormalization")) {
                fusion.residual(node);
            } else if (isFusedMatMul(node)) {
                fusion.activation(node);
            }
        });
        OnnxModel attention = stage(residuals, (fusion, node) -> {
            if (isDefault(node, "Softmax")) {
                AttentionFusion.match(fusion, node);
            }
        });
        return stage(attention, TransformerFusion::keepInQuantInt8);
    }

    /** One pass over the graph: {@code match} records fusions, which then replace their nodes. */
    private static OnnxModel stage(OnnxModel model,
            java.util.function.BiConsumer<TransformerFusion, OnnxNode> match) {
        TransformerFusion fusion = new TransformerFusion(model.getGraph());
        model.getGraph().getNodes().forEach(node -> match.accept(fusion, node));
        if (fusion.fusedAt.isEmpty()) {
            return model;
        }
        OnnxGraph.Builder out = model.getGraph().toBuilderWithoutNodes(t -> true);
        for (OnnxNode node : model.getGraph().getNodes()) {
            OnnxNode fused = fusion.fusedAt.get(node);
            if (fused != null) {
                out.addNode(fused);
            } else if (!fusion.removed.contains(node)) {
                out.addNode(node);
            }
        }
        OnnxModel.Builder fused = model.toBuilder(out.build());
        if (model.getOpsetImports().stream()
                .noneMatch(o -> o.domain().equals(IntegerLinearFusion.DOMAIN))) {
            fused.addOpsetImport(IntegerLinearFusion.DOMAIN, 1);
        }
        return fused.build();
    }

    private static boolean isFusedMatMul(OnnxNode node) {
        return node.getDomain().equals(IntegerLinearFusion.DOMAIN)
                && node.getOpType().equals(IntegerLinearFusion.FUSED_OP);
    }

    /**
     * {@code LayerNormalization(Add(A, B))} over the last axis, A and B computed (a residual
     * connection), becomes {@code org.quantint8:AddLayerNormalization(A, B, gamma[, beta])}; when
     * the sum has other readers (GPT-2's residual stream) it is the fused node's second output.
     */
    private void residual(OnnxNode norm) {
        OnnxNode add = producerOf(norm.getInputs().get(0), "Add", null);
        if (add == null || add.getInputs().size() != 2 || norm.getInt("axis", -1) != -1
                || add.getInputs().stream().anyMatch(i -> constant(i) != null)
                || norm.getInputs().stream().skip(1).anyMatch(i -> constant(i) == null)) {
            return;
        }
        String sum = add.getOutputs().get(0);
        boolean shared = graphOutputs.contains(sum) || readers.get(sum).size() > 1;
        OnnxNode.Builder b = OnnxNode.builder().setOpType(TransformerOperators.ADD_LAYER_NORM)
                .optDomain(IntegerLinearFusion.DOMAIN).optName(norm.getName())
                .addInput(add.getInputs().get(0), add.getInputs().get(1))
                .addOutput(norm.getOutputs().get(0));
        norm.getInputs().stream().skip(1).forEach(b::addInput);
        norm.getAttributes().values().forEach(b::addAttribute);
        if (shared) {
            b.addOutput(sum);
        }
        // At the Add's place: a reader of the sum may come before the normalization.
        replace(List.of(add, norm), add, b.build());
    }

    /**
     * Marks the fused projections whose every reader runs in Java on QuantInt8 memory (GELU, the
     * normalizations, the attention, another projection, a Shape) or is the caller (as a graph
     * output, or through an {@code Identity}): their FP32 result then stays a QuantInt8 array
     * instead of being copied into PyTorch.
     */
    private void keepInQuantInt8(OnnxNode matMul) {
        if (!isFusedMatMul(matMul) || matMul.getInt(TransformerOperators.KEEP, 0) == 1) {
            return;
        }
        List<OnnxNode> uses = readers.getOrDefault(matMul.getOutputs().get(0), List.of());
        // Identity hands the array on as it is (GPT-2's logits); Shape reads only the shape
        // (Hugging Face's head-split targets).
        boolean java = uses.stream().allMatch(n -> isDefault(n, "LayerNormalization")
                || isDefault(n, "Identity") || isDefault(n, "Shape")
                || n.getDomain().equals(IntegerLinearFusion.DOMAIN));
        if (java) {
            OnnxNode.Builder b = OnnxNode.builder().setOpType(matMul.getOpType())
                    .optDomain(matMul.getDomain()).optName(matMul.getName());
            matMul.getInputs().forEach(b::addInput);
            matMul.getOutputs().forEach(b::addOutput);
            matMul.getAttributes().values().forEach(b::addAttribute);
            b.addAttribute(OnnxAttribute.ofInt(TransformerOperators.KEEP, 1));
            replace(List.of(matMul), matMul, b.build());
        }
    }

    /** GELU around its Erf or Tanh node {@code core}. */
    private void gelu(OnnxNode core) {
        boolean tanh = isDefault(core, "Tanh");
        List<OnnxNode> chain = new ArrayList<>();
        String x = tanh ? tanhArgument(core, chain) : erfArgument(core, chain);
        OnnxNode onePlus = soleReader(core, "Add");
        String other = onePlus == null ? null : otherInput(onePlus, core.getOutputs().get(0));
        OnnxNode product = onePlus == null || !isScalar(other, 1) ? null
                : soleReader(onePlus, "Mul");
        if (x == null || product == null) {
            return;
        }
        chain.add(core);
        chain.add(onePlus);
        chain.add(product);
        String factor = otherInput(product, onePlus.getOutputs().get(0));
        OnnxNode last;
        if (x.equals(factor)) { // (x * (1 + f)) * 0.5
            last = soleReader(product, "Mul");
            if (last == null || !isScalar(otherInput(last, product.getOutputs().get(0)), 0.5)) {
                return;
            }
            chain.add(last);
        } else { // (x * 0.5) * (1 + f)
            OnnxNode half = producerOf(factor, "Mul", product);
            if (half == null || !isScalar(otherInput(half, x), 0.5)) {
                return;
            }
            chain.add(half);
            last = product;
        }
        replace(chain, last, OnnxNode.builder().setOpType(TransformerOperators.GELU)
                .optDomain(IntegerLinearFusion.DOMAIN).optName(core.getName())
                .addInput(x).addOutput(last.getOutputs().get(0))
                .addAttribute(OnnxAttribute.ofString(TransformerOperators.APPROXIMATE,
                        tanh ? "tanh" : "none"))
                .build());
    }

    /** x of {@code Erf(x / sqrt 2)} or {@code Erf(x * (1 / sqrt 2))}; adds the scaling node. */
    private String erfArgument(OnnxNode erf, List<OnnxNode> chain) {
        OnnxNode scaled = producerOf(erf.getInputs().get(0), null, erf);
        String x = null;
        if (scaled != null && isDefault(scaled, "Div")
                && isScalar(scaled.getInputs().get(1), Math.sqrt(2))) {
            x = scaled.getInputs().get(0);
        } else if (scaled != null && isDefault(scaled, "Mul")) {
            x = operandBeside(scaled, 1 / Math.sqrt(2));
        }
        if (x != null) {
            chain.add(scaled);
        }
        return x;
    }

    /** x of {@code Tanh(sqrt(2 / pi) (x + 0.044715 Pow(x, 3)))}; adds the four inner nodes. */
    private String tanhArgument(OnnxNode tanh, List<OnnxNode> chain) {
        OnnxNode scaled = producerOf(tanh.getInputs().get(0), "Mul", tanh);
        String inner = scaled == null ? null : operandBeside(scaled, Math.sqrt(2 / Math.PI));
        OnnxNode sum = producerOf(inner, "Add", scaled);
        if (sum == null) {
            return null;
        }
        for (int side = 0; side < 2; side++) {
            String x = sum.getInputs().get(side);
            OnnxNode term = producerOf(sum.getInputs().get(1 - side), "Mul", sum);
            OnnxNode cube = term == null ? null
                    : producerOf(operandBeside(term, 0.044715), "Pow", term);
            if (cube != null && cube.getInputs().get(0).equals(x)
                    && isScalar(cube.getInputs().get(1), 3)) {
                chain.addAll(List.of(scaled, sum, term, cube));
                return x;
            }
        }
        return null;
    }

    /** The decomposed layer normalization starting at its first ReduceMean. */
    private void layerNorm(OnnxNode mean) {
        String x = mean.getInputs().get(0);
        OnnxNode sub = soleReader(mean, "Sub");
        if (!lastAxisMean(mean) || sub == null || !sub.getInputs().get(0).equals(x)) {
            return;
        }
        String centered = sub.getOutputs().get(0);
        List<OnnxNode> uses = readers.getOrDefault(centered, List.of());
        OnnxNode pow = uses.stream().filter(n -> isDefault(n, "Pow")).findFirst().orElse(null);
        OnnxNode div = uses.stream().filter(n -> isDefault(n, "Div")).findFirst().orElse(null);
        if (graphOutputs.contains(centered) || uses.size() != 2 || pow == null || div == null
                || !pow.getInputs().get(0).equals(centered) || !isScalar(pow.getInputs().get(1), 2)
                || !div.getInputs().get(0).equals(centered)) {
            return;
        }
        OnnxNode variance = soleReader(pow, "ReduceMean");
        OnnxNode plusEps = variance == null || !lastAxisMean(variance) ? null
                : soleReader(variance, "Add");
        Float eps = plusEps == null ? null
                : scalar(otherInput(plusEps, variance.getOutputs().get(0)));
        OnnxNode sqrt = eps == null ? null : soleReader(plusEps, "Sqrt");
        if (sqrt == null || !div.getInputs().get(1).equals(sqrt.getOutputs().get(0))
                || !IntegerLinearFusion.onlyReader(div.getInputs().get(1), div, readers,
                        graphOutputs)) {
            return;
        }
        OnnxNode scale = soleReader(div, "Mul");
        OnnxNode shift = scale == null ? null : soleReader(scale, "Add");
        String gamma = scale == null ? null : otherInput(scale, div.getOutputs().get(0));
        String beta = shift == null ? null : otherInput(shift, scale.getOutputs().get(0));
        if (!isVector(gamma) || !isVector(beta)) {
            return;
        }
        replace(List.of(mean, sub, pow, variance, plusEps, sqrt, div, scale, shift), shift,
                OnnxNode.builder().setOpType("LayerNormalization").optName(mean.getName())
                        .addInput(x).addInput(gamma).addInput(beta)
                        .addOutput(shift.getOutputs().get(0))
                        .addAttribute(OnnxAttribute.ofInt("axis", -1))
                        .addAttribute(OnnxAttribute.ofFloat("epsilon", eps))
                        .build());
    }

    /** A fused projection followed by Add of a constant [N] bias. */
    private void bias(OnnxNode matMul) {
        OnnxNode add = soleReader(matMul, "Add");
        String bias = add == null ? null : otherInput(add, matMul.getOutputs().get(0));
        if (matMul.getInputs().size() > 4 || !isVector(bias)) {
            return;
        }
        OnnxNode.Builder b = OnnxNode.builder().setOpType(matMul.getOpType())
                .optDomain(matMul.getDomain()).optName(matMul.getName());
        matMul.getInputs().forEach(b::addInput);
        for (int i = matMul.getInputs().size(); i < 4; i++) {
            b.addInput("");
        }
        b.addInput(bias).addOutput(add.getOutputs().get(0));
        matMul.getAttributes().values().forEach(b::addAttribute);
        replace(List.of(matMul, add), add, b.build());
    }

    /** A fused projection whose only reader is the fused GELU, which its epilogue then applies. */
    private void activation(OnnxNode matMul) {
        String out = matMul.getOutputs().get(0);
        List<OnnxNode> uses = readers.getOrDefault(out, List.of());
        OnnxNode gelu = uses.size() == 1 ? uses.get(0) : null;
        if (gelu == null || matMul.getOutputs().size() != 1 || graphOutputs.contains(out)
                || matMul.getAttributes().containsKey(ACTIVATION)
                || !gelu.getDomain().equals(IntegerLinearFusion.DOMAIN)
                || !gelu.getOpType().equals(TransformerOperators.GELU)) {
            return;
        }
        String form = gelu.getString(TransformerOperators.APPROXIMATE, "none");
        if (!form.equals("none") && !form.equals("tanh")) {
            return; // the Gelu operator reports it
        }
        OnnxNode.Builder b = OnnxNode.builder().setOpType(matMul.getOpType())
                .optDomain(matMul.getDomain()).optName(matMul.getName());
        matMul.getInputs().forEach(b::addInput);
        b.addOutput(gelu.getOutputs().get(0));
        matMul.getAttributes().values().forEach(b::addAttribute);
        b.addAttribute(OnnxAttribute.ofString(ACTIVATION,
                form.equals("none") ? "gelu_erf" : "gelu_tanh"));
        replace(List.of(matMul, gelu), gelu, b.build());
    }

    /** Records a fusion unless one of its nodes already belongs to another. */
    void replace(List<OnnxNode> chain, OnnxNode last, OnnxNode fused) {
        if (chain.stream().anyMatch(n -> removed.contains(n) || fusedAt.containsKey(n))) {
            return;
        }
        removed.addAll(chain);
        removed.remove(last);
        fusedAt.put(last, fused);
    }

    /** ReduceMean over the last axis only, keeping it (axes as attribute or constant input). */
    private boolean lastAxisMean(OnnxNode mean) {
        long[] axes = mean.getInts("axes", null);
        if (axes == null && mean.getInputs().size() > 1) {
            OnnxTensor t = constant(mean.getInputs().get(1));
            axes = t == null ? null : t.toLongArray();
        }
        return axes != null && axes.length == 1 && axes[0] == -1
                && mean.getInt("keepdims", 1) == 1;
    }

    /** The only reader of the node's single output, if it is {@code opType}, else null. */
    OnnxNode soleReader(OnnxNode node, String opType) {
        String value = node.getOutputs().get(0);
        List<OnnxNode> all = readers.getOrDefault(value, List.of());
        return node.getOutputs().size() == 1 && all.size() == 1 && !graphOutputs.contains(value)
                && isDefault(all.get(0), opType) ? all.get(0) : null;
    }

    /**
     * The producer of {@code value} if it is of the type (any, for null) and {@code reader} is
     * its only reader (or whatever reads it, for a null reader).
     */
    OnnxNode producerOf(String value, String opType, OnnxNode reader) {
        OnnxNode node = value == null ? null : producers.get(value);
        if (node == null || opType != null && !isDefault(node, opType) || reader != null
                && !IntegerLinearFusion.onlyReader(value, reader, readers, graphOutputs)) {
            return null;
        }
        return node;
    }

    /** The other input of a binary node, or null if {@code value} is neither. */
    private static String otherInput(OnnxNode node, String value) {
        List<String> in = node.getInputs();
        if (in.size() != 2) {
            return null;
        }
        return in.get(0).equals(value) ? in.get(1) : in.get(1).equals(value) ? in.get(0) : null;
    }

    /** The input of a binary node beside a scalar constant {@code expected}, or null. */
    private String operandBeside(OnnxNode node, double expected) {
        List<String> in = node.getInputs();
        if (in.size() != 2) {
            return null;
        }
        return isScalar(in.get(1), expected) ? in.get(0)
                : isScalar(in.get(0), expected) ? in.get(1) : null;
    }

    private boolean isScalar(String value, double expected) {
        Float v = scalar(value);
        return v != null && Math.abs(v - expected) <= CONSTANT_TOLERANCE * Math.abs(expected);
    }

    /** A one-element FP32 constant's value, or null. */
    Float scalar(String value) {
        OnnxTensor t = constant(value);
        if (t == null || t.getElementCount() != 1 || t.getDataType() != OnnxDataType.FLOAT) {
            return null;
        }
        return t.toFloatArray()[0];
    }

    /** Whether {@code value} is a 1-D FP32 initializer (a bias, gamma or beta). */
    private boolean isVector(String value) {
        OnnxTensor t = value == null ? null : graph.getInitializer(value);
        return t != null && t.getDims().length == 1
                && t.getDataType() == OnnxDataType.FLOAT;
    }

    /** An initializer, or the value of a {@code Constant} node; null for anything else. */
    OnnxTensor constant(String value) {
        if (value == null) {
            return null;
        }
        OnnxTensor t = graph.getInitializer(value);
        OnnxNode node = producers.get(value);
        if (t == null && node != null && isDefault(node, "Constant")) {
            t = node.getTensor("value", null);
        }
        return t;
    }
}
