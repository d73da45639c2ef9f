package org.quantint8.onnx.quantize;

import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;

/**
 * Replaces a quantizable node by its integer-operator form, which every ONNX runtime (opset 10 and
 * later) runs:
 *
 * <pre>
 *   X -> DynamicQuantizeLinear | QuantizeLinear(xScale, xZero) -> Xq
 *   MatMulInteger(Xq, Wq, xZero[, wZero]) | ConvInteger(...)   -> INT32 accumulator
 *   Cast(FLOAT) -> Mul(xScale * wScale[c]) [-> Add(bias)]     -> Y
 * </pre>
 *
 * Per-channel weight scales ride in the final {@code Mul}, so the form needs no per-axis {@code
 * DequantizeLinear} (opset 13) and suits models exported at opset 11 such as the BERT family.
 *
 * <p>In weight-only mode ({@link #rewriteWeightOnly}) the FP32 operator stays and reads its weight
 * dequantized from the stored INT8 codes.
 *
 * <p>Per token (all sites, or the ones the caller picks), a {@code MatMul} or {@code Gemm} reads its input quantized row by
 * row by {@link PerTokenActivations} (once per input, however many sites read it) and removes the
 * row zero points from the accumulator exactly, in INT32, through constant column sums of the
 * weight; see {@link #rewritePerToken}.
 *
 * <p>A weight read through a {@code Transpose} (a head tied to the token embedding) keeps that
 * {@code Transpose}, now of the 8-bit table, and the table is stored once for the head and the
 * {@code Gather}: sites that share a quantized weight share its initializers.
 */
final class IntegerOpsRewriter {

    private static final String[] CONV_ATTRIBUTES = {
        "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"
    };

    private final OnnxGraph source;
    private final OnnxGraph.Builder graph;
    private final Set<String> usedNames;
    private final long opset;
    private final Set<String> shared = new HashSet<>();
    private final PerTokenActivations tokens;

    /**
     * Creates a rewriter that adds to {@code graph}.
     *
     * @param source the graph being quantized
     * @param graph receives the nodes and initializers of the integer forms
     * @param usedNames the value and node names already taken, extended with new prefixes
     * @param opset the model's default opset
     */
    IntegerOpsRewriter(OnnxGraph source, OnnxGraph.Builder graph, Set<String> usedNames,
            long opset) {
        this.source = source;
        this.graph = graph;
        this.usedNames = usedNames;
        this.opset = opset;
        // Its shared constants are added only if some site is quantized per token.
        this.tokens = new PerTokenActivations(graph, uniquePrefix("per_token_constants"), opset);
    }

    /**
     * Emits the integer form of a site.
     *
     * @param site the site
     * @param weight its quantized weight
     * @param activation static activation parameters, or null for dynamic quantization
     * @param perToken whether a dynamic {@code MatMul} or {@code Gemm} site quantizes its input
     *     per token rather than per tensor (ignored for {@code Conv}, which stays per tensor)
     */
    void rewrite(QuantizableSite site, QuantizedWeight weight, QuantizationParameters activation,
            boolean perToken) {
        String p = uniquePrefix(site.layerName());
        if (site.kind() == QuantizableSite.Kind.GATHER) {
            rewriteGather(site, weight, p);
            return;
        }
        String input = site.node().getInputs().get(0);
        if (activation == null && perToken && site.kind() != QuantizableSite.Kind.CONV) {
            rewritePerToken(site, weight, tokens.quantize(input, p + "token/"), p);
            return;
        }
        String xq = p + "x_quantized";
        String xZero = p + "x_zero_point";
        String xScale = p + "x_scale";
        if (activation == null) {
            add(node("DynamicQuantizeLinear", p).addInput(input).addOutput(xq, xScale, xZero));
        } else {
            graph.addInitializer(scalar(xScale, activation.getScale(0)));
            graph.addInitializer(zeroPoint(xZero, activation));
            add(node("QuantizeLinear", p).addInput(input, xScale, xZero).addOutput(xq));
        }
        boolean conv = site.kind() == QuantizableSite.Kind.CONV;
        // ONNX Runtime's ConvInteger reads UINT8 weights only: symmetric INT8 codes shifted by
        // +128 with zero point 128 are the same arithmetic.
        QuantizedWeight stored = conv && weight.symmetric() ? weight.shiftedToUint8() : weight;
        String codes = weightInput(site, stored, p);
        OnnxNode.Builder integer = node(conv ? "ConvInteger" : "MatMulInteger", p)
                .addInput(xq, codes, xZero)
                .addOutput(p + "accumulator");
        if (!stored.symmetric()) {
            String wZero = p + "w_zero_point";
            graph.addInitializer(weightZeroPoints(wZero, stored));
            integer.addInput(wZero);
        }
        if (conv) {
            copyConvAttributes(site, integer);
        }
        add(integer);
        add(castToFloat(p + "accumulator", p + "accumulator_float", p));
        String scale = scaleInput(p, weight, activation, conv, xScale);
        String scaled = scaledOutput(site, p);
        add(node("Mul", p).addInput(p + "accumulator_float", scale).addOutput(scaled));
        addBias(site, scaled, p, conv);
    }

