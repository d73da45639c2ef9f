package org.quantint8.onnx.quantize;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Emits the dynamic per-token (per-row) quantization of an activation X [..., K] in standard ONNX
 * (opset 11 and later), the asymmetric UINT8 rule of {@code DynamicQuantizeLinear} applied to each
 * row of the last axis instead of the whole tensor:
 *
 * <pre>
 *   lo = Min(ReduceMin(X, axes = [-1]), 0)      hi = Max(ReduceMax(X, axes = [-1]), 0)
 *   s  = (hi - lo) / 255, or 1 where that is 0  (an all-zero row)
 *   z  = QuantizeLinear(-lo / s, 1, 0)          (round half to even, saturate to [0, 255])
 *   q  = QuantizeLinear(X / s + z, 1, 0)
 * </pre>
 *
 * A row scale cannot go into {@code QuantizeLinear}'s {@code y_scale}, which is a scalar or one
 * value per slice of a single axis, so the division happens before it with a unit scale; the
 * zero point, an integer, is added before rounding, which rounds the same as adding it after.
 * Reductions take {@code axes} as an attribute before opset 18 and as an input from 18.
 *
 * <p>An activation read by several sites (the query, key and value projections of attention) is
 * quantized once.
 */
final class PerTokenActivations {

    /**
     * An activation quantized per row.
     *
     * @param codes the UINT8 codes, shaped like the activation
     * @param scale the FLOAT row scales [..., 1]
     * @param zeroPointInt32 the INT32 row zero points [..., 1]
     */
    record Quantized(String codes, String scale, String zeroPointInt32) {}

    private final OnnxGraph.Builder graph;
    private final String constants;
    private final long opset;
    private final Map<String, Quantized> quantized = new HashMap<>();

    /**
     * Creates an emitter.
     *
     * @param graph receives the nodes and the shared constants
     * @param constantsPrefix a prefix no other value name starts with, for the shared constants
     * @param opset the model's default opset
     */
    PerTokenActivations(OnnxGraph.Builder graph, String constantsPrefix, long opset) {
        this.graph = graph;
        this.constants = constantsPrefix;
        this.opset = opset;
    }

    /**
     * Returns the per-row quantization of an activation, emitting it the first time.
     *
     * @param input the activation
     * @param p the prefix of the emitted names, unique in the graph
     * @return its codes, scales and zero points
     */
    Quantized quantize(String input, String p) {
        Quantized done = quantized.get(input);
        if (done != null) {
            return done;
        }
        if (quantized.isEmpty()) {
            addConstants();
        }
        String zero = constants + "zero";
        String one = constants + "one";
        add("ReduceMax", p + "row_max", reduce(input));
        add("ReduceMin", p + "row_min", reduce(input));
        // The range includes 0, so that 0 (padding, ReLU) is represented exactly.
        add("Max", p + "row_high", node().addInput(p + "row_max", zero));
        add("Min", p + "row_low", node().addInput(p + "row_min", zero));
        add("Sub", p + "row_range", node().addInput(p + "row_high", p + "row_low"));
        add("Div", p + "row_scale_raw", node().addInput(p + "row_range", constants + "levels"));
        add("Equal", p + "row_empty", node().addInput(p + "row_scale_raw", zero));
        add("Where", p + "scale", node().addInput(p + "row_empty", one, p + "row_scale_raw"));
        add("Neg", p + "row_low_negated", node().addInput(p + "row_low"));
        add("Div", p + "zero_point_raw", node().addInput(p + "row_low_negated", p + "scale"));
        add("QuantizeLinear", p + "zero_point",
                node().addInput(p + "zero_point_raw", one, zeroPointU8()));
        add("Cast", p + "zero_point_float", cast(p + "zero_point", OnnxDataType.FLOAT));
        add("Cast", p + "zero_point_int32", cast(p + "zero_point", OnnxDataType.INT32));
        add("Div", p + "scaled", node().addInput(input, p + "scale"));
        add("Add", p + "shifted", node().addInput(p + "scaled", p + "zero_point_float"));
        add("QuantizeLinear", p + "codes", node().addInput(p + "shifted", one, zeroPointU8()));
        done = new Quantized(p + "codes", p + "scale", p + "zero_point_int32");
        quantized.put(input, done);
        return done;
    }

    /**
     * Returns the name of the UINT8 scalar 0, the activation zero point the integer operator
     * reads when it must also be given a weight zero point.
     *
     * @return the name
     */
    String zeroPointU8() {
        return constants + "zero_point_u8";
    }

    private void addConstants() {
        graph.addInitializer(OnnxTensor.of(constants + "zero", new float[] {0f}));
        graph.addInitializer(OnnxTensor.of(constants + "one", new float[] {1f}));
        graph.addInitializer(OnnxTensor.of(constants + "levels", new float[] {255f}));
        graph.addInitializer(
                OnnxTensor.of(zeroPointU8(), OnnxDataType.UINT8, ByteBuffer.allocate(1)));
        if (opset >= 18) {
            graph.addInitializer(OnnxTensor.of(constants + "last_axis", new long[] {-1}, 1));
        }
    }

    private OnnxNode.Builder reduce(String input) {
        OnnxNode.Builder reduce = node().addInput(input)
                .addAttribute(OnnxAttribute.ofInt("keepdims", 1));
        if (opset >= 18) {
            return reduce.addInput(constants + "last_axis");
        }
        return reduce.addAttribute(OnnxAttribute.ofInts("axes", -1));
    }

    private static OnnxNode.Builder cast(String input, OnnxDataType to) {
        return node().addInput(input).addAttribute(OnnxAttribute.ofInt("to", to.getCode()));
    }

    private static OnnxNode.Builder node() {
        return OnnxNode.builder();
    }

    /** Adds a node named after its single output. */
    private void add(String opType, String output, OnnxNode.Builder node) {
        graph.addNode(node.setOpType(opType).optName(output).addOutput(output).build());
    }
}
