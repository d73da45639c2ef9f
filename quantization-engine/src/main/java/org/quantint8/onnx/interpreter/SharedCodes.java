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
     * Counts, for each slot, the steps that quantize its value as their input 0 with {@link
     * InputCodes}: fused convolutions, and fused projections quantized per tensor.
     *
     * @param steps the program's steps
     * @param slots the number of slots
     * @return the count of each slot
     */
    static int[] readersBySlot(List<GraphProgram.Step> steps, int slots) {
        int[] readers = new int[slots];
        for (GraphProgram.Step step : steps) {
            if (step.inputs().length > 0 && step.inputs()[0] >= 0 && quantizesInput(step.node())) {
                readers[step.inputs()[0]]++;
            }
        }
        return readers;
    }

    private static boolean quantizesInput(OnnxNode node) {
        if (!IntegerLinearFusion.DOMAIN.equals(node.getDomain())) {
            return false;
        }
        return node.getOpType().equals(IntegerLinearFusion.FUSED_CONV)
                || node.getOpType().equals(IntegerLinearFusion.FUSED_OP)
                        && node.getInt(PerTokenLinearFusion.PER_TOKEN, 0) == 0;
    }
}