    /**
     * The per-token form of a {@code MatMul} or {@code Gemm}, with the row's codes {@code q},
     * scale {@code s} and zero point {@code z} from {@link PerTokenActivations}:
     *
     * <pre>
     *   MatMulInteger(q, Wq[, 0, wZero]) - z * colsum(Wq - wZero)   (INT32, exact)
     *   Cast(FLOAT) * s * wScale[c] [+ bias]
     * </pre>
     *
     * The row zero point stays out of {@code MatMulInteger}, which ONNX Runtime allows only as a
     * scalar, and is subtracted through the constant column sums instead.
     */
    private void rewritePerToken(QuantizableSite site, QuantizedWeight weight,
            PerTokenActivations.Quantized x, String p) {
        String codes = weightInput(site, weight, p);
        OnnxNode.Builder integer = node("MatMulInteger", p).addInput(x.codes(), codes)
                .addOutput(p + "accumulator");
        if (!weight.symmetric()) {
            String wZero = p + "w_zero_point";
            graph.addInitializer(weightZeroPoints(wZero, weight));
            integer.addInput(tokens.zeroPointU8(), wZero);
        }
        add(integer);
        int[] sums = weight.centredChannelSums(site.transpose() != null ? 0 : 1);
        graph.addInitializer(OnnxTensor.of(p + "column_sums", sums, sums.length));
        add(node("Mul", p + "zero_point_correction").addInput(x.zeroPointInt32(), p + "column_sums")
                .addOutput(p + "zero_point_correction"));
        add(node("Sub", p).addInput(p + "accumulator", p + "zero_point_correction")
                .addOutput(p + "accumulator_centred"));
        add(castToFloat(p + "accumulator_centred", p + "accumulator_float", p));
        add(node("Mul", p + "row_scale").addInput(p + "accumulator_float", x.scale())
                .addOutput(p + "row_scaled"));
        String weightScale = weightScales(weight, new long[] {weight.scales().length});
        String scaled = scaledOutput(site, p);
        add(node("Mul", p).addInput(p + "row_scaled", weightScale).addOutput(scaled));
        addBias(site, scaled, p, false);
    }

    /** The name of the scaled product: the node's output, or an intermediate before the bias. */
    private static String scaledOutput(QuantizableSite site, String p) {
        return site.bias() == null ? site.node().getOutputs().get(0) : p + "scaled";
    }

    private void addBias(QuantizableSite site, String scaled, String p, boolean conv) {
        if (site.bias() == null) {
            return;
        }
        String bias = site.bias();
        if (conv) {
            // Conv's bias is [OC]; broadcasting over NCHW needs [1, OC, 1, 1].
            float[] b = source.getInitializer(bias).toFloatArray();
            bias = p + "bias";
            graph.addInitializer(OnnxTensor.of(bias, b, 1, b.length, 1, 1));
        }
        add(node("Add", p).addInput(scaled, bias).addOutput(site.node().getOutputs().get(0)));
    }

    /**
     * Adds a site's 8-bit weight (once, however many sites share it) and returns the value the
     * integer operator reads: the codes, or their {@code Transpose} for a tied head.
     */
    private String weightInput(QuantizableSite site, QuantizedWeight stored, String p) {
        addShared(stored.codes());
        return transposed(site, stored.codes().getName(), p);
    }

    private static void copyConvAttributes(QuantizableSite site, OnnxNode.Builder target) {
        for (String name : CONV_ATTRIBUTES) {
            OnnxAttribute a = site.node().getAttributes().get(name);
            if (a != null) {
                target.addAttribute(a);
            }
        }
    }

    /** A {@code Cast} to FLOAT, named after the prefix or the given name. */
    private OnnxNode.Builder castToFloat(String input, String output, String prefixOrName) {
        return node("Cast", prefixOrName).addInput(input).addOutput(output)
                .addAttribute(OnnxAttribute.ofInt("to", OnnxDataType.FLOAT.getCode()));
    }

