package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.OperatorSupport.input;
import static org.quantint8.onnx.interpreter.OperatorSupport.optionalInput;
import static org.quantint8.onnx.interpreter.OperatorSupport.single;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.FloatKernels;
import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.onnx.OnnxNode;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The FP32 steps of a transformer layer run in Java ({@link FloatKernels}) instead of as chains
 * of PyTorch operators: {@code LayerNormalization} over FP32 input, and GELU ({@code Gelu} of ONNX
 * opset 20 and {@code org.quantint8:Gelu}, which {@link TransformerFusion} makes of the exported
 * chains), with attribute {@code approximate} = {@code "none"} (erf) or {@code "tanh"}.
 *
 * <p>Inputs of either engine are read in place (PyTorch's contiguous tensors through their direct
 * buffer). Results are FP32 arrays of the run's QuantInt8 manager: their readers are, nearly
 * always, the next INT8 projection, which then quantizes them without a copy; an FP32 operator
 * reading one copies it into PyTorch as it would any QuantInt8 array.
 */
final class TransformerOperators {

    /** The fused GELU's type, in {@link IntegerLinearFusion#DOMAIN}. */
    static final String GELU = "Gelu";
    /** GELU's attribute naming its form. */
    static final String APPROXIMATE = "approximate";
    /** The fused residual Add and layer normalization, in {@link IntegerLinearFusion#DOMAIN}. */
    static final String ADD_LAYER_NORM = "AddLayerNormalization";
    /** A fused projection's attribute: 1 keeps its FP32 result in QuantInt8 memory. */
    static final String KEEP = "keepInQuantInt8";

    /** Values per heap chunk: large enough to amortize, small enough to stay in L1/L2. */
    private static final int CHUNK = 4096;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private TransformerOperators() {}

    static void register(OperatorRegistry registry) {
        registry.register("", GELU, TransformerOperators::gelu);
        registry.register(IntegerLinearFusion.DOMAIN, GELU, TransformerOperators::gelu);
        // Scale and bias: read as float arrays, cached when constant.
        registry.register(IntegerLinearFusion.DOMAIN, ADD_LAYER_NORM,
                OnnxOperator.readingInPlace(TransformerOperators::addLayerNorm, 2, 3));
        AttentionOperator.register(registry);
    }

    /**
     * {@code org.quantint8:AddLayerNormalization(A, B, Scale[, B])}: {@code Y =
     * LayerNormalization(A + B)} over the last axis, and the sum as an optional second output. A
     * and B of the same shape are added here in FP32, as {@code Add} does (in the kernel of
     * {@link FloatKernels#addLayerNorm}); other shapes or types go through the alternative
     * engine's broadcasting Add first.
     */
    static NDList addLayerNorm(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray a = input(inputs, 0);
        NDArray b = input(inputs, 1);
        List<NDArray> normInputs = new java.util.ArrayList<>(inputs.subList(1, inputs.size()));
        boolean wantSum = node.getOutputs().size() > 1 && !node.getOutputs().get(1).isEmpty();
        normInputs.set(0, a);
        Norm norm = a.getShape().equals(b.getShape()) && b.getDataType() == DataType.FLOAT32
                ? Norm.of(context, node, normInputs, a.getShape().dimension() - 1, 2)
                : null;
        if (norm == null) {
            NDArray sum = a.add(b);
            normInputs.set(0, sum);
            NDList y = NnOperators.layerNorm(context, node, normInputs);
            if (wantSum) {
                y.add(sum);
            } else {
                sum.close();
            }
            return y;
        }
        QuantInt8NDArray y =
                context.quantManager().createOverwritten(a.getShape(), DataType.FLOAT32);
        QuantInt8NDArray sum = wantSum
                ? context.quantManager().createOverwritten(a.getShape(), DataType.FLOAT32)
                : null;
        if (norm.gamma.length > 0) {
            FloatKernels.addLayerNorm(floats(a), floats(b),
                    sum == null ? null : sum.getDataSegment(), y.getDataSegment(),
                    a.getShape().size() / norm.gamma.length, norm.gamma, norm.beta,
                    norm.epsilon);
        }
        return sum == null ? new NDList(y) : new NDList(y, sum);
    }

