package org.quantint8.engine;

import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Recognizes models that are already quantized: the zoo's {@code int8} artifacts, QuantInt8's own
 * exports and other tools' INT8 models (ONNX Runtime's {@code -q} twins). Such a model keeps in
 * FP32 what its maker chose to keep, so by default the engine runs it as it is.
 */
final class PreQuantizedModels {

    /** Integer operators: their presence alone means the model was quantized. */
    private static final Set<String> INTEGER_OPS = Set.of("MatMulInteger", "ConvInteger",
            "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm", "QAttention");

    private PreQuantizedModels() {}

    /**
     * Counts the quantized nodes of a model's main graph: integer operators, {@code QLinear*}
     * operators and {@code DequantizeLinear} of an initializer (a QDQ weight).
     *
     * @param model the model
     * @return the count per op type, sorted; empty when the model is not quantized
     */
    static Map<String, Integer> quantizedNodes(OnnxModel model) {
        OnnxGraph graph = model.getGraph();
        Map<String, Integer> counts = new TreeMap<>();
        for (OnnxNode node : graph.getNodes()) {
            String op = node.getOpType();
            boolean quantized = INTEGER_OPS.contains(op) || op.startsWith("QLinear")
                    || op.equals("DequantizeLinear") && !node.getInputs().isEmpty()
                            && graph.getInitializers().containsKey(node.getInputs().get(0));
            if (quantized) {
                counts.merge(op, 1, Integer::sum);
            }
        }
        return counts;
    }
}
