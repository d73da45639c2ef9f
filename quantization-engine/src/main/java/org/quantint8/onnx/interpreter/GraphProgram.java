package org.quantint8.onnx.interpreter;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxFormatException;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxValueInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An ONNX graph compiled for repeated runs: every value is a numbered slot, initializers and
 * {@code Constant} outputs are arrays made once, each node is bound to its operator, and each
 * value is released right after the last node that reads it.
 *
 * <p>A program is immutable once compiled and may run on several threads at once; each run keeps
 * its values in a {@link GraphRun} of its own.
 */
final class GraphProgram {

    private static final Logger logger = LoggerFactory.getLogger(GraphProgram.class);

    /**
     * One node bound to its operator.
     *
     * @param node the node
     * @param operator its implementation
     * @param inputs the slot of each input, -1 for an omitted one
     * @param outputs the slot of each output, -1 for an omitted one
     * @param constantInputs which inputs are the same on every run
     * @param release the slots whose last reader is this node
     * @param graphOutputs which outputs are outputs of the graph
     * @param cache the node's cache, living as long as the program
     * @param memo the remembered results of a node that computes from shapes, or null
     */
    record Step(
            OnnxNode node,
            OnnxOperator operator,
            int[] inputs,
            int[] outputs,
            boolean[] constantInputs,
            int[] release,
            boolean[] graphOutputs,
            Map<Object, Object> cache,
            ShapeMemo memo,
            int codeReaders) {}

    private final String source;
    private final long opset;
    private final List<Step> steps;
    private final NDArray[] constants;
    private final int[] inputSlots;
    private final int[] outputSlots;
    private final List<OnnxValueInfo> inputs;
    private final List<OnnxValueInfo> outputs;

    private GraphProgram(GraphCompiler compiler) {
        source = compiler.source;
        opset = compiler.opset;
        steps = List.copyOf(compiler.steps);
        constants = compiler.constants.toArray(new NDArray[0]);
        inputs = compiler.graphInputs;
        outputs = compiler.graph.getOutputs();
        inputSlots = inputs.stream().mapToInt(v -> compiler.slots.get(v.getName())).toArray();
        outputSlots = outputs.stream().mapToInt(v -> compiler.slots.get(v.getName())).toArray();
    }

    /**
     * Compiles a model's main graph.
     *
     * <p>Constant arrays are created in {@code constantManager}; the caller closes it if this
     * method throws.
     *
     * @param model the model
     * @param source the model file, for messages
     * @param registry the operators
     * @param modelManager the model's manager, for quantized constants
     * @param constantManager the alternative engine's manager for the constant arrays
     * @return the program
     * @throws OnnxFormatException if a constant is invalid or a node cannot be run
     */
    static GraphProgram compile(
            OnnxModel model,
            String source,
            OperatorRegistry registry,
            QuantInt8NDManager modelManager,
            NDManager constantManager)
            throws OnnxFormatException {
        GraphCompiler compiler =
                new GraphCompiler(model, source, registry, modelManager, constantManager);
        compiler.compile();
        return new GraphProgram(compiler);
    }

    /**
     * Returns the graph inputs that a caller provides (initializers excluded).
     *
     * @return the inputs, in graph order
     */
    List<OnnxValueInfo> getInputs() {
        return inputs;
    }

    /**
     * Returns the graph outputs.
     *
     * @return the outputs, in graph order
     */
    List<OnnxValueInfo> getOutputs() {
        return outputs;
    }

    /**
     * Returns the model file, for messages.
     *
     * @return the source name
     */
    String getSource() {
        return source;
    }

    /**
     * Runs the graph.
     *
     * @param runManager the alternative engine's manager of this run; every intermediate is
     *     attached to it
     * @param quantManager the QuantInt8 manager of this run
     * @param resultManager the manager the caller takes the results into, where operators may
     *     make graph outputs directly ({@link OperatorContext#outputManager}), or null
     * @param inputValues the graph inputs in {@link #getInputs()} order, of any engine
     * @return the graph outputs, attached to one of the run's managers or to the result manager
     */
    NDArray[] run(NDManager runManager, QuantInt8NDManager quantManager,
            QuantInt8NDManager resultManager, NDArray[] inputValues) {
        GraphRun run = new GraphRun(constants, runManager, quantManager, resultManager);
        try {
            for (int i = 0; i < inputSlots.length; i++) {
                run.assign(inputSlots[i], run.adopt(inputValues[i]));
            }
            for (Step step : steps) {
                execute(run, step);
            }
        } catch (RuntimeException | Error e) {
            // The run's managers free the rest; what went to the caller's is freed here.
            run.closeResults();
            throw e;
        }
        NDArray[] results = new NDArray[outputSlots.length];
        for (int i = 0; i < results.length; i++) {
            results[i] = run.read(outputSlots[i]);
        }
        return results;
    }