    /**
     * Emits the weight-only form of a site: its INT8 weight dequantized to FP32, read by the FP32
     * operator, activations untouched. From opset 13 the weight is {@code DequantizeLinear(Wq,
     * scales, axis)}; before, per-axis {@code DequantizeLinear} does not exist and the same values
     * come from {@code Cast(Wq) * scales}. A {@code Gemm} becomes {@code MatMul} (its weight is
     * stored [K, N]) plus {@code Add(C)}; a {@code Conv} keeps its attributes and adds its bias
     * after, as the integer form does.
     *
     * @param site the site
     * @param weight its quantized weight, symmetric
     */
    void rewriteWeightOnly(QuantizableSite site, QuantizedWeight weight) {
        String p = uniquePrefix(site.layerName());
        if (site.kind() == QuantizableSite.Kind.GATHER) {
            rewriteGather(site, weight, p);
            return;
        }
        boolean conv = site.kind() == QuantizableSite.Kind.CONV;
        String w = dequantizedWeight(site, weight, p);
        String output = scaledOutput(site, p);
        OnnxNode.Builder op = node(conv ? "Conv" : "MatMul", p)
                .addInput(site.node().getInputs().get(0), w).addOutput(output);
        if (conv) {
            copyConvAttributes(site, op);
        }
        add(op);
        addBias(site, output, p, conv);
    }

    /** The FP32 weight of a weight-only site, in the layout its operator reads. */
    private String dequantizedWeight(QuantizableSite site, QuantizedWeight weight, String p) {
        addShared(weight.codes());
        String codes = weight.codes().getName();
        QuantizationParameters q = weight.parameters();
        // Per-axis DequantizeLinear needs opset 13; before, the same values come from Cast * scales.
        boolean castForm = q.isPerChannel() && opset < 13;
        String w = p + "weight_dequantized";
        if (!castForm) {
            String scale = weightScales(weight, new long[] {weight.scales().length});
            String zero = codes + "_zero_point";
            if (q.isPerChannel()) {
                addShared(OnnxTensor.of(zero, weight.codes().getDataType(),
                        ByteBuffer.allocate(weight.scales().length), weight.scales().length));
            } else {
                scale = p + "weight_scale";
                graph.addInitializer(scalar(scale, q.getScale(0)));
                addShared(zeroPoint(zero, q));
            }
            // An explicit zero point, of the codes' type: ONNX Runtime's QDQ transforms (a
            // DequantizeLinear moved across a Transpose) copy it, and assume UINT8 without one.
            OnnxNode.Builder dq = node("DequantizeLinear", p).addInput(codes, scale, zero)
                    .addOutput(w);
            if (q.isPerChannel()) {
                dq.addAttribute(OnnxAttribute.ofInt("axis", q.getAxis()));
            }
            add(dq);
            return transposed(site, w, p);
        }
        add(castToFloat(codes, p + "weight_codes_float", p));
        // After the Transpose of a tied head the channels are the last axis, as in [K, N].
        String codesFloat = transposed(site, p + "weight_codes_float", p);
        long[] dims = site.kind() == QuantizableSite.Kind.CONV
                ? new long[] {weight.scales().length, 1, 1, 1}
                : new long[] {weight.scales().length};
        add(node("Mul", p + "weight").addInput(codesFloat, weightScales(weight, dims))
                .addOutput(w));
        return w;
    }

    /** The value itself, or its {@code Transpose} when the site reads its weight transposed. */
    private String transposed(QuantizableSite site, String value, String p) {
        if (site.transpose() == null) {
            return value;
        }
        add(node("Transpose", p).addInput(value).addOutput(p + "weight_transposed")
                .addAttribute(OnnxAttribute.ofInts("perm", 1, 0)));
        return p + "weight_transposed";
    }

