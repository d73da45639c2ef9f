package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantInt8NDManager;

import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The values of one run of a {@link GraphProgram}.
 *
 * <p>Every value of the run is an array owned by one of the run's two managers: inputs and
 * constants are adopted as views (or copies, from another engine) and operator results that an
 * operator attached elsewhere are moved here. So a run never frees an array it does not own, and
 * closing its managers frees all it made. The exception, never stored in a slot: a constant that
 * its reader declares it only reads ({@link OnnxOperator#readsInPlace}) is handed over as the
 * model holds it ({@link #constant}). An array may fill several slots ({@code Identity}
 * returns its input): it is closed when the last slot holding it is released. The other: a graph
 * output that its operator made in the caller's result manager ({@link
 * OperatorContext#outputManager}), which the run keeps there, and closes only if the run fails.
 * And the results a {@link ShapeMemo} keeps for the program: stored in slots but never closed
 * by the run, and viewed rather than taken when an operator hands one back as its result.
 */
final class GraphRun {

    private final NDArray[] constants;
    private final NDArray[] values;
    private final Object[] keys;
    private final NDManager runManager;
    private final QuantInt8NDManager quantManager;
    private final QuantInt8NDManager resultManager;
    private final Map<NDArray, Integer> holders = new IdentityHashMap<>();
    private final Set<NDArray> kept = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Map<Integer, SharedCodes> sharedCodes = new HashMap<>();

    /**
     * Creates the state of a run.
     *
     * @param constants the program's constants by slot, {@code null} for computed values
     * @param runManager the alternative engine's manager of the run
     * @param quantManager the QuantInt8 manager of the run
     * @param resultManager the caller's manager for the results, or null
     */
    GraphRun(NDArray[] constants, NDManager runManager, QuantInt8NDManager quantManager,
            QuantInt8NDManager resultManager) {
        this.constants = constants;
        this.values = new NDArray[constants.length];
        this.keys = new Object[constants.length];
        this.runManager = runManager;
        this.quantManager = quantManager;
        this.resultManager = resultManager;
    }

    QuantInt8NDManager resultManager() {
        return resultManager;
    }

    /** Closes the values made in the result manager, when the run fails. */
    void closeResults() {
        if (resultManager == null) {
            return;
        }
        for (NDArray value : holders.keySet()) {
            if (value.getManager() == resultManager) {
                value.close();
            }
        }
    }

    NDManager runManager() {
        return runManager;
    }

    /**
     * Returns the codes of a slot's value that several steps quantize (see {@link InputCodes}).
     *
     * @param slot the slot
     * @param readers how many steps quantize its value
     * @return the sharing, the same for every reader in this run
     */
    InputCodes inputCodes(int slot, int readers) {
        return sharedCodes.computeIfAbsent(slot, s -> new SharedCodes(readers));
    }

    QuantInt8NDManager quantManager() {
        return quantManager;
    }

    /**
     * Returns the value of a slot; a constant is adopted on first read.
     *
     * @param slot the slot
     * @return the value
     */
    NDArray read(int slot) {
        NDArray value = values[slot];
        if (value == null && constants[slot] != null) {
            value = adopt(constants[slot]);
            assign(slot, value);
        }
        if (value == null) {
            throw new IllegalStateException("slot " + slot + " read before it is written");
        }
        return value;
    }

    /**
     * Returns a constant as the model holds it, for an input that its operator reads in place
     * ({@link OnnxOperator#readsInPlace}): the run neither views nor closes it.
     *
     * @param slot the constant's slot
     * @return the model's array
     */
    NDArray constant(int slot) {
        NDArray constant = constants[slot];
        if (constant == null) {
            throw new IllegalStateException("slot " + slot + " is not a constant");
        }
        return constant;
    }

    /**
     * Stores a value in a slot.
     *
     * @param slot the slot
     * @param value an array owned by the run
     */
    void assign(int slot, NDArray value) {
        values[slot] = value;
        holders.merge(value, 1, Integer::sum);
    }

    /**
     * Stores a result that a {@link ShapeMemo} keeps: the run reads it but never closes it.
     *
     * @param slot the slot
     * @param value the memo's array
     * @param key the value's key
     */
    void assignKept(int slot, NDArray value, Object key) {
        values[slot] = value;
        keys[slot] = key;
        kept.add(value);
    }

    /**
     * Gives a slot's value the key of a {@link ShapeMemo}.
     *
     * @param slot the slot
     * @param key the key
     */
    void setKey(int slot, Object key) {
        keys[slot] = key;
    }

    /**
     * Returns the {@link ShapeMemo} key of a slot's value.
     *
     * @param slot the slot
     * @return the key, or null when a node that does not compute from shapes made it
     */
    Object key(int slot) {
        return keys[slot];
    }

    /**
     * Empties a slot, closing its array if no other slot holds it.
     *
     * @param slot the slot
     */
    void release(int slot) {
        NDArray value = values[slot];
        if (value == null) {
            return;
        }
        values[slot] = null;
        keys[slot] = null;
        if (!holders.containsKey(value)) {
            return; // a memo's array
        }
        int left = holders.merge(value, -1, Integer::sum);
        if (left == 0) {
            holders.remove(value);
            value.close();
        }
    }

    /**
     * Closes an operator result that no slot takes (an omitted optional output).
     *
     * @param value the result, owned by the run
     */
    void discard(NDArray value) {
        if (!holders.containsKey(value) && !kept.contains(value)) {
            value.close();
        }
    }

    /**
     * Returns a view or copy of an array owned by this run, so that operations on it attach
     * their results to the run: arrays of the alternative engine and quantized QuantInt8 arrays
     * are viewed; plain QuantInt8 arrays (the caller's inputs, such as GPT-2's key/value cache)
     * become alternative-engine arrays over the same memory, which outlives the run; every other
     * array is copied into the alternative engine, where the FP32 and integer operators run.
     *
     * @param array an array of any manager, open until the run ends
     * @return an array attached to one of the run's managers
     */
    NDArray adopt(NDArray array) {
        NDManager target = managerFor(array);
        boolean quantized = array instanceof QuantInt8NDArray q && q.isQuantized();
        if (target == runManager || (target == quantManager && quantized)) {
            NDArray view = array.reshape(array.getShape());
            view.attach(target);
            return view;
        }
        if (target == quantManager) {
            // PyTorch wraps a direct buffer without copying: copying the whole key/value cache
            // into PyTorch on every decoding step was 7% of GPT-2's time. Unlike a Java buffer
            // (TensorConversion.owned), this memory stays valid as long as the caller's array,
            // beyond the run and its views; and the operators never write into their inputs.
            return runManager.create(array.toByteBuffer(true), array.getShape(),
                    array.getDataType());
        }
        return TensorConversion.owned(runManager.from(array));
    }

    /**
     * Takes ownership of an operator result attached to a manager outside the run.
     *
     * @param array the result
     * @return the same array, attached to the run
     */
    NDArray own(NDArray array) {
        if (kept.contains(array)) {
            return adopt(array); // an operator handed back a memo's array: the run takes a view
        }
        NDManager manager = array.getManager();
        if (manager == runManager || manager == quantManager
                || manager == resultManager && resultManager != null) {
            return array;
        }
        if (holders.containsKey(array)) {
            return array;
        }
        NDManager target = managerFor(array);
        if (target == null) {
            NDArray copy = TensorConversion.owned(runManager.from(array));
            array.close();
            return copy;
        }
        array.attach(target);
        return array;
    }

    private NDManager managerFor(NDArray array) {
        String engine = array.getManager().getEngine().getEngineName();
        if (engine.equals(runManager.getEngine().getEngineName())) {
            return runManager;
        }
        if (engine.equals(quantManager.getEngine().getEngineName())) {
            return quantManager;
        }
        return null;
    }
}
