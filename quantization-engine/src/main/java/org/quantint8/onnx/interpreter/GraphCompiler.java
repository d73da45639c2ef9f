package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxFormatException;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxOpsetImport;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.quantint8.onnx.interpreter.GraphProgram.Step;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Compiles a graph into a {@link GraphProgram}: slots, constants, operators and release points.
 */
final class GraphCompiler {

    private static final Logger logger = LoggerFactory.getLogger(GraphCompiler.class);

    // What the program is made of, read by GraphProgram once compile() has run.
    final OnnxGraph graph;
    final String source;
    final Map<String, Integer> slots = new HashMap<>();
    final List<NDArray> constants = new ArrayList<>();
    final List<Step> steps = new ArrayList<>();
    List<OnnxValueInfo> graphInputs;
    long opset;

    private final OnnxModel model;
    private final OperatorRegistry registry;
    private final QuantInt8NDManager modelManager;
    private final NDManager constantManager;
    private final Map<String, Integer> fallbackTypes = new LinkedHashMap<>();
    private final BitSet computedFromShapes = new BitSet();
    private NDManager memoManager;
    private OrtFallback fallback;

    GraphCompiler(
            OnnxModel model,
            String source,
            OperatorRegistry registry,
            QuantInt8NDManager modelManager,
            NDManager constantManager) {
        this.model = model;
        this.graph = model.getGraph();
        this.source = source;
        this.registry = registry;
        this.modelManager = modelManager;
        this.constantManager = constantManager;
    }

    void compile() throws OnnxFormatException {
        opset = defaultOpset();
        for (OnnxTensor tensor : graph.getInitializers().values()) {
            NDArray array;
            try {
                array = TensorConversion.toNDArray(constantManager, tensor);
            } catch (RuntimeException e) {
                throw new OnnxFormatException(
                        source + ": initializer '" + tensor.getName() + "': " + e.getMessage(),
                        e);
            }
            define(tensor.getName(), array);
        }
        graphInputs = new ArrayList<>();
        for (OnnxValueInfo input : graph.getInputs()) {
            // Before IR 4 initializers were also listed as inputs; they stay constants.
            if (!slots.containsKey(input.getName())) {
                define(input.getName(), null);
                graphInputs.add(input);
            }
        }
        graphInputs = List.copyOf(graphInputs);
        for (OnnxNode node : graph.getNodes()) {
            bind(node);
        }
        computeReleases();
        fallbackTypes.forEach(
                (type, count) ->
                        logger.info(
                                "{}: {} {} node(s) run on ONNX Runtime (no interpreter"
                                        + " operator)",
                                source,
                                count,
                                type));
    }

    private long defaultOpset() throws OnnxFormatException {
        if (model.getDefaultOpsetVersion().isPresent()) {
            return model.getDefaultOpsetVersion().getAsLong();
        }
        for (OnnxNode node : graph.getNodes()) {
            if (OnnxOpsetImport.isDefaultDomain(node.getDomain())) {
                throw new OnnxFormatException(
                        source + ": the model imports no opset of the default ONNX domain");
            }
        }
        return 0;
    }

    private int define(String name, NDArray constant) {
        int slot = constants.size();
        constants.add(constant);
        slots.put(name, slot);
        return slot;
    }

    private void bind(OnnxNode node) throws OnnxFormatException {
        OnnxOperator operator = operator(node);
        int[] in = new int[node.getInputs().size()];
        boolean[] constantInputs = new boolean[in.length];
        for (int i = 0; i < in.length; i++) {
            String name = node.getInputs().get(i);
            in[i] = name.isEmpty() ? -1 : slots.get(name);
            constantInputs[i] = in[i] >= 0 && constants.get(in[i]) != null;
        }
        if (isConstantNode(node) || isConstantTranspose(node, constantInputs)) {
            List<NDArray> inputs = new ArrayList<>();
            for (int slot : in) {
                inputs.add(constants.get(slot));
            }
            NDArray value = evaluateConstant(node, operator, constantInputs, inputs);
            define(node.getOutputs().get(0), value);
            return;
        }
        int[] out = new int[node.getOutputs().size()];
        for (int i = 0; i < out.length; i++) {
            String name = node.getOutputs().get(i);
            out[i] = name.isEmpty() ? -1 : define(name, null);
        }
        ShapeMemo memo = memo(node, in, constantInputs);
        for (int slot : out) {
            if (memo != null && slot >= 0) {
                computedFromShapes.set(slot);
            }
        }
        steps.add(
                new Step(node, operator, in, out, constantInputs, new int[0],
                        new boolean[out.length], new ConcurrentHashMap<>(), memo, 0));
    }

