package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.IntegerLinearFusion.isDefault;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Matches a per-token (per-row) dynamically quantized projection exactly as QuantInt8's
 * quantizer writes it ({@code PerTokenActivations} and {@code IntegerOpsRewriter} in
 * {@code org.quantint8.onnx.quantize}): the 16-node quantization of an activation X,
 *
 * <pre>
 *   lo = Min(ReduceMin(X, -1), 0)   hi = Max(ReduceMax(X, -1), 0)   raw = (hi - lo) / 255
 *   s = Where(Equal(raw, 0), 1, raw)   z = QuantizeLinear(Neg(lo) / s, 1, u8 0)
 *   q = QuantizeLinear(X / s + Cast(z, FLOAT), 1, u8 0)
 * </pre>
 *
 * <p>and, per site reading it, {@code MatMulInteger(q, W[, u8 0, w_zero])}, {@code Sub} of
 * {@code Mul(Cast(z, INT32), column_sums)}, {@code Cast(FLOAT)}, {@code Mul(s)}, {@code
 * Mul(w_scale)} and an optional {@code Add} of a constant [N] bias (the quantizer's own for a
 * {@code Gemm}, or the model's after a {@code MatMul}). A site becomes {@code
 * org.quantint8:QuantizeMatMul(X, W, w_scale, [w_zero], [bias], column_sums)} with {@code
 * per_token = 1}, which quantizes X itself, so the quantization nodes go once no unfused reader
 * is left. Every constant of the chain is checked (0, 1, 255, the UINT8 zero, the reduced axis);
 * the column sums are taken as given. A site is fused only when nothing else reads its own
 * intermediate values; the quantization nodes stay for whatever else reads them.
 */
final class PerTokenLinearFusion {

    /** The fused operator's attribute that selects per-row quantization of X. */
    static final String PER_TOKEN = "per_token";

    private static final int FLOAT = 1;
    private static final int INT32 = 6;
    /** The opset from which reductions take their axes as an input. */
    private static final long AXES_INPUT_OPSET = 18;
    /**
     * The number of inputs of each operator of the chain with a fixed count; the reductions and
     * MatMulInteger are checked where they are matched.
     */
    private static final Map<String, Integer> ARITY = Map.of("Add", 2, "Sub", 2, "Mul", 2,
            "Div", 2, "Equal", 2, "Max", 2, "Min", 2, "Cast", 1, "Neg", 1, "Where", 3);

    private final OnnxGraph graph;
    private final long opset;
    private final Map<String, OnnxNode> producers;
    private final Map<String, List<OnnxNode>> readers;
    private final Set<String> graphOutputs;
    private final Set<String> graphInputs;

    /**
     * A matched site.
     *
     * @param last the site's last node, whose place the fused node takes
     * @param site the site's other nodes, replaced by the fused node
     * @param quantization the nodes that quantize X, removable once nothing unfused reads them
     * @param transpose the {@code Transpose} of a constant weight, or null
     * @param fused the fused node
     */
    record Site(OnnxNode last, List<OnnxNode> site, List<OnnxNode> quantization,
            OnnxNode transpose, OnnxNode fused) {}

    /**
     * Prepares matching on a graph.
     *
     * @param graph the graph
     * @param opset the model's default opset (reductions take their axes as an input from 18)
     * @param producers the node producing each value
     * @param readers the nodes reading each value
     * @param graphOutputs the names of the graph's outputs
     */
    PerTokenLinearFusion(OnnxGraph graph, long opset, Map<String, OnnxNode> producers,
            Map<String, List<OnnxNode>> readers, Set<String> graphOutputs) {
        this.graph = graph;
        this.opset = opset;
        this.producers = producers;
        this.readers = readers;
        this.graphOutputs = graphOutputs;
        this.graphInputs = new HashSet<>();
        graph.getInputs().forEach(i -> graphInputs.add(i.getName()));
    }

