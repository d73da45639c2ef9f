package org.quantint8.onnx;

import java.util.HashSet;
import java.util.Set;

/**
 * Checks that a graph's data flow is well formed: every node reads only values that exist by the
 * time it runs (graph inputs, initializers, outputs of earlier nodes, or values of an enclosing
 * graph for subgraphs), no value is produced twice, and every graph output is produced.
 *
 * <p>Nodes must already be in execution order, as ONNX requires; the check is linear in the size
 * of the graph. Names visible from enclosing graphs are looked up through a chain of scopes rather
 * than copied into each subgraph.
 */
final class GraphValidator {

    private final DecodeContext context;

    /**
     * Creates a validator.
     *
     * @param context names the file in error messages
     */
    GraphValidator(DecodeContext context) {
        this.context = context;
    }

    /** The values defined in one graph, and the scope of the graph enclosing it. */
    private record Scope(Set<String> names, Scope enclosing) {

        boolean contains(String name) {
            for (Scope scope = this; scope != null; scope = scope.enclosing) {
                if (scope.names.contains(name)) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * Validates a model's main graph and, recursively, its subgraphs.
     *
     * @param graph the main graph
     * @throws OnnxFormatException naming the first node or output at fault
     */
    void validate(OnnxGraph graph) throws OnnxFormatException {
        validate(graph, null);
    }

    private void validate(OnnxGraph graph, Scope enclosing) throws OnnxFormatException {
        context.enter("graph '" + graph.getName() + "'");
        Scope scope = new Scope(new HashSet<>(), enclosing);
        for (OnnxValueInfo input : graph.getInputs()) {
            scope.names.add(input.getName());
        }
        scope.names.addAll(graph.getInitializers().keySet());
        for (int index = 0; index < graph.getNodes().size(); index++) {
            OnnxNode node = graph.getNodes().get(index);
            context.enter(
                    "node #" + index + " '" + node.getName() + "' (" + node.getOpType() + ")");
            checkNode(node, scope);
            context.leave();
        }
        for (OnnxValueInfo output : graph.getOutputs()) {
            if (!scope.contains(output.getName())) {
                throw context.error(
                        "graph output '" + output.getName() + "' is not produced by any node");
            }
        }
        context.leave();
    }

    private void checkNode(OnnxNode node, Scope scope) throws OnnxFormatException {
        for (String input : node.getInputs()) {
            if (!input.isEmpty() && !scope.contains(input)) {
                throw context.error(
                        "input '"
                                + input
                                + "' is not a graph input, an initializer or an output of an"
                                + " earlier node");
            }
        }
        // Subgraphs see the values defined before their node, not the node's own outputs.
        for (OnnxAttribute attribute : node.getAttributes().values()) {
            if (attribute.getType() == OnnxAttribute.Type.GRAPH) {
                validateSubgraph(attribute, attribute.getGraph(), scope);
            } else if (attribute.getType() == OnnxAttribute.Type.GRAPHS) {
                for (OnnxGraph subgraph : attribute.getGraphs()) {
                    validateSubgraph(attribute, subgraph, scope);
                }
            }
        }
        for (String output : node.getOutputs()) {
            if (!output.isEmpty() && !scope.names.add(output)) {
                throw context.error("output '" + output + "' is already defined in this graph");
            }
        }
    }

    private void validateSubgraph(OnnxAttribute attribute, OnnxGraph subgraph, Scope scope)
            throws OnnxFormatException {
        context.enter("attribute '" + attribute.getName() + "'");
        validate(subgraph, scope);
        context.leave();
    }
}
