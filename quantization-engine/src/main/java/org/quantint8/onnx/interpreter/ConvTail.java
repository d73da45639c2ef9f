package org.quantint8.onnx.interpreter;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What a fused integer convolution takes along after its scale {@code Mul} (see {@link
 * IntegerLinearFusion}): an {@code Add} of a constant per-channel bias, an inference-mode {@code
 * BatchNormalization} with constant parameters, an {@code Add} of a computed tensor (a ResNet
 * block's shortcut), a {@code Relu} and a 2-D {@code MaxPool} with symmetric padding (a ResNet
 * stem's), in that order, each optional and each only when it is the single reader of the value
 * before it.
 *
 * @param add the bias Add, or null
 * @param bias the bias initializer, or null
 * @param batchNorm the BatchNormalization, or null
 * @param residualAdd the Add of a computed tensor, or null
 * @param residual the tensor it adds, or null; it is computed before the convolution's scale Mul
 *     in the node order, since the fused node runs where that Mul was
 * @param relu the Relu, or null
 * @param maxPool the MaxPool, or null
 * @param outputInEngine whether every reader of the fused output is a {@code
 *     DynamicQuantizeLinear} (the next convolution's quantizer) or an {@code Add} (the residual of
 *     a later one), so that the output may stay a QuantInt8 array instead of being copied to the
 *     FP32 engine and back
 */
record ConvTail(OnnxNode add, String bias, OnnxNode batchNorm, OnnxNode residualAdd,
        String residual, OnnxNode relu, OnnxNode maxPool, boolean outputInEngine) {

    /** The fused convolution's attribute that keeps its FP32 output in QuantInt8 (1) or not. */
    static final String OUTPUT_IN_ENGINE = "output_in_engine";

    /** No tail. */
    static final ConvTail NONE = new ConvTail(null, null, null, null, null, null, null, false);

    /** The prefix of the fused convolution's attributes that are its MaxPool's. */
    static final String POOL = "pool_";

    /** The fused convolution's input index of the residual. */
    static final int RESIDUAL_INPUT = 9;

    /** Matches the tail after {@code mul}, the scale Mul of the ConvInteger {@code conv}. */
    static ConvTail match(OnnxNode mul, OnnxNode conv, OnnxGraph graph,
            Map<String, List<OnnxNode>> readers, Set<String> graphOutputs) {
        OnnxTensor weight = graph.getInitializer(conv.getInputs().get(1));
        long channels = weight.getDims()[0];
        int spatial = weight.getDims().length - 2;
        String value = mul.getOutputs().get(0);
        OnnxNode add = next(value, "Add", readers, graphOutputs);
        String bias = null;
        if (add != null) {
            String other = add.getInputs().get(add.getInputs().get(0).equals(value) ? 1 : 0);
            if (isChannelVector(graph.getInitializer(other), channels, spatial)) {
                bias = other;
                value = add.getOutputs().get(0);
            } else {
                add = null;
            }
        }
        OnnxNode batchNorm = next(value, "BatchNormalization", readers, graphOutputs);
        if (batchNorm != null && constantInference(batchNorm, graph, channels)) {
            value = batchNorm.getOutputs().get(0);
        } else {
            batchNorm = null;
        }
        OnnxNode residualAdd = next(value, "Add", readers, graphOutputs);
        String residual = residualAdd == null ? null : residual(residualAdd, value, mul, graph);
        if (residual != null) {
            value = residualAdd.getOutputs().get(0);
        } else {
            residualAdd = null;
        }
        OnnxNode relu = next(value, "Relu", readers, graphOutputs);
        if (relu != null) {
            value = relu.getOutputs().get(0);
        }
        OnnxNode maxPool = next(value, "MaxPool", readers, graphOutputs);
        if (maxPool != null && poolable(maxPool)) {
            value = maxPool.getOutputs().get(0);
        } else {
            maxPool = null;
        }
        String output = value;
        List<OnnxNode> outputReaders = readers.getOrDefault(output, List.of());
        // An Add reader is the residual of a later fused convolution, or else the interpreter
        // copies the value to the FP32 engine for it, as this node would have; a
        // GlobalAveragePool reader pools QuantInt8 memory itself (NnOperators).
        boolean inEngine = !graphOutputs.contains(output) && !outputReaders.isEmpty()
                && outputReaders.stream().allMatch(r -> IntegerLinearFusion.isDefault(r, "Add")
                        || IntegerLinearFusion.isDefault(r, "DynamicQuantizeLinear")
                        || IntegerLinearFusion.isDefault(r, "QuantizeLinear")
                        || IntegerLinearFusion.isDefault(r, "GlobalAveragePool"));
        return new ConvTail(add, bias, batchNorm, residualAdd, residual, relu, maxPool, inEngine);
    }

    /** The nodes the fused convolution replaces after its Mul. */
    List<OnnxNode> nodes() {
        return Stream.of(add, batchNorm, residualAdd, relu, maxPool).filter(Objects::nonNull)
                .toList();
    }

    /** The value the fused convolution produces, or null when there is no tail. */
    String output() {
        List<OnnxNode> nodes = nodes();
        return nodes.isEmpty() ? null : nodes.get(nodes.size() - 1).getOutputs().get(0);
    }

    /**
     * Whether the tail adds inputs after the zero point (bias, normalization parameters,
     * residual).
     */
    boolean hasInputs() {
        return add != null || batchNorm != null || residual != null;
    }

    /** Adds the tail's inputs (from index 4 on) and attributes to the fused node. */
    void addTo(OnnxNode.Builder fused) {
        if (hasInputs()) {
            fused.addInput(bias != null ? bias : "");
        }
        if (batchNorm != null) {
            batchNorm.getInputs().subList(1, 5).forEach(fused::addInput);
            fused.addAttribute(
                    OnnxAttribute.ofFloat("epsilon", batchNorm.getFloat("epsilon", 1e-5f)));
        } else if (residual != null) {
            fused.addInput("", "", "", "");
        }
        if (residual != null) {
            fused.addInput(residual);
        }
        if (relu != null) {
            fused.addAttribute(OnnxAttribute.ofInt(IntegerLinearFusion.RELU, 1));
        }
        if (maxPool != null) {
            fused.addAttribute(OnnxAttribute.ofInts(POOL + "kernel_shape",
                    maxPool.getInts("kernel_shape", null)));
            fused.addAttribute(OnnxAttribute.ofInts(POOL + "strides",
                    maxPool.getInts("strides", new long[] {1, 1})));
            fused.addAttribute(OnnxAttribute.ofInts(POOL + "pads",
                    maxPool.getInts("pads", new long[4])));
            fused.addAttribute(OnnxAttribute.ofInt(POOL + "ceil_mode",
                    maxPool.getInt("ceil_mode", 0)));
        }
        if (outputInEngine) {
            fused.addAttribute(OnnxAttribute.ofInt(OUTPUT_IN_ENGINE, 1));
        }
    }

    /** The single reader of {@code value} if it is the standard {@code opType}, else null. */
    private static OnnxNode next(String value, String opType, Map<String, List<OnnxNode>> readers,
            Set<String> graphOutputs) {
        List<OnnxNode> all = readers.getOrDefault(value, List.of());
        if (all.isEmpty() || !IntegerLinearFusion.isDefault(all.get(0), opType)
                || !IntegerLinearFusion.onlyReader(value, all.get(0), readers, graphOutputs)) {
            return null;
        }
        OnnxNode node = all.get(0);
        boolean binary = opType.equals("Add");
        // Add may read the value on either side; the others read it first.
        return binary || node.getInputs().get(0).equals(value) ? node : null;
    }

    /**
     * Whether the fused convolution can pool like this MaxPool: 2-D, explicit symmetric padding,
     * no dilation, no indices output, row-major storage order.
     */
    private static boolean poolable(OnnxNode pool) {
        long[] kernel = pool.getInts("kernel_shape", new long[0]);
        long[] pads = pool.getInts("pads", new long[4]);
        boolean undilated = Arrays.stream(pool.getInts("dilations", new long[] {1, 1}))
                .allMatch(d -> d == 1);
        return kernel.length == 2 && pads.length == 4 && pads[0] == pads[2] && pads[1] == pads[3]
                && pads[0] <= kernel[0] / 2 && pads[1] <= kernel[1] / 2 && undilated
                && pool.getString("auto_pad", "NOTSET").equals("NOTSET")
                && pool.getInt("storage_order", 0) == 0
                && pool.getOutputs().stream().skip(1).allMatch(String::isEmpty);
    }

    /**
     * The other operand of {@code add} if it is a computed tensor (no initializer, not {@code
     * value} itself) whose producer comes before {@code mul} in the node order, else null.
     */
    private static String residual(OnnxNode add, String value, OnnxNode mul, OnnxGraph graph) {
        List<String> inputs = add.getInputs();
        String other = inputs.get(inputs.get(0).equals(value) ? 1 : 0);
        if (inputs.size() != 2 || other.equals(value) || other.isEmpty()
                || graph.getInitializer(other) != null) {
            return null;
        }
        List<OnnxNode> nodes = graph.getNodes();
        int mulAt = nodes.indexOf(mul);
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).getOutputs().contains(other)) {
                return i < mulAt ? other : null;
            }
        }
        return other; // a graph input
    }

    /** Whether {@code t} holds one value per channel, broadcasting over the NC... output. */
    private static boolean isChannelVector(OnnxTensor t, long channels, int spatial) {
        if (t == null || t.getDataType() != OnnxDataType.FLOAT) {
            return false;
        }
        long[] dims = t.getDims();
        if (dims.length < spatial + 1) {
            return false;
        }
        int channelAxis = dims.length - 1 - spatial;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] != (i == channelAxis ? channels : 1)) {
                return false;
            }
        }
        return true;
    }

    /** Inference mode, one output, and constant [C] parameters. */
    private static boolean constantInference(OnnxNode bn, OnnxGraph graph, long channels) {
        if (bn.getInt("training_mode", 0) != 0 || bn.getInputs().size() != 5
                || bn.getOutputs().stream().skip(1).anyMatch(o -> !o.isEmpty())) {
            return false;
        }
        for (String input : bn.getInputs().subList(1, 5)) {
            OnnxTensor t = graph.getInitializer(input);
            if (t == null || t.getDims().length != 1 || t.getDims()[0] != channels) {
                return false;
            }
        }
        return true;
    }
}