    /**
     * Matches the site that ends at {@code node}: its {@code Add} of a bias, or its weight-scale
     * {@code Mul} when no such {@code Add} follows.
     *
     * @param node any node
     * @return the site, or null
     */
    Site match(OnnxNode node) {
        if (isDefault(node, "Add") && node.getInputs().size() == 2) {
            // The quantizer writes Add(product, bias), exporters often Add(bias, product): FP32
            // addition is commutative, so either order gives the same bits.
            for (int side = 0; side < 2; side++) {
                OnnxNode mul = only(node.getInputs().get(side), "Mul", node);
                String bias = node.getInputs().get(1 - side);
                Site site = mul == null || !isVector(bias, OnnxDataType.FLOAT) ? null
                        : match(mul, node, bias);
                if (site != null) {
                    return site;
                }
            }
            return null;
        }
        if (!isDefault(node, "Mul") || node.getInputs().size() != 2) {
            return null;
        }
        // With an Add of a bias after it, the site ends at the Add.
        List<OnnxNode> next = readers.getOrDefault(node.getOutputs().get(0), List.of());
        if (next.size() == 1 && isDefault(next.get(0), "Add") && match(next.get(0)) != null) {
            return null;
        }
        return match(node, node, null);
    }

    /** The site whose weight-scale Mul is {@code scaleMul}; {@code last} is it or its Add. */
    private Site match(OnnxNode scaleMul, OnnxNode last, String bias) {
        for (int side = 0; side < 2; side++) {
            String weightScale = scaleMul.getInputs().get(1 - side);
            OnnxNode rowMul = only(scaleMul.getInputs().get(side), "Mul", scaleMul);
            if (rowMul == null || !isVector(weightScale, OnnxDataType.FLOAT)) {
                continue;
            }
            for (int s = 0; s < 2; s++) {
                Site site = matchFrom(rowMul, rowMul.getInputs().get(s),
                        rowMul.getInputs().get(1 - s), scaleMul, weightScale, last, bias);
                if (site != null) {
                    return site;
                }
            }
        }
        return null;
    }

    private Site matchFrom(OnnxNode rowMul, String accumulator, String rowScale,
            OnnxNode scaleMul, String weightScale, OnnxNode last, String bias) {
        OnnxNode cast = only(accumulator, "Cast", rowMul);
        OnnxNode sub = cast == null || cast.getInt("to", 0) != FLOAT ? null
                : only(cast.getInputs().get(0), "Sub", cast);
        if (sub == null) {
            return null;
        }
        OnnxNode matMul = only(sub.getInputs().get(0), "MatMulInteger", sub);
        OnnxNode correction = only(sub.getInputs().get(1), "Mul", sub);
        if (matMul == null || correction == null || !integerInputs(matMul)) {
            return null;
        }
        String weight = matMul.getInputs().get(1);
        OnnxNode transpose = constant(weight) == null
                ? IntegerLinearFusion.constantMatrixTranspose(producers.get(weight), graph)
                : null;
        OnnxTensor codes = transpose == null ? constant(weight)
                : graph.getInitializer(transpose.getInputs().get(0));
        if (codes == null || codes.getDims().length != 2) {
            return null;
        }
        // N values where the chain broadcasts them against [..., N]: a single one would
        // broadcast too, which the fused operator does not do.
        long n = codes.getDims()[transpose == null ? 1 : 0];
        long scales = constant(weightScale).getElementCount();
        if (count(correction.getInputs().get(1), OnnxDataType.INT32) != n
                || bias != null && count(bias, OnnxDataType.FLOAT) != n
                || scales != 1 && scales != n) {
            return null;
        }
        List<OnnxNode> quantization = new ArrayList<>();
        String x = quantization(matMul.getInputs().get(0), rowScale,
                correction.getInputs().get(0), quantization);
        if (x == null) {
            return null;
        }
        List<OnnxNode> site = new ArrayList<>(List.of(matMul, correction, sub, cast, rowMul));
        if (last != scaleMul) {
            site.add(scaleMul);
        }
        return new Site(last, site, quantization, transpose,
                fused(x, matMul, transpose, weightScale, bias, correction.getInputs().get(1),
                        last.getOutputs().get(0)));
    }

    /** {@code MatMulInteger(q, W)} or {@code MatMulInteger(q, W, u8 0, w_zero)}. */
    private boolean integerInputs(OnnxNode matMul) {
        List<String> in = matMul.getInputs();
        return in.size() == 2 || in.size() == 4
                && isScalar(in.get(2), OnnxDataType.UINT8, 0, 0)
                && constant(in.get(3)) != null;
    }

