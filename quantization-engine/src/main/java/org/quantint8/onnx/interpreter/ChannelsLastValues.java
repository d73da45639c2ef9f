package org.quantint8.onnx.interpreter;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxValueInfo;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The pass after the fusions that lets fused convolutions hand their FP32 output to the next
 * ones channels-last: a convolution that puts the output positions on its GEMM's rows produces
 * {@code [position][channel]}, which is what the next such convolution builds its patches from,
 * so keeping it that way saves a transposition of the output and one of the next input (see
 * {@link org.quantint8.ndarray.Int8Output#withChannelsLastAllowed}). A fused convolution is
 * marked when every reader of its output is a fused convolution that takes it as its input or
 * its residual (both read either layout) and the output is no graph output; the convolution
 * still decides at run time, from its shapes, whether to write it channels-last. Graphs with
 * subgraphs are left as they are: a subgraph may read the value without naming it as an input.
 */
final class ChannelsLastValues {

    /** The fused convolution's attribute that allows its output to be channels-last (1). */
    static final String OUTPUT_CHANNELS_LAST = "output_channels_last";

    private ChannelsLastValues() {}

    /** A reader of a value: the node and the index of the input it reads it at. */
    private record Read(OnnxNode node, int input) {}

    /**
     * Marks the fused convolutions whose output may be channels-last.
     *
     * @param model the model after the fusions
     * @return the model with those convolutions marked, or {@code model} when there are none
     */
    static OnnxModel apply(OnnxModel model) {
        OnnxGraph graph = model.getGraph();
        Map<String, List<Read>> readers = new HashMap<>();
        for (OnnxNode node : graph.getNodes()) {
            if (hasSubgraph(node)) {
                return model;
            }
            List<String> inputs = node.getInputs();
            for (int i = 0; i < inputs.size(); i++) {
                readers.computeIfAbsent(inputs.get(i), k -> new ArrayList<>())
                        .add(new Read(node, i));
            }
        }
        Set<String> graphOutputs = new HashSet<>();
        for (OnnxValueInfo output : graph.getOutputs()) {
            graphOutputs.add(output.getName());
        }
        Set<OnnxNode> marked = new HashSet<>();
        for (OnnxNode node : graph.getNodes()) {
            if (isFusedConv(node) && node.getInt(ConvTail.OUTPUT_IN_ENGINE, 0) == 1
                    && !node.hasAttribute(ConvTail.POOL + "kernel_shape")) {
                String output = node.getOutputs().get(0);
                List<Read> reads = readers.getOrDefault(output, List.of());
                if (!graphOutputs.contains(output) && !reads.isEmpty()
                        && reads.stream().allMatch(ChannelsLastValues::readsEitherLayout)) {
                    marked.add(node);
                }
            }
        }
        if (marked.isEmpty()) {
            return model;
        }
        OnnxGraph.Builder out = graph.toBuilderWithoutNodes(t -> true);
        for (OnnxNode node : graph.getNodes()) {
            out.addNode(marked.contains(node) ? withMark(node) : node);
        }
        return model.toBuilder(out.build()).build();
    }

    private static boolean readsEitherLayout(Read read) {
        return isFusedConv(read.node())
                && (read.input() == 0 || read.input() == ConvTail.RESIDUAL_INPUT);
    }

    private static boolean isFusedConv(OnnxNode node) {
        return IntegerLinearFusion.DOMAIN.equals(node.getDomain())
                && IntegerLinearFusion.FUSED_CONV.equals(node.getOpType());
    }

    private static boolean hasSubgraph(OnnxNode node) {
        return node.getAttributes().values().stream()
                .anyMatch(a -> a.getType() == OnnxAttribute.Type.GRAPH
                        || a.getType() == OnnxAttribute.Type.GRAPHS);
    }

    private static OnnxNode withMark(OnnxNode node) {
        OnnxNode.Builder copy = OnnxNode.builder().setOpType(node.getOpType())
                .optDomain(node.getDomain()).optName(node.getName())
                .addInput(node.getInputs().toArray(String[]::new))
                .addOutput(node.getOutputs().toArray(String[]::new));
        node.getAttributes().values().forEach(copy::addAttribute);
        copy.addAttribute(OnnxAttribute.ofInt(OUTPUT_CHANNELS_LAST, 1));
        if (node.getDocString() != null) {
            copy.optDocString(node.getDocString());
        }
        return copy.build();
    }
}