    /**
     * A table quantized per row: {@code Cast(Gather(Wq, indices)) * Unsqueeze(Gather(scale,
     * indices), -1)}, so only the rows read are dequantized, each with its own scale. The scale
     * vector is the one a tied head multiplies its columns by. A table quantized per tensor:
     * {@code DequantizeLinear(Gather(Wq, indices))}.
     */
    private void rewriteGather(QuantizableSite site, QuantizedWeight weight, String p) {
        QuantizationParameters q = weight.parameters();
        addShared(weight.codes());
        String indices = site.node().getInputs().get(1);
        String output = site.node().getOutputs().get(0);
        OnnxNode.Builder gather = node("Gather", p)
                .addInput(weight.codes().getName(), indices)
                .addOutput(p + "rows");
        site.node().getAttributes().values().forEach(gather::addAttribute);
        add(gather);
        if (!q.isPerChannel()) {
            graph.addInitializer(scalar(p + "scale", q.getScale(0)));
            graph.addInitializer(zeroPoint(p + "zero_point", q));
            add(node("DequantizeLinear", p).addInput(p + "rows", p + "scale", p + "zero_point")
                    .addOutput(output));
            return;
        }
        String scale = weightScales(weight, new long[] {weight.scales().length});
        add(castToFloat(p + "rows", p + "rows_float", p));
        add(node("Gather", p + "row_scales").addInput(scale, indices).addOutput(p + "row_scales"));
        OnnxNode.Builder unsqueeze = node("Unsqueeze", p).addInput(p + "row_scales")
                .addOutput(p + "row_scales_column");
        if (opset >= 13) {
            // From opset 13 the axes are an input, before they are an attribute.
            graph.addInitializer(OnnxTensor.of(p + "axes", new long[] {-1}, 1));
            unsqueeze.addInput(p + "axes");
        } else {
            unsqueeze.addAttribute(OnnxAttribute.ofInts("axes", -1));
        }
        add(unsqueeze);
        add(node("Mul", p).addInput(p + "rows_float", p + "row_scales_column").addOutput(output));
    }

    /**
     * Adds the per-channel scales of a weight once, named after its codes, and returns the name:
     * a table's scales serve its {@code Gather} and the tied head that reads it.
     */
    private String weightScales(QuantizedWeight weight, long[] dims) {
        String name = weight.codes().getName() + "_scale";
        OnnxTensor scales = OnnxTensor.of(name, weight.scales(), dims);
        addShared(scales);
        return scales.getName();
    }

    /** Adds an initializer that sites sharing a quantized weight all read, the first time. */
    private void addShared(OnnxTensor tensor) {
        if (shared.add(tensor.getName())) {
            graph.addInitializer(tensor);
        }
    }

    /** The product xScale * wScale[c], as a constant (static) or a Mul node (dynamic). */
    private String scaleInput(String p, QuantizedWeight weight, QuantizationParameters activation,
            boolean conv, String xScale) {
        float[] scales = weight.scales();
        if (activation != null) {
            for (int i = 0; i < scales.length; i++) {
                scales[i] *= activation.getScale(0);
            }
        }
        long[] dims = conv ? new long[] {1, scales.length, 1, 1} : new long[] {scales.length};
        if (activation != null) {
            graph.addInitializer(OnnxTensor.of(p + "scale", scales, dims));
            return p + "scale";
        }
        String name = weightScales(weight, dims);
        add(node("Mul", p + "scale").addInput(xScale, name).addOutput(p + "scale"));
        return p + "scale";
    }

    /** Starts a node named after its role: the prefix plus the op type, or a given name. */
    private OnnxNode.Builder node(String opType, String prefixOrName) {
        String name = prefixOrName.endsWith("/") ? prefixOrName + opType : prefixOrName;
        return OnnxNode.builder().setOpType(opType).optName(name);
    }

    private void add(OnnxNode.Builder node) {
        graph.addNode(node.build());
    }

    private String uniquePrefix(String layer) {
        String base = layer + "/int8/";
        String prefix = base;
        for (int i = 1; usedNames.contains(prefix); i++) {
            prefix = layer + "/int8_" + i + "/";
        }
        usedNames.add(prefix);
        return prefix;
    }

    private static OnnxTensor scalar(String name, float value) {
        return OnnxTensor.of(name, new float[] {value});
    }

    private static OnnxTensor zeroPoint(String name, QuantizationParameters p) {
        OnnxDataType type = p.getQuantMin() < 0 ? OnnxDataType.INT8 : OnnxDataType.UINT8;
        ByteBuffer data = ByteBuffer.allocate(1).put(0, (byte) p.getZeroPoint(0));
        return OnnxTensor.of(name, type, data);
    }

    private static OnnxTensor weightZeroPoints(String name, QuantizedWeight weight) {
        int[] zeros = weight.parameters().getZeroPoints();
        if (java.util.Arrays.stream(zeros).distinct().count() == 1) {
            zeros = new int[] {zeros[0]}; // one scalar serves every channel, and every runtime
        }
        ByteBuffer data = ByteBuffer.allocate(zeros.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int z : zeros) {
            data.put((byte) z);
        }
        OnnxDataType type = weight.codes().getDataType();
        return zeros.length == 1
                ? OnnxTensor.of(name, type, data.flip())
                : OnnxTensor.of(name, type, data.flip(), zeros.length);
    }
}