    /**
     * Checks that {@code codes}, {@code scale} and {@code zeroPointInt32} are the per-row
     * quantization of one X, collecting its nodes; returns X, or null.
     */
    private String quantization(String codes, String scale, String zeroPointInt32,
            List<OnnxNode> nodes) {
        OnnxNode quantize = unitQuantize(codes);
        OnnxNode shifted = quantize == null ? null : producer(quantize.getInputs().get(0), "Add");
        OnnxNode scaled = shifted == null ? null : producer(shifted.getInputs().get(0), "Div");
        OnnxNode zeroFloat = shifted == null ? null : producer(shifted.getInputs().get(1), "Cast");
        OnnxNode zeroInt = producer(zeroPointInt32, "Cast");
        if (scaled == null || zeroFloat == null || zeroInt == null
                || zeroFloat.getInt("to", 0) != FLOAT || zeroInt.getInt("to", 0) != INT32
                || !scaled.getInputs().get(1).equals(scale)
                || !zeroFloat.getInputs().get(0).equals(zeroInt.getInputs().get(0))) {
            return null;
        }
        String x = scaled.getInputs().get(0);
        OnnxNode zeroPoint = unitQuantize(zeroInt.getInputs().get(0));
        OnnxNode zeroRaw = zeroPoint == null ? null
                : producer(zeroPoint.getInputs().get(0), "Div");
        OnnxNode negated = zeroRaw == null || !zeroRaw.getInputs().get(1).equals(scale) ? null
                : producer(zeroRaw.getInputs().get(0), "Neg");
        OnnxNode where = producer(scale, "Where");
        if (negated == null || where == null
                || !isScalar(where.getInputs().get(1), OnnxDataType.FLOAT, 1, 1)) {
            return null;
        }
        String raw = where.getInputs().get(2);
        OnnxNode empty = producer(where.getInputs().get(0), "Equal");
        OnnxNode perLevel = producer(raw, "Div");
        if (empty == null || perLevel == null || !empty.getInputs().get(0).equals(raw)
                || !isScalar(empty.getInputs().get(1), OnnxDataType.FLOAT, 0, 1)
                || !isScalar(perLevel.getInputs().get(1), OnnxDataType.FLOAT, 255, 1)) {
            return null;
        }
        OnnxNode range = producer(perLevel.getInputs().get(0), "Sub");
        OnnxNode high = range == null ? null : bound(range.getInputs().get(0), "Max", "ReduceMax");
        OnnxNode low = range == null ? null : bound(range.getInputs().get(1), "Min", "ReduceMin");
        if (high == null || low == null
                || !negated.getInputs().get(0).equals(range.getInputs().get(1))) {
            return null;
        }
        OnnxNode max = producers.get(high.getInputs().get(0));
        OnnxNode min = producers.get(low.getInputs().get(0));
        if (!max.getInputs().get(0).equals(x) || !min.getInputs().get(0).equals(x)) {
            return null;
        }
        nodes.addAll(List.of(max, min, high, low, range, perLevel, empty, where, negated,
                zeroRaw, zeroPoint, zeroFloat, zeroInt, scaled, shifted, quantize));
        return x;
    }

    /** {@code Max(ReduceMax(X), 0)} (or Min of ReduceMin) producing {@code value}, or null. */
    private OnnxNode bound(String value, String opType, String reduceType) {
        OnnxNode bound = producer(value, opType);
        if (bound == null
                || !isScalar(bound.getInputs().get(1), OnnxDataType.FLOAT, 0, 1)) {
            return null;
        }
        OnnxNode reduce = producer(bound.getInputs().get(0), reduceType);
        return reduce != null && lastAxis(reduce) ? bound : null;
    }

