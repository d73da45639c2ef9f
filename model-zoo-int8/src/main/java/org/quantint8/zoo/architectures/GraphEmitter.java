package org.quantint8.zoo.architectures;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxDimension;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Emits the nodes, constants and parameters of one ONNX graph, naming values the way PyTorch's
 * exporter does ({@code /scope/OpType_n}, outputs {@code /scope/OpType_n_output_0}).
 *
 * <p>Parameters become initializers (their values come from a {@link WeightSupplier}); literal
 * numbers become {@code Constant} nodes, so that the initializers are exactly the model's
 * parameters and buffers.
 */
final class GraphEmitter {

    /** The opset the architectures target: the first with {@code LayerNormalization}. */
    static final long OPSET = 17;

    private final OnnxGraph.Builder graph;
    private final WeightSupplier weights;
    private final Map<String, Integer> counters = new HashMap<>();
    private final Map<String, String> constants = new HashMap<>();
    private String scope = "";

    GraphEmitter(String graphName, WeightSupplier weights) {
        this.graph = OnnxGraph.builder().optName(graphName);
        this.weights = weights;
    }

    /**
     * Sets the scope that prefixes the names of the nodes emitted next.
     *
     * @param scope the scope, for example {@code encoder/layer.3/attention}
     */
    void setScope(String scope) {
        this.scope = scope;
    }

    /**
     * Adds a parameter as an initializer.
     *
     * @param name the parameter name, in the architecture's naming
     * @param init the random initialization
     * @param dims the shape
     * @return the value name, equal to {@code name}
     */
    String parameter(String name, WeightInit init, long... dims) {
        float[] values = weights.get(name, init, dims);
        graph.addInitializer(OnnxTensor.of(name, values, dims));
        return name;
    }

    /**
     * Declares a graph input.
     *
     * @param name the input name
     * @param type the element type
     * @param dims the dimensions: {@link Long} for fixed ones, {@link String} for symbolic ones
     */
    void input(String name, OnnxDataType type, Object... dims) {
        graph.addInput(OnnxValueInfo.tensor(name, type, dimensions(dims)));
    }

    /**
     * Declares a graph output; the value must be produced under that name.
     *
     * @param name the output name
     * @param type the element type
     * @param dims the dimensions: {@link Long} for fixed ones, {@link String} for symbolic ones
     */
    void output(String name, OnnxDataType type, Object... dims) {
        graph.addOutput(OnnxValueInfo.tensor(name, type, dimensions(dims)));
    }

    /**
     * Emits a node with one output.
     *
     * @param opType the operator
     * @param inputs the input value names
     * @param attributes the attributes
     * @return the output value name
     */
    String node(String opType, List<String> inputs, OnnxAttribute... attributes) {
        return nodeWithOutputs(opType, 1, inputs, attributes).get(0);
    }

    /**
     * Emits a node whose single output gets a chosen name (a graph output, for example).
     *
     * @param opType the operator
     * @param output the output value name
     * @param inputs the input value names
     * @param attributes the attributes
     * @return {@code output}
     */
    String nodeTo(String opType, String output, List<String> inputs, OnnxAttribute... attributes) {
        String name = nextNodeName(opType);
        emit(opType, name, List.of(output), inputs, attributes);
        return output;
    }

    /**
     * Emits a node with several outputs.
     *
     * @param opType the operator
     * @param outputCount the number of outputs
     * @param inputs the input value names
     * @param attributes the attributes
     * @return the output value names
     */
    List<String> nodeWithOutputs(
            String opType, int outputCount, List<String> inputs, OnnxAttribute... attributes) {
        String name = nextNodeName(opType);
        List<String> outputs = new ArrayList<>();
        for (int i = 0; i < outputCount; i++) {
            outputs.add(name + "_output_" + i);
        }
        emit(opType, name, outputs, inputs, attributes);
        return outputs;
    }

    /**
     * Returns a float scalar constant, emitted once per value.
     *
     * @param value the value
     * @return the value name
     */
    String constant(float value) {
        return constants.computeIfAbsent(
                "f" + Float.floatToIntBits(value),
                key -> constantNode(key, OnnxTensor.of("", new float[] {value})));
    }

    /**
     * Returns an int64 scalar constant, emitted once per value.
     *
     * @param value the value
     * @return the value name
     */
    String scalar(long value) {
        return constants.computeIfAbsent(
                "s" + value, key -> constantNode(key, OnnxTensor.of("", new long[] {value})));
    }

    /**
     * Returns a 1-D int64 constant (shapes, axes, split sizes), emitted once per value.
     *
     * @param values the values
     * @return the value name
     */
    String ints(long... values) {
        return constants.computeIfAbsent(
                "v" + Arrays.toString(values),
                key -> constantNode(key, OnnxTensor.of("", values, values.length)));
    }

    /**
     * Finishes the model.
     *
     * @param docString what the model is
     * @return the model, opset {@value #OPSET}
     * @throws IllegalArgumentException if imported weights had tensors the graph did not use
     */
    OnnxModel build(String docString) {
        weights.checkAllUsed();
        return OnnxModel.builder()
                .setGraph(graph.build())
                .addOpsetImport("", OPSET)
                .optIrVersion(8)
                .optProducerName("QuantInt8 model zoo")
                .optDocString(docString)
                .build();
    }

    private String constantNode(String key, OnnxTensor value) {
        String saved = scope;
        scope = "";
        String output = node("Constant", List.of(), OnnxAttribute.ofTensor("value", value));
        scope = saved;
        return output;
    }

    private void emit(
            String opType,
            String name,
            List<String> outputs,
            List<String> inputs,
            OnnxAttribute... attributes) {
        OnnxNode.Builder node = OnnxNode.builder().setOpType(opType).optName(name);
        inputs.forEach(node::addInput);
        outputs.forEach(node::addOutput);
        for (OnnxAttribute attribute : attributes) {
            node.addAttribute(attribute);
        }
        graph.addNode(node.build());
    }

    private String nextNodeName(String opType) {
        String prefix = "/" + (scope.isEmpty() ? "" : scope + "/") + opType;
        int index = counters.merge(prefix, 1, Integer::sum) - 1;
        return index == 0 ? prefix : prefix + "_" + index;
    }

    private static List<OnnxDimension> dimensions(Object... dims) {
        List<OnnxDimension> shape = new ArrayList<>();
        for (Object dim : dims) {
            shape.add(
                    dim instanceof String param
                            ? OnnxDimension.symbolic(param)
                            : OnnxDimension.of(((Number) dim).longValue()));
        }
        return shape;
    }
}
