package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractSymbolBlock;
import ai.djl.nn.ParameterList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.ndarray.RunPools;
import org.quantint8.onnx.OnnxFormatException;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxValueInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * An ONNX graph run as a DJL {@link ai.djl.nn.SymbolBlock}: its nodes run in order on NDArray
 * operations through an {@link OperatorRegistry}, and nodes without an operator run on ONNX
 * Runtime.
 *
 * <p>Initializers and {@code Constant} nodes become arrays of the alternative engine (PyTorch) once,
 * at load, and live as long as the model's manager. Each forward pass keeps its intermediate
 * values in a manager of its own, frees each one after the last node that reads it, and returns
 * the graph outputs as QuantInt8 arrays attached to the manager of the first input, as DJL's
 * symbol blocks do. The passes' memory is kept between them ({@link RunPools}): after the first
 * pass the block holds about the peak memory of one pass per pass that ran at the same time, until
 * the model's manager closes.
 *
 * <p>Inputs are matched to the graph inputs by name ({@link NDArray#setName}) when every input is
 * named, otherwise by position. The block may run on several threads at once.
 */
public final class OnnxBlock extends AbstractSymbolBlock {

    private final GraphProgram program;
    private final QuantInt8NDManager manager;
    private final RunPools runPools;

    private OnnxBlock(GraphProgram program, QuantInt8NDManager manager) {
        this.program = program;
        this.manager = manager;
        runPools = new RunPools(manager);
        inputNames = program.getInputs().stream().map(OnnxValueInfo::getName).toList();
        inputShapes = program.getInputs().stream().map(OnnxBlock::shapeOf).toArray(Shape[]::new);
    }

    /**
     * Compiles a model with the built-in operators.
     *
     * @param model the model
     * @param source the model file, named in messages
     * @param manager the model's manager: the block's constants and ONNX Runtime sessions live
     *     as long as it
     * @return the block
     * @throws OnnxFormatException if an initializer or constant cannot be made into an array, or
     *     a node has an operator that neither the interpreter nor ONNX Runtime has
     */
    public static OnnxBlock newInstance(OnnxModel model, String source, QuantInt8NDManager manager)
            throws OnnxFormatException {
        return newInstance(model, source, manager, OperatorRegistry.builtIn());
    }

    /**
     * Compiles a model with the given operators.
     *
     * @param model the model
     * @param source the model file, named in messages
     * @param manager the model's manager: the block's constants and ONNX Runtime sessions live
     *     as long as it
     * @param registry the operators
     * @return the block
     * @throws OnnxFormatException if an initializer or constant cannot be made into an array, or
     *     a node has an operator that neither the interpreter nor ONNX Runtime has
     */
    public static OnnxBlock newInstance(
            OnnxModel model, String source, QuantInt8NDManager manager, OperatorRegistry registry)
            throws OnnxFormatException {
        // Each dynamically quantized projection and convolution runs as one INT8 operator when
        // the registry has the fused operators.
        boolean fuse = registry.find(IntegerLinearFusion.DOMAIN, IntegerLinearFusion.FUSED_OP)
                .isPresent()
                && registry.find(IntegerLinearFusion.DOMAIN, IntegerLinearFusion.FUSED_CONV)
                        .isPresent();
        return newInstance(model, source, manager, registry, fuse);
    }

    /** Compiles a model, with the load-time fusions or without (tests compare both). */
    static OnnxBlock newInstance(OnnxModel model, String source, QuantInt8NDManager manager,
            OperatorRegistry registry, boolean fuse) throws OnnxFormatException {
        NDManager constants = manager.getAlternativeManagerOrThrow().newSubManager();
        try {
            OnnxModel executable = fuse ? IntegerLinearFusion.apply(model) : model;
            // The transformer chains become operators of their own when the registry runs them.
            boolean transformer = fuse
                    && registry.find(IntegerLinearFusion.DOMAIN, TransformerOperators.GELU)
                            .isPresent()
                    && registry.find(IntegerLinearFusion.DOMAIN,
                            TransformerOperators.ADD_LAYER_NORM).isPresent();
            if (transformer) {
                executable = TransformerFusion.apply(executable);
            }
            if (fuse) {
                executable = ChannelsLastValues.apply(executable); // after every fusion
            }
            GraphProgram program =
                    GraphProgram.compile(executable, source, registry, manager, constants);
            manager.attachInternal("onnx-node-caches:" + constants.getName(),
                    program::closeCaches);
            return new OnnxBlock(program, manager);
        } catch (OnnxFormatException | RuntimeException e) {
            constants.close();
            throw e;
        }
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray[] ordered = bind(inputs);
        NDManager caller = inputs.head().getManager();
        try (QuantInt8NDManager run = runPools.newRunManager()) {
            NDArray[] results = program.run(run.getAlternativeManagerOrThrow(), run,
                    caller instanceof QuantInt8NDManager quant ? quant : null, ordered);
            QuantInt8NDManager target = outputManager(caller);
            NDList outputs = new NDList(results.length);
            for (int i = 0; i < results.length; i++) {
                NDArray output = results[i];
                if (output instanceof QuantInt8NDArray) {
                    // Owned by the run, which closes on return: move it rather than lose it
                    // (from() would hand back the same array).
                    output.attach(target);
                } else {
                    output = target.from(output);
                }
                output.setName(program.getOutputs().get(i).getName());
                outputs.add(output);
            }
            return outputs;
        }
    }

    /** The memory kept between passes (tests read its size). */
    RunPools runPools() {
        return runPools;
    }

    /** Orders the inputs as the graph declares them: by name if all are named, else by position. */
    private NDArray[] bind(NDList inputs) {
        List<OnnxValueInfo> declared = program.getInputs();
        if (inputs.size() != declared.size()) {
            throw new IllegalArgumentException(
                    program.getSource() + ": expected " + declared.size() + " inputs " + inputNames
                            + ", got " + inputs.size());
        }
        NDArray[] ordered = new NDArray[declared.size()];
        boolean named =
                inputs.stream()
                        .allMatch(a -> a.getName() != null && inputNames.contains(a.getName()));
        for (int i = 0; i < ordered.length; i++) {
            NDArray input = inputs.get(i);
            int at = named ? inputNames.indexOf(input.getName()) : i;
            if (ordered[at] != null) {
                throw new IllegalArgumentException(
                        program.getSource() + ": input '" + input.getName() + "' given twice");
            }
            ordered[at] = input;
        }
        return ordered;
    }

    /** The caller's QuantInt8 manager, or a QuantInt8 manager that closes with the caller's. */
    private QuantInt8NDManager outputManager(NDManager caller) {
        if (caller instanceof QuantInt8NDManager quant) {
            return quant;
        }
        QuantInt8NDManager outputs = manager.newSubManager(manager.getDevice());
        caller.attachInternal(UUID.randomUUID().toString(), outputs);
        return outputs;
    }

    /** {@inheritDoc} */
    @Override
    public ParameterList getDirectParameters() {
        // Initializers are constants of the graph, not trainable parameters.
        return new ParameterList();
    }

    /** {@inheritDoc} */
    @Override
    public PairList<String, Shape> describeInput() {
        return new PairList<>(inputNames, List.of(inputShapes));
    }

    /** {@inheritDoc} */
    @Override
    public PairList<String, Shape> describeOutput() {
        List<String> names = new ArrayList<>();
        List<Shape> shapes = new ArrayList<>();
        for (OnnxValueInfo output : program.getOutputs()) {
            names.add(output.getName());
            shapes.add(shapeOf(output));
        }
        return new PairList<>(names, shapes);
    }

    /** {@inheritDoc} */
    @Override
    public DataType[] getOutputDataTypes() {
        return program.getOutputs().stream()
                .map(v -> v.getElemType().toDjl())
                .map(t -> t == null ? DataType.UNKNOWN : t)
                .toArray(DataType[]::new);
    }

    /** A declared shape; -1 for dimensions that are symbolic or unknown. */
    private static Shape shapeOf(OnnxValueInfo value) {
        if (!value.hasShape()) {
            return new Shape();
        }
        return new Shape(
                value.getShape().stream()
                        .mapToLong(d -> d.isFixed() ? d.value() : -1)
                        .toArray());
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return "OnnxBlock(" + program.getSource() + ", inputs " + inputNames + ")";
    }
}