    /** A reduction over the last axis only, keeping it, as the model's opset spells it. */
    private boolean lastAxis(OnnxNode reduce) {
        if (reduce.getInt("keepdims", 1) != 1 || reduce.getInt("noop_with_empty_axes", 0) != 0) {
            return false;
        }
        List<String> in = reduce.getInputs();
        if (opset < AXES_INPUT_OPSET) {
            long[] axes = reduce.getInts("axes", null);
            return in.size() == 1 && axes != null && axes.length == 1 && axes[0] == -1;
        }
        OnnxTensor axes = in.size() == 2 ? constant(in.get(1)) : null;
        return !reduce.hasAttribute("axes") && axes != null
                && axes.getDataType() == OnnxDataType.INT64 && axes.getElementCount() == 1
                && axes.getDims().length == 1 && axes.toLongArray()[0] == -1;
    }

    /** {@code QuantizeLinear(v, 1, u8 0)} producing {@code value} (scalar parameters), or null. */
    private OnnxNode unitQuantize(String value) {
        OnnxNode q = producer(value, "QuantizeLinear");
        if (q == null || q.getInputs().size() != 3 || q.getInt("block_size", 0) != 0
                || q.hasAttribute("output_dtype")) {
            return null;
        }
        return isScalar(q.getInputs().get(1), OnnxDataType.FLOAT, 1, 0)
                && isScalar(q.getInputs().get(2), OnnxDataType.UINT8, 0, 0) ? q : null;
    }

    private OnnxNode fused(String x, OnnxNode matMul, OnnxNode transpose, String weightScale,
            String bias, String columnSums, String output) {
        List<String> in = matMul.getInputs();
        OnnxNode.Builder b = OnnxNode.builder().setOpType(IntegerLinearFusion.FUSED_OP)
                .optDomain(IntegerLinearFusion.DOMAIN)
                .optName(matMul.getName().isEmpty() ? output : matMul.getName())
                .addInput(x, transpose == null ? in.get(1) : transpose.getInputs().get(0),
                        weightScale, in.size() == 4 ? in.get(3) : "", bias == null ? "" : bias,
                        columnSums)
                .addAttribute(OnnxAttribute.ofInt(PER_TOKEN, 1));
        if (transpose != null) {
            b.addAttribute(OnnxAttribute.ofInt(IntegerLinearFusion.TRANS_B, 1));
        }
        return b.addOutput(output).build();
    }

    /** The producer of {@code value} if it is {@code opType} and {@code reader} its only reader. */
    private OnnxNode only(String value, String opType, OnnxNode reader) {
        OnnxNode node = producer(value, opType);
        return node != null && IntegerLinearFusion.onlyReader(value, reader, readers, graphOutputs)
                ? node : null;
    }

    /**
     * The single-output producer of {@code value} if it is the standard {@code opType} with the
     * operator's number of inputs.
     */
    private OnnxNode producer(String value, String opType) {
        OnnxNode node = producers.get(value);
        int arity = ARITY.getOrDefault(opType, node == null ? 0 : node.getInputs().size());
        return node != null && isDefault(node, opType) && node.getOutputs().size() == 1
                && node.getInputs().size() == arity ? node : null;
    }

    /** An initializer that no graph input overrides; null for anything else. */
    private OnnxTensor constant(String value) {
        return graphInputs.contains(value) ? null : graph.getInitializer(value);
    }

    /** The number of values of a constant 1-D tensor of the type, or -1 for anything else. */
    private long count(String value, OnnxDataType type) {
        return isVector(value, type) ? constant(value).getElementCount() : -1;
    }

    /** Whether {@code value} is a constant 1-D tensor of the type (scales, sums, a bias). */
    private boolean isVector(String value, OnnxDataType type) {
        OnnxTensor t = value == null ? null : constant(value);
        return t != null && t.getDataType() == type && t.getDims().length == 1;
    }

    /** Whether {@code value} is a constant single value of the type, of rank at most maxRank. */
    private boolean isScalar(String value, OnnxDataType type, int expected, int maxRank) {
        OnnxTensor t = constant(value);
        if (t == null || t.getDataType() != type || t.getElementCount() != 1
                || t.getDims().length > maxRank) {
            return false;
        }
        // Bits, not ==: -0 is not the 0 the quantizer writes.
        return type == OnnxDataType.FLOAT
                ? Float.floatToRawIntBits(t.toFloatArray()[0]) == Float.floatToRawIntBits(expected)
                : Byte.toUnsignedInt(t.toByteArray()[0]) == expected;
    }
}