    private void execute(GraphRun run, Step step) {
        ShapeMemo.Key key = step.memo == null ? null
                : step.memo.key(run, step.inputs, step.constantInputs);
        NDArray[] kept = key == null ? null : step.memo.find(key);
        if (kept != null) {
            for (int i = 0; i < kept.length && i < step.outputs.length; i++) {
                if (step.outputs[i] >= 0) {
                    run.assignKept(step.outputs[i], kept[i], new ShapeMemo.OutputKey(key, i));
                }
            }
        } else {
            NDList results = compute(run, step);
            if (key != null) {
                for (int i = 0; i < results.size() && i < step.outputs.length; i++) {
                    if (step.outputs[i] >= 0) {
                        run.setKey(step.outputs[i], new ShapeMemo.OutputKey(key, i));
                    }
                }
                step.memo.remember(key, results);
            }
        }
        for (int slot : step.release) {
            run.release(slot);
        }
    }

    /** Runs a step's operator and stores its results in the run (null for a discarded one). */
    private NDList compute(GraphRun run, Step step) {
        List<NDArray> args = new ArrayList<>(step.inputs.length);
        for (int i = 0; i < step.inputs.length; i++) {
            int slot = step.inputs[i];
            args.add(slot < 0 ? null
                    : step.constantInputs[i] && step.operator.readsInPlace(i) ? run.constant(slot)
                    : run.read(slot));
        }
        OperatorContext context =
                new OperatorContext(
                        run.runManager(),
                        run.quantManager(),
                        opset,
                        step.cache,
                        step.constantInputs,
                        run.resultManager(),
                        step.graphOutputs,
                        step.codeReaders > 1
                                ? run.inputCodes(step.inputs[0], step.codeReaders)
                                : InputCodes.UNSHARED);
        NDList results = apply(step, context, args);
        NDList owned = new NDList(results.size());
        for (int i = 0; i < results.size(); i++) {
            NDArray result = run.own(results.get(i));
            if (i < step.outputs.length && step.outputs[i] >= 0) {
                run.assign(step.outputs[i], result);
                owned.add(result);
            } else {
                run.discard(result);
                owned.add(null);
            }
        }
        return owned;
    }

    private NDList apply(Step step, OperatorContext context, List<NDArray> args) {
        try {
            NDList results = step.operator.apply(context, step.node, args);
            if (results.size() > step.outputs.length) {
                throw new IllegalStateException(
                        "the operator returned " + results.size() + " outputs");
            }
            return results;
        } catch (RuntimeException e) {
            String message = failure(step.node, args, e);
            if (e instanceof IllegalArgumentException) {
                throw new IllegalArgumentException(message, e);
            }
            throw new EngineException(message, e);
        }
    }

    /**
     * Describes a node failure: file, node, operator type, input shapes and the cause.
     *
     * @param node the node
     * @param args its inputs
     * @param cause the failure
     * @return the message
     */
    String failure(OnnxNode node, List<NDArray> args, Exception cause) {
        List<String> shapes = new ArrayList<>();
        for (NDArray arg : args) {
            shapes.add(arg == null ? "omitted" : arg.getDataType() + " " + arg.getShape());
        }
        return source + ": " + node.describe() + " failed on inputs " + shapes + ": "
                + cause.getMessage();
    }

    /** Closes the node caches' closeable values (ONNX Runtime sessions, say). */
    void closeCaches() {
        for (Step step : steps) {
            for (Object value : step.cache.values()) {
                if (value instanceof AutoCloseable closeable) {
                    try {
                        closeable.close();
                    } catch (Exception e) {
                        logger.warn("{}: failed to close a cached value of {}", source,
                                step.node.describe(), e);
                    }
                }
            }
            step.cache.clear();
        }
    }
}
