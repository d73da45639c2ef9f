package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import org.quantint8.ndarray.QuantInt8NDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One run of one quantized node: its name for messages, its inputs, the temporaries it creates
 * (closed when the run ends) and the values it prepares once per model (kept in the node cache).
 */
final class QuantizedScope implements AutoCloseable {

    private final String op;
    private final OperatorContext context;
    private final List<NDArray> inputs;
    private final List<AutoCloseable> temporaries = new ArrayList<>();

    /**
     * Starts a run, checking the number of inputs.
     *
     * @param op the operator type, the prefix of every message
     * @param context the run's context
     * @param inputs the node's inputs
     * @param minInputs the number of inputs the operator requires
     * @param maxInputs the number of inputs it accepts
     */
    QuantizedScope(
            String op, OperatorContext context, List<NDArray> inputs, int minInputs, int maxInputs) {
        this.op = op;
        this.context = context;
        this.inputs = inputs;
        if (inputs.size() < minInputs || inputs.size() > maxInputs) {
            String expected = minInputs == maxInputs
                    ? String.valueOf(minInputs)
                    : minInputs + " to " + maxInputs;
            throw error("expects " + expected + " inputs, got " + inputs.size());
        }
    }

    String op() {
        return op;
    }

    OperatorContext context() {
        return context;
    }

    /** Returns an exception whose message starts with the operator type. */
    IllegalArgumentException error(String message) {
        return new IllegalArgumentException(op + ": " + message);
    }

    /** Returns a required input, refusing an omitted one. */
    NDArray input(int index, String name) {
        NDArray x = optionalInput(index);
        if (x == null) {
            throw error("input " + index + " (" + name + ") is required");
        }
        return x;
    }

    /** Returns an optional input, or null when it is omitted. */
    NDArray optionalInput(int index) {
        return index < inputs.size() ? inputs.get(index) : null;
    }

    /** Returns whether every listed input is the same on every run (omitted inputs count). */
    boolean constant(int... indices) {
        for (int i : indices) {
            if (optionalInput(i) != null && !context.isConstant(i)) {
                return false;
            }
        }
        return true;
    }

    /** Closes {@code value} when this run ends. */
    <T extends AutoCloseable> T temporary(T value) {
        temporaries.add(value);
        return value;
    }

    /** Returns {@code x} if it is a QuantInt8 array, else a temporary copy of it in one. */
    QuantInt8NDArray own(NDArray x) {
        if (x instanceof QuantInt8NDArray q) {
            return q;
        }
        return temporary(context.quantManager().from(x));
    }

    /**
     * Returns a value derived from constant inputs once per model, or from variable inputs once
     * per run: a constant weight is transposed and given its parameters only on the first run.
     *
     * @param key the cache key, unique within the node
     * @param constant whether the inputs the value derives from are constant
     * @param make computes the value; an array it returns must belong to the run's manager
     * @return the value, closed with the model when cached, else when this run ends
     */
    <T> T prepared(String key, boolean constant, Supplier<T> make) {
        if (!constant) {
            T value = make.get();
            if (value instanceof AutoCloseable closeable) {
                temporary(closeable);
            }
            return value;
        }
        Map<Object, Object> cache = context.nodeCache();
        Object value = cache.get(key);
        if (value == null) {
            // Not computeIfAbsent: preparing one value may prepare another (a weight needs its
            // parameters), and maps refuse nested updates inside computeIfAbsent.
            T made = make.get();
            if (made instanceof NDArray array) {
                // Detached from the run's manager, the array lives until the cache closes it.
                array.detach();
            }
            value = cache.putIfAbsent(key, made);
            if (value == null) {
                value = made;
            } else if (made instanceof AutoCloseable lost) {
                // Another run of the model cached the same value first.
                closeDuplicate(lost);
            }
        }
        @SuppressWarnings("unchecked")
        T typed = (T) value;
        return typed;
    }

    /**
     * Returns an FP32 or integer result in the run's FP32 manager, where the standard operators
     * that consume it run; a quantized result stays a QuantInt8 array with its parameters.
     */
    NDList result(NDArray... outputs) {
        NDList list = new NDList(outputs.length);
        for (NDArray output : outputs) {
            list.add(toRunManager(output));
        }
        return list;
    }

    private NDArray toRunManager(NDArray output) {
        if (output instanceof QuantInt8NDArray q && q.isQuantized()) {
            return output;
        }
        NDArray moved = context.manager().from(output);
        if (moved != output) {
            output.close();
        }
        return moved;
    }

    private static void closeDuplicate(AutoCloseable value) {
        try {
            value.close();
        } catch (Exception e) {
            throw new IllegalStateException("Closing a duplicate cached value failed", e);
        }
    }

    /** Closes the temporaries of this run. */
    @Override
    public void close() {
        RuntimeException failure = null;
        for (AutoCloseable t : temporaries) {
            try {
                t.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = new IllegalStateException(op + ": closing a temporary failed", e);
                }
            }
        }
        temporaries.clear();
        if (failure != null) {
            throw failure;
        }
    }
}