    /** The node's memo when it computes from shapes (see {@link ShapeMemo}), else null. */
    private ShapeMemo memo(OnnxNode node, int[] in, boolean[] constantInputs) {
        boolean[] fromShapes = new boolean[in.length];
        for (int i = 0; i < in.length; i++) {
            fromShapes[i] = in[i] < 0 || constantInputs[i] || computedFromShapes.get(in[i]);
        }
        boolean graphOutput = graph.getOutputs().stream()
                .anyMatch(o -> node.getOutputs().contains(o.getName()));
        if (memoManager == null) {
            memoManager = constantManager.newSubManager();
        }
        return ShapeMemo.of(node, fromShapes, graphOutput, memoManager);
    }

    private static boolean isConstantNode(OnnxNode node) {
        return node.getOpType().equals("Constant")
                && OnnxOpsetImport.isDefaultDomain(node.getDomain())
                && node.getOutputs().size() == 1;
    }

    /**
     * A Transpose of a constant (the 8-bit table a tied head reads transposed, when the
     * integer chain is not fused) is folded at load rather than recomputed on every run.
     */
    private static boolean isConstantTranspose(OnnxNode node, boolean[] constantInputs) {
        return node.getOpType().equals("Transpose")
                && OnnxOpsetImport.isDefaultDomain(node.getDomain())
                && constantInputs.length == 1 && constantInputs[0]
                && node.getOutputs().size() == 1;
    }

    private NDArray evaluateConstant(OnnxNode node, OnnxOperator operator,
            boolean[] constantInputs, List<NDArray> inputs) throws OnnxFormatException {
        OperatorContext context =
                new OperatorContext(
                        constantManager, modelManager, opset, new HashMap<>(), constantInputs);
        try {
            NDList value = operator.apply(context, node, inputs);
            return value.singletonOrThrow();
        } catch (RuntimeException e) {
            throw new OnnxFormatException(
                    source + ": " + node.describe() + ": " + e.getMessage(), e);
        }
    }

    private OnnxOperator operator(OnnxNode node) throws OnnxFormatException {
        OnnxOperator operator = registry.find(node.getDomain(), node.getOpType()).orElse(null);
        if (operator != null) {
            return operator;
        }
        if (!OrtFallback.knowsDomain(node.getDomain())) {
            throw new OnnxFormatException(
                    source
                            + ": "
                            + node.describe()
                            + ": unknown operator domain '"
                            + node.getDomain()
                            + "': neither the interpreter nor ONNX Runtime runs it");
        }
        if (fallback == null) {
            fallback = new OrtFallback(source, model.getOpsetImports());
        }
        String type =
                node.getDomain().isEmpty()
                        ? node.getOpType()
                        : node.getDomain() + '.' + node.getOpType();
        fallbackTypes.merge(type, 1, Integer::sum);
        return fallback;
    }

    /** Releases each value after its last reader; graph outputs are never released. */
    private void computeReleases() {
        int[] lastUse = new int[constants.size()];
        Arrays.fill(lastUse, -1);
        for (int s = 0; s < steps.size(); s++) {
            for (int slot : steps.get(s).inputs()) {
                if (slot >= 0) {
                    lastUse[slot] = s;
                }
            }
            for (int slot : steps.get(s).outputs()) {
                if (slot >= 0 && lastUse[slot] < s) {
                    lastUse[slot] = s;
                }
            }
        }
        for (OnnxValueInfo output : graph.getOutputs()) {
            lastUse[slots.get(output.getName())] = Integer.MAX_VALUE;
        }
        List<List<Integer>> releases = new ArrayList<>();
        steps.forEach(s -> releases.add(new ArrayList<>()));
        for (int slot = 0; slot < lastUse.length; slot++) {
            if (lastUse[slot] >= 0 && lastUse[slot] < steps.size()) {
                releases.get(lastUse[slot]).add(slot);
            }
        }
        int[] codeReaders = SharedCodes.readersByStep(steps, lastUse.length);
        for (int s = 0; s < steps.size(); s++) {
            Step step = steps.get(s);
            int[] release = releases.get(s).stream().mapToInt(Integer::intValue).toArray();
            boolean[] graphOutputs = new boolean[step.outputs().length];
            for (int i = 0; i < graphOutputs.length; i++) {
                int slot = step.outputs()[i];
                graphOutputs[i] = slot >= 0 && lastUse[slot] == Integer.MAX_VALUE;
            }
            steps.set(
                    s,
                    new Step(step.node(), step.operator(), step.inputs(), step.outputs(),
                            step.constantInputs(), release, graphOutputs, step.cache(),
                            step.memo(), codeReaders[s]));
        }
    }
}
