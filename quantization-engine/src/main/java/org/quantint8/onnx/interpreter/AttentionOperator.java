package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.OperatorSupport.input;
import static org.quantint8.onnx.interpreter.OperatorSupport.longs;
import static org.quantint8.onnx.interpreter.OperatorSupport.optionalInput;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.AttentionInputs;
import org.quantint8.kernels.FloatKernels;
import org.quantint8.kernels.Int8Kernels;
import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxNode;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * {@code org.quantint8:Attention}, the multi-head attention that {@link AttentionFusion} makes of
 * an exported chain, run in Java on FP32 memory:
 *
 * <pre>
 * Attention(Q, Q_shape, K, K_shape, V, V_shape[, mask, past_key, past_value])
 *     -> context [batch, seq, heads, head_size][, present_key, present_value]
 * </pre>
 *
 * <p>Q, K and V are the projections as the graph had them, {@code [batch, seq, heads * head_size]};
 * each {@code *_shape} is the target of the {@code Reshape} that split its heads (0 copies, -1
 * infers). Per head: {@code softmax(mask(Q K^T (/ or *) scale)) V}, with {@code mask_kind}
 * {@code "add"} (an FP32 mask broadcast to {@code [batch, heads, seq, total]}, BERT's) or
 * {@code "where"} (a boolean broadcast the same way: false puts {@code mask_fill}, GPT-2's causal
 * mask) or {@code "none"}. With a past, the keys and values are appended to it along the sequence
 * ({@code Concat} on axis 2) and the results are the present outputs, which the products read.
 * The context is the heads merged back, as {@code Transpose(perm = 0, 2, 1, 3)} left it.
 *
 * <p>Per head and row, in FP32: the scores as sums of K^T rows, scale, mask, a max-subtracted
 * softmax, the context as a sum of V rows ({@link Int8Kernels#attention}: one vectorized C loop
 * with the native kernels; {@link FloatKernels#attention}, the same bits, without). Without the
 * native kernels, sequences of at least {@value #BATCHED_SCORES} scores per head gather the heads
 * into QuantInt8 memory and run the chain's steps batched over all heads on the alternative
 * engine, which wraps that memory (C2's loops reach only a few GFLOP/s there).
 */
final class AttentionOperator {

    /** The fused node's type, in {@link IntegerLinearFusion#DOMAIN}. */
    static final String ATTENTION = "Attention";
    /** The scale constant. */
    static final String SCALE = "scale";
    /** 1 when the scores are divided by the scale, 0 when multiplied. */
    static final String DIVIDE = "divide";
    /** {@code "none"}, {@code "add"} or {@code "where"}. */
    static final String MASK_KIND = "mask_kind";
    /** The value {@code "where"} puts at masked scores. */
    static final String MASK_FILL = "mask_fill";
    /** 1 when Q, K and V are the same tensor, its last axis their three equal parts. */
    static final String PACKED = "packed";

    /**
     * Without vectorized attention kernels, from this many scores per head (sequence times total
     * sequence) the products run batched on the alternative engine; below (a decoding step: one
     * row) in Java, where a call into it would cost more than the arithmetic.
     */
    static final long BATCHED_SCORES = 1024;

    private AttentionOperator() {}

    static void register(OperatorRegistry registry) {
        // The heads' Reshape targets: read as numbers.
        registry.register(IntegerLinearFusion.DOMAIN, ATTENTION,
                OnnxOperator.readingInPlace(AttentionOperator::attention, 1, 3, 5));
    }

    /** The operator: checks the shapes, then runs each (batch, head). */
    static NDList attention(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        boolean packed = node.getInt(PACKED, 0) == 1;
        int parts = packed ? 3 : 1;
        Heads q = Heads.of("Q", input(inputs, 0), input(inputs, 1), parts, 0);
        Heads k = Heads.of("K", input(inputs, 2), input(inputs, 3), parts, packed ? 1 : 0);
        Heads v = Heads.of("V", input(inputs, 4), input(inputs, 5), parts, packed ? 2 : 0);
        NDArray pastKey = optionalInput(inputs, 7);
        NDArray pastValue = optionalInput(inputs, 8);
        if (k.heads != q.heads || v.heads != q.heads || k.size != q.size || v.size != q.size
                || k.batch != q.batch || v.batch != q.batch || k.seq != v.seq
                || (pastKey == null) != (pastValue == null)) {
            throw new IllegalArgumentException("Attention: Q " + q + ", K " + k + " and V " + v
                    + " must have the same batch, heads and head size, and K and V the same"
                    + " sequence; past_key and past_value come together");
        }
        long past = pastKey == null ? 0 : pastKey.getShape().get(2);
        Shape present = new Shape(q.batch, q.heads, past + k.seq, q.size);
        for (NDArray p : new NDArray[] {pastKey, pastValue}) {
            if (p != null && !p.getShape().equals(new Shape(q.batch, q.heads, past, q.size))) {
                throw new IllegalArgumentException("Attention: past " + p.getShape()
                        + " must be [batch, heads, past, head size] to go with " + present);
            }
        }
        // The present outputs are made where the caller takes them: copying the whole cache
        // out of the run on every decoding step cost as much as the attention itself. So a
        // failure closes what it made, which the run's end would not free.
        QuantInt8NDArray keys = null;
        QuantInt8NDArray values = null;
        QuantInt8NDArray out = null;
        try {
            keys = cache(context.outputManager(1), k, pastKey, present);
            values = cache(context.outputManager(2), v, pastValue, present);
            out = context.quantManager().createOverwritten(
                    new Shape(q.batch, q.seq, q.heads, q.size), DataType.FLOAT32);
            run(context, node, inputs, q, keys, values, out);
        } catch (RuntimeException | Error e) {
            for (QuantInt8NDArray made : new QuantInt8NDArray[] {keys, values, out}) {
                if (made != null) {
                    made.close();
                }
            }
            throw e;
        }
        if (pastKey != null) {
            return new NDList(out, keys, values);
        }
        keys.close();
        values.close();
        return new NDList(out);
    }

    /** Runs every (batch, head): vectorized, or batched on the alternative engine. */
    private static void run(OperatorContext context, OnnxNode node, List<NDArray> inputs,
            Heads q, QuantInt8NDArray keys, QuantInt8NDArray values, QuantInt8NDArray out) {
        long total = keys.getShape().get(2);
        Int8Kernels kernels = Int8Kernels.best();
        if (!kernels.vectorizedAttention() && q.seq * total >= BATCHED_SCORES) {
            batched(context, node, optionalInput(inputs, 6), q, keys, values, out);
        } else {
            Mask mask = Mask.of(node, optionalInput(inputs, 6), q, total);
            kernels.attention(new AttentionInputs(q.data.asSlice(q.column * 4), q.stride, q.batch,
                    q.seq, q.heads, q.size, total, keys.getDataSegment(),
                    values.getDataSegment(), mask.add, mask.allowed, mask.strides, mask.fill,
                    node.getFloat(SCALE, 1f), node.getInt(DIVIDE, 0) == 1,
                    out.getDataSegment()));
        }
    }

    /**
     * Every head at once on the alternative engine (its batched GEMM and vectorized softmax),
     * over the heads gathered here: for a prompt or an encoder, where the products are most of
     * the work and C2's loops reach only a few GFLOP/s. The steps are the exported chain's.
     */
    private static void batched(OperatorContext context, OnnxNode node, NDArray mask, Heads q,
            QuantInt8NDArray keys, QuantInt8NDArray values, QuantInt8NDArray out) {
        Shape queries = new Shape(q.batch, q.heads, q.seq, q.size);
        float scale = node.getFloat(SCALE, 1f);
        String kind = mask == null ? "none" : node.getString(MASK_KIND, "none");
        try (QuantInt8NDArray qh = cache(context.quantManager(), q, null, queries);
                NDManager scope = context.manager().newSubManager()) {
            NDArray scores = view(scope, qh).matMul(view(scope, keys).transpose(0, 1, 3, 2));
            scores = node.getInt(DIVIDE, 0) == 1 ? scores.div(scale) : scores.mul(scale);
            if (kind.equals("add")) {
                scores = scores.add(local(scope, mask));
            } else if (kind.equals("where")) {
                NDArray allowed = OperatorSupport.broadcastTo(
                        local(scope, mask).toType(DataType.BOOLEAN, false), scores.getShape());
                scores = NDArrays.where(allowed, scores,
                        scope.full(scores.getShape(), node.getFloat(MASK_FILL, 0f)));
            }
            NDArray product = scores.softmax(-1).matMul(view(scope, values));
            MemorySegment c = MemorySegment.ofBuffer(product.toByteBuffer(true));
            long row = q.size * 4;
            for (long b = 0; b < q.batch; b++) { // [b, h, s] to [b, s, h]
                for (long h = 0; h < q.heads; h++) {
                    for (long s = 0; s < q.seq; s++) {
                        MemorySegment.copy(c, ((b * q.heads + h) * q.seq + s) * row,
                                out.getDataSegment(), ((b * q.seq + s) * q.heads + h) * row, row);
                    }
                }
            }
        }
    }

    /** The mask on the alternative engine: QuantInt8 memory wrapped, others as they are. */
    private static NDArray local(NDManager scope, NDArray x) {
        if (x instanceof QuantInt8NDArray qx && !qx.isQuantized()) {
            return scope.create(qx.toByteBuffer(true), qx.getShape(), qx.getDataType());
        }
        return x.getManager().getEngine() == scope.getEngine() ? x : scope.from(x);
    }

    /** The alternative engine's view of QuantInt8 memory (wrapped, not copied). */
    private static NDArray view(NDManager scope, QuantInt8NDArray x) {
        return scope.create(x.toByteBuffer(true), x.getShape(), DataType.FLOAT32);
    }

    /**
     * The keys or values as {@code [batch, heads, total, head size]}: the past followed by the
     * new ones, each head's rows copied once.
     */
    private static QuantInt8NDArray cache(QuantInt8NDManager manager, Heads x, NDArray past,
            Shape present) {
        QuantInt8NDArray all = manager.createOverwritten(present, DataType.FLOAT32);
        MemorySegment dst = all.getDataSegment();
        MemorySegment old = past == null ? null : floats(past);
        long total = present.get(2);
        long pastRows = total - x.seq;
        long row = x.size * 4;
        for (long b = 0; b < x.batch; b++) {
            for (long h = 0; h < x.heads; h++) {
                long start = ((b * x.heads + h) * total) * row;
                if (old != null) {
                    MemorySegment.copy(old, ((b * x.heads + h) * pastRows) * row, dst, start,
                            pastRows * row);
                }
                for (long s = 0; s < x.seq; s++) {
                    MemorySegment.copy(x.data, x.offset(b, s, h) * 4, dst,
                            start + (pastRows + s) * row, row);
                }
            }
        }
        return all;
    }

    /** The FP32 values of an array, in place where possible (as TransformerOperators reads). */
    static MemorySegment floats(NDArray x) {
        if (x.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("Attention: inputs must be FLOAT32, got "
                    + x.getDataType());
        }
        if (x instanceof QuantInt8NDArray q && !q.isQuantized()) {
            return q.getDataSegment();
        }
        return MemorySegment.ofBuffer(x.toByteBuffer(true));
    }

    /**
     * Q, K or V with its heads, {@code [batch, seq, heads, size]}: row (b, s) at {@code (b seq +
     * s) stride + column} of the memory, where {@code stride} is the source's last dimension.
     */
    private record Heads(MemorySegment data, long batch, long seq, long heads, long size,
            long stride, long column) {

        /**
         * The heads of {@code x} (or, with {@code parts} = 3, of its third {@code part} along the
         * last axis) split by the Reshape target {@code shape}.
         */
        static Heads of(String name, NDArray x, NDArray shape, int parts, int part) {
            Shape whole = x.getShape();
            if (whole.dimension() != 3 || whole.get(2) % parts != 0) {
                throw new IllegalArgumentException("Attention: " + name + " " + whole
                        + " must be [batch, seq, hidden]"
                        + (parts > 1 ? " with hidden a multiple of " + parts : ""));
            }
            long width = whole.get(2) / parts;
            Shape split = ShapeOperators.resolveShape(
                    new Shape(whole.get(0), whole.get(1), width), longs(shape), false);
            if (split.dimension() != 4 || split.get(0) != whole.get(0)
                    || split.get(1) != whole.get(1)) {
                throw new IllegalArgumentException("Attention: " + name + " " + whole
                        + " must split into [batch, seq, heads, head size], got " + split);
            }
            return new Heads(floats(x), split.get(0), split.get(1), split.get(2), split.get(3),
                    whole.get(2), part * width);
        }

        /** The first value of a head's row, in values. */
        long offset(long b, long s, long h) {
            return (b * seq + s) * stride + column + h * size;
        }

        @Override
        public String toString() {
            return "[" + batch + ", " + seq + ", " + heads + ", " + size + "]";
        }
    }

    /** The mask, broadcast to {@code [batch, heads, seq, total]} by strides (0 where it repeats). */
    private record Mask(String kind, float[] add, byte[] allowed, long[] strides, float fill) {

        static Mask of(OnnxNode node, NDArray m, Heads q, long total) {
            String kind = node.getString(MASK_KIND, "none");
            if (kind.equals("none") || m == null) {
                return new Mask("none", null, null, null, 0f);
            }
            long[] target = {q.batch, q.heads, q.seq, total};
            long[] dims = m.getShape().getShape();
            if (dims.length > 4) {
                throw new IllegalArgumentException("Attention: mask " + m.getShape()
                        + " has more than 4 dimensions");
            }
            long[] strides = new long[4];
            long stride = 1;
            for (int i = 3, j = dims.length - 1; i >= 0; i--, j--) {
                long d = j >= 0 ? dims[j] : 1;
                if (d != 1 && d != target[i]) {
                    throw new IllegalArgumentException("Attention: mask " + m.getShape()
                            + " does not broadcast to the scores " + new Shape(target));
                }
                strides[i] = d == 1 ? 0 : stride;
                stride *= d;
            }
            return switch (kind) {
                case "add" -> new Mask(kind, m.toFloatArray(), null, strides, 0f);
                case "where" -> {
                    ByteBuffer bytes = m.toByteBuffer(true);
                    byte[] allowed = new byte[bytes.remaining()];
                    bytes.get(allowed);
                    yield new Mask(kind, null, allowed, strides, node.getFloat(MASK_FILL, 0f));
                }
                default -> throw new IllegalArgumentException(
                        "Attention: mask_kind must be none, add or where, got " + kind);
            };
        }
    }
}
