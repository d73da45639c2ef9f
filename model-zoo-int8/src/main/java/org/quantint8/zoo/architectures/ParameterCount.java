package org.quantint8.zoo.architectures;

import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;

import java.util.HashSet;
import java.util.Set;

/**
 * Counts a model's parameters the way PyTorch's {@code sum(p.numel() for p in
 * model.parameters())} does: every floating-point initializer, except the running statistics of
 * batch normalization, which are buffers. A tied tensor is one initializer and counts once.
 */
public final class ParameterCount {

    private ParameterCount() {}

    /**
     * Returns the number of trainable parameters of a model.
     *
     * @param model the model
     * @return the number of elements of its floating-point initializers, batch-normalization
     *     running means and variances excepted
     */
    public static long of(OnnxModel model) {
        OnnxGraph graph = model.getGraph();
        Set<String> buffers = new HashSet<>();
        for (OnnxNode node : graph.getNodes()) {
            if (node.getOpType().equals("BatchNormalization") && node.getInputs().size() == 5) {
                buffers.add(node.getInputs().get(3));
                buffers.add(node.getInputs().get(4));
            }
        }
        long count = 0;
        for (OnnxTensor tensor : graph.getInitializers().values()) {
            boolean floating = switch (tensor.getDataType()) {
                case FLOAT, FLOAT16, BFLOAT16, DOUBLE -> true;
                default -> false;
            };
            if (floating && !buffers.contains(tensor.getName())) {
                count += tensor.getElementCount();
            }
        }
        return count;
    }
}