    /**
     * {@code LayerNormalization} over the axes from {@code axis} on, FP32 input, scale and bias;
     * returns null for any other data type, which the caller runs as a chain of operators.
     */
    static NDList layerNorm(OperatorContext context, OnnxNode node, List<NDArray> inputs,
            int axis) {
        Norm norm = Norm.of(context, node, inputs, axis, 1);
        if (norm == null) {
            return null;
        }
        NDArray x = input(inputs, 0);
        QuantInt8NDArray y =
                context.quantManager().createOverwritten(x.getShape(), DataType.FLOAT32);
        if (norm.gamma.length > 0) {
            FloatKernels.addLayerNorm(floats(x), null, null, y.getDataSegment(),
                    x.getShape().size() / norm.gamma.length, norm.gamma, norm.beta,
                    norm.epsilon);
        }
        return single(y);
    }

    /** A layer normalization's parameters, checked against its input. */
    private record Norm(float[] gamma, float[] beta, float epsilon) {

        /**
         * Reads the parameters; null unless X, Scale and B are FP32. {@code scaleIndex} is the
         * node input Scale is, for the once-per-model cache of constant parameters.
         */
        static Norm of(OperatorContext context, OnnxNode node, List<NDArray> inputs, int axis,
                int scaleIndex) {
            NDArray x = input(inputs, 0);
            NDArray scale = input(inputs, 1);
            NDArray bias = optionalInput(inputs, 2);
            if (x.getDataType() != DataType.FLOAT32 || scale.getDataType() != DataType.FLOAT32
                    || bias != null && bias.getDataType() != DataType.FLOAT32) {
                return null;
            }
            Shape shape = x.getShape();
            long width = shape.slice(axis).size();
            if (scale.getShape().size() != width
                    || bias != null && bias.getShape().size() != width) {
                throw new IllegalArgumentException("LayerNormalization: Scale " + scale.getShape()
                        + " and B " + (bias == null ? "(none)" : bias.getShape())
                        + " must hold the " + width + " values of X " + shape + " from axis "
                        + axis);
            }
            return new Norm(vector(context, "Scale", scaleIndex, scale),
                    bias == null ? null : vector(context, "B", scaleIndex + 1, bias),
                    node.getFloat("epsilon", 1e-5f));
        }
    }

    /** GELU, exact or tanh-approximated ({@link #APPROXIMATE}), over FP32 input. */
    static NDList gelu(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        NDArray x = input(inputs, 0);
        if (x.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("Gelu: X must be FLOAT32, got " + x.getDataType());
        }
        String form = node.getString(APPROXIMATE, "none");
        ChunkKernel kernel = switch (form) {
            case "none" -> FloatKernels::geluErf;
            case "tanh" -> FloatKernels::geluTanh;
            default -> throw new IllegalArgumentException(
                    "Gelu: approximate must be \"none\" or \"tanh\", got \"" + form + "\"");
        };
        return single(map(context, x, CHUNK, kernel));
    }

    /** A loop over a heap chunk of {@code count} values, in place. */
    @FunctionalInterface
    private interface ChunkKernel {
        void apply(float[] chunk, int count);
    }

    /**
     * Runs a kernel over {@code x} chunk by chunk (heap arrays, which C2 vectorizes) into a new
     * FP32 array of the run's QuantInt8 manager.
     */
    private static NDArray map(OperatorContext context, NDArray x, long chunkSize,
            ChunkKernel kernel) {
        long count = x.getShape().size();
        MemorySegment src = floats(x);
        QuantInt8NDArray out =
                context.quantManager().createOverwritten(x.getShape(), DataType.FLOAT32);
        MemorySegment dst = out.getDataSegment();
        float[] chunk = new float[(int) Math.min(chunkSize, Math.max(count, 1))];
        for (long offset = 0; offset < count; offset += chunk.length) {
            int n = (int) Math.min(chunk.length, count - offset);
            MemorySegment.copy(src, F32, offset * 4, chunk, 0, n);
            kernel.apply(chunk, n);
            MemorySegment.copy(chunk, 0, dst, F32, offset * 4, n);
        }
        return out;
    }

    /**
     * The FP32 values of an array of any engine, read in place where it can: QuantInt8's memory,
     * or a contiguous PyTorch tensor's direct buffer (a copy for others).
     */
    private static MemorySegment floats(NDArray x) {
        if (x instanceof QuantInt8NDArray q && !q.isQuantized()) {
            return q.getDataSegment();
        }
        return MemorySegment.ofBuffer(x.toByteBuffer(true));
    }

    /** A per-column vector, read once per model when it is constant. */
    private static float[] vector(OperatorContext context, String name, int index, NDArray v) {
        if (!context.isConstant(index)) {
            return v.toFloatArray();
        }
        return (float[]) context.nodeCache().computeIfAbsent(name, k -> v.toFloatArray());
    }
}
