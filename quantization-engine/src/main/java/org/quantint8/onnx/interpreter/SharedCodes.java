package org.quantint8.onnx.interpreter;

import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.onnx.OnnxNode;

import java.util.List;
import java.util.function.Supplier;

/**
 * The codes of one value that several fused quantizing nodes read, shared within one run (see
 * {@link InputCodes}): quantized by the first reader, closed when the last has released them. A
 * reader that fails leaves them to the run's manager, which frees them when the run ends.
 */
final class SharedCodes implements InputCodes {

    /** How the readers that quantize over the value's range quantize. */
    private static final Object DYNAMIC = new Object();

    private final int readers;
    private QuantInt8NDArray codes;
    private int released;

    /**
     * Creates the sharing of a value among its readers.
     *
     * @param readers how many steps of the program quantize the value
     */
    SharedCodes(int readers) {
        this.readers = readers;
    }

    @Override
    public QuantInt8NDArray get(Supplier<QuantInt8NDArray> quantize) {
        if (codes == null) {
            codes = quantize.get();
            released = 0;
        }
        return codes;
    }

    @Override
    public void release(QuantInt8NDArray given) {
        if (given != codes) {
            given.close();
            return;
        }
        if (++released == readers) {
            codes.close();
            codes = null;
        }
    }

    /**
     * Counts, for each step that quantizes its input 0 with {@link InputCodes} (fused
     * convolutions, and fused projections quantized per tensor), the steps that quantize the same
     * value the same way; 0 for the other steps. Static codes depend on the node's parameters as
     * well as on the value: a value that its readers quantize in different ways (dynamically, or
     * with different parameters) is not shared, each reader quantizing it for itself.
     *
     * @param steps the program's steps
     * @param slots the number of slots
     * @return the count for each step, in program order
     */
    static int[] readersByStep(List<GraphProgram.Step> steps, int slots) {
        int[] readers = new int[slots];
        Object[] ways = new Object[slots];
        boolean[] mixed = new boolean[slots];
        for (GraphProgram.Step step : steps) {
            Object way = quantization(step);
            if (way != null) {
                int slot = step.inputs()[0];
                mixed[slot] |= ways[slot] != null && !ways[slot].equals(way);
                ways[slot] = way;
                readers[slot]++;
            }
        }
        int[] byStep = new int[steps.size()];
        for (int i = 0; i < byStep.length; i++) {
            GraphProgram.Step step = steps.get(i);
            if (quantization(step) != null && !mixed[step.inputs()[0]]) {
                byStep[i] = readers[step.inputs()[0]];
            }
        }
        return byStep;
    }

    /**
     * How a step quantizes its input 0 with {@link InputCodes}: its {@link StaticInput}, {@code
     * DYNAMIC}, or null when it does not.
     */
    private static Object quantization(GraphProgram.Step step) {
        OnnxNode node = step.node();
        if (step.inputs().length == 0 || step.inputs()[0] < 0
                || !IntegerLinearFusion.DOMAIN.equals(node.getDomain())) {
            return null;
        }
        boolean quantizes = node.getOpType().equals(IntegerLinearFusion.FUSED_CONV)
                || node.getOpType().equals(IntegerLinearFusion.FUSED_OP)
                        && node.getInt(PerTokenLinearFusion.PER_TOKEN, 0) == 0;
        if (!quantizes) {
            return null;
        }
        StaticInput fixed = StaticInput.of(node);
        return fixed != null ? fixed : DYNAMIC;
    }
}
