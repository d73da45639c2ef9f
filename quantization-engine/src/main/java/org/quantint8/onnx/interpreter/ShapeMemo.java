package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxOpsetImport;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The remembered results of one node that computes from shapes: a {@code Shape}, or a pure
 * operator whose computed inputs all come from such nodes (the {@code Gather}, {@code Unsqueeze}
 * and {@code Concat} chains that exported transformers run to build the targets of their
 * reshapes). Their values depend only on the shapes a {@code Shape} reads, so a run that meets
 * shapes seen before takes the results made then instead of calling the operator: a MiniLM call
 * runs about 180 of these nodes, each a call into PyTorch.
 *
 * <p>A value is identified by a key, not read: a {@code Shape} output by its node and the dims it
 * read, any other output by its node and its inputs' keys. So a lookup costs no native call. An
 * entry is never replaced or removed while the program lives (a run on another thread may be
 * reading it); the memo stops growing at {@link #MAX_ENTRIES} and then only runs its operator.
 * Results larger than {@link #MAX_ELEMENTS} elements, or not PyTorch arrays, are not kept.
 */
final class ShapeMemo {

    /** Distinct inputs remembered per node: distinct sequence lengths, in practice. */
    static final int MAX_ENTRIES = 64;

    /** Elements of the largest result kept (shape vectors have a handful). */
    static final long MAX_ELEMENTS = 256;

    /** The operators whose results are a function of their inputs' values alone. */
    private static final Set<String> PURE = Set.of("Shape", "Gather", "Unsqueeze", "Squeeze",
            "Concat", "Cast", "Slice", "Add", "Sub", "Mul", "Div", "Equal", "Where", "Range",
            "ConstantOfShape", "Reshape", "Expand", "Identity", "Min", "Max", "Neg", "Less",
            "Greater", "Not", "Floor", "Ceil");

    private final Map<Key, NDArray[]> entries = new ConcurrentHashMap<>();
    private final NDManager manager;
    private final boolean shape;

    private ShapeMemo(NDManager manager, boolean shape) {
        this.manager = manager;
        this.shape = shape;
    }

    /**
     * Returns a memo for a node that computes from shapes, or null for any other node.
     *
     * @param node the node
     * @param computedFromShapes per input: whether it is omitted, a constant, or made by a node
     *     that computes from shapes
     * @param graphOutput whether an output of the node is an output of the graph
     * @param manager where remembered results are kept, for as long as the program
     * @return the memo, or null
     */
    static ShapeMemo of(OnnxNode node, boolean[] computedFromShapes, boolean graphOutput,
            NDManager manager) {
        boolean standard = OnnxOpsetImport.isDefaultDomain(node.getDomain());
        if (!standard || !PURE.contains(node.getOpType()) || graphOutput) {
            return null;
        }
        boolean shape = node.getOpType().equals("Shape");
        for (int i = shape ? 1 : 0; i < computedFromShapes.length; i++) {
            if (!computedFromShapes[i]) {
                return null;
            }
        }
        return new ShapeMemo(manager, shape);
    }

    /**
     * Returns the node's key in a run: per input, null for an omitted or constant one, the dims
     * that a {@code Shape} reads, else the key that the input's maker gave it.
     *
     * @param run the run
     * @param inputs the node's input slots
     * @param constantInputs which inputs are constants
     * @return the key, or null if an input has none
     */
    Key key(GraphRun run, int[] inputs, boolean[] constantInputs) {
        Object[] parts = new Object[inputs.length];
        for (int i = 0; i < parts.length; i++) {
            if (inputs[i] < 0 || constantInputs[i]) {
                continue;
            }
            if (i == 0 && shape) {
                parts[i] = new Dims(run.read(inputs[i]).getShape().getShape());
            } else if ((parts[i] = run.key(inputs[i])) == null) {
                return null;
            }
        }
        return new Key(parts);
    }

    /**
     * Returns the results remembered for a key.
     *
     * @param key the node's key ({@link #key})
     * @return the results, owned by the memo (never closed by a run), or null
     */
    NDArray[] find(Key key) {
        return entries.get(key);
    }

    /**
     * Keeps copies of a node's results, if they are small PyTorch arrays and there is room.
     *
     * @param key the node's key
     * @param results the results of the run, which stay the run's (null for one not kept)
     */
    void remember(Key key, List<NDArray> results) {
        if (entries.size() >= MAX_ENTRIES || entries.containsKey(key)) {
            return;
        }
        String engine = manager.getEngine().getEngineName();
        for (NDArray result : results) {
            if (result == null || result.size() > MAX_ELEMENTS
                    || !result.getManager().getEngine().getEngineName().equals(engine)) {
                return;
            }
        }
        NDArray[] kept = new NDArray[results.size()];
        for (int i = 0; i < kept.length; i++) {
            kept[i] = results.get(i).duplicate();
            kept[i].attach(manager);
        }
        if (entries.putIfAbsent(key, kept) != null) {
            for (NDArray array : kept) { // another thread kept the same results first
                array.close();
            }
        }
    }

    /** Dims compared by value. */
    private record Dims(long[] values) {

        @Override
        public boolean equals(Object other) {
            return other instanceof Dims d && Arrays.equals(values, d.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return Arrays.toString(values);
        }
    }

    /**
     * A node's key in a run: its inputs' keys, the hash computed once (keys nest along a chain).
     */
    static final class Key {

        private final Object[] parts;
        private final int hash;

        private Key(Object[] parts) {
            this.parts = parts;
            this.hash = Arrays.hashCode(parts);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Key k && hash == k.hash && Arrays.equals(parts, k.parts);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public String toString() {
            return Arrays.toString(parts);
        }
    }

    /**
     * The key of one output of a node, made from the node's key.
     *
     * @param node the node's key
     * @param output the output's index
     */
    record OutputKey(Key node, int output) {}
}
