package org.quantint8.onnx.interpreter;

import static org.quantint8.onnx.interpreter.IntegerLinearFusion.isDefault;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Finds multi-head attention in a transformer export, from a {@code Softmax} outwards, and
 * replaces it with one {@code org.quantint8:Attention} node ({@link AttentionOperator}):
 *
 * <pre>
 * Q, K, V: Reshape(x, shape) -&gt; Transpose(0, 2, 1, 3)   (the heads split)
 *          K and V optionally Concat(past, ., axis 2), a graph output (GPT-2's cache)
 * K^T:     Transpose(0, 1, 3, 2) of K, or Transpose(0, 2, 3, 1) of K's Reshape (Hugging Face)
 * MatMul(Q, K^T) -&gt; Div or Mul by a scalar -&gt; Add(mask) or Where(allowed, ., fill)
 *     -&gt; Softmax(last axis) -&gt; MatMul(., V) -&gt; Transpose(0, 2, 1, 3)   (the heads merged)
 * </pre>
 *
 * <p>The Reshape that follows the merge stays (Hugging Face computes its target from the merged
 * tensor's Shape). Each intermediate value must be read by the chain only, except the present
 * keys and values, which the fused node then produces.
 */
final class AttentionFusion {

    private static final long[] SPLIT = {0, 2, 1, 3};
    private static final long[] KEY_T = {0, 1, 3, 2};
    private static final long[] SPLIT_T = {0, 2, 3, 1};

    private AttentionFusion() {}

    /**
     * A head-split input: the projection, the Reshape target, the past it follows if any, and
     * the equal-parts Split of the last axis the projection is part {@code part} of, if any.
     */
    private record Split(String source, String shape, String past, String present,
            OnnxNode packed, int part) {

        Split withPast(String pastName, String presentName) {
            return new Split(source, shape, pastName, presentName, packed, part);
        }
    }

    /**
     * Records the fusion of the attention around a {@code Softmax}, if it matches.
     *
     * @param f the fusion pass
     * @param softmax the candidate
     */
    static void match(TransformerFusion f, OnnxNode softmax) {
        long axis = softmax.getInt("axis", Long.MIN_VALUE);
        if (axis != -1 && axis != 3) {
            return;
        }
        List<OnnxNode> chain = new ArrayList<>(List.of(softmax));
        OnnxNode.Builder fused = OnnxNode.builder().setOpType(AttentionOperator.ATTENTION)
                .optDomain(IntegerLinearFusion.DOMAIN).optName(softmax.getName());
        String[] mask = {"", "none"};
        String scaled = mask(f, softmax, chain, mask, fused);
        OnnxNode scaleNode = scaled == null ? null : f.producerOf(scaled, null, chain.getLast());
        String scoresName = scale(f, scaleNode, fused);
        if (scoresName != null) {
            chain.add(scaleNode);
        } else {
            scoresName = scaled;
        }
        OnnxNode scores = f.producerOf(scoresName, "MatMul", chain.getLast());
        OnnxNode product = f.soleReader(softmax, "MatMul");
        OnnxNode merge = product == null ? null : f.soleReader(product, "Transpose");
        if (scores == null || merge == null || !perm(merge, SPLIT)
                || !product.getInputs().get(0).equals(softmax.getOutputs().get(0))) {
            return;
        }
        chain.addAll(List.of(scores, product, merge));
        Split q = split(f, scores.getInputs().get(0), scores, chain, false);
        Split k = keyT(f, scores, chain);
        Split v = split(f, product.getInputs().get(1), product, chain, true);
        if (q == null || k == null || v == null || q.past != null
                || (k.past == null) != (v.past == null)) {
            return;
        }
        String[] in = sources(chain, q, k, v, fused);
        fused.addInput(in[0], q.shape, in[1], k.shape, in[2], v.shape, mask[0]);
        fused.addOutput(merge.getOutputs().get(0));
        fused.addAttribute(OnnxAttribute.ofString(AttentionOperator.MASK_KIND, mask[1]));
        if (k.past != null) {
            fused.addInput(k.past, v.past).addOutput(k.present, v.present);
        }
        f.replace(chain, merge, fused.build());
    }

    /**
     * The masked input of the Softmax: {@code Add(scaled, mask)} or {@code Where(allowed,
     * scaled, fill)} (adds the node, sets {@code mask} to its value and kind), or the Softmax's
     * input itself. Returns the scaled scores' name, or null if the mask has another form.
     */
    private static String mask(TransformerFusion f, OnnxNode softmax, List<OnnxNode> chain,
            String[] mask, OnnxNode.Builder fused) {
        String in = softmax.getInputs().get(0);
        OnnxNode node = f.producerOf(in, null, softmax);
        if (node != null && isDefault(node, "Add") && node.getInputs().size() == 2) {
            for (int side = 0; side < 2; side++) {
                OnnxNode scale = f.producerOf(node.getInputs().get(side), null, node);
                if (scale != null && (isDefault(scale, "Div") || isDefault(scale, "Mul"))) {
                    chain.add(node);
                    mask[0] = node.getInputs().get(1 - side);
                    mask[1] = "add";
                    return node.getInputs().get(side);
                }
            }
            return null;
        }
        if (node != null && isDefault(node, "Where")) {
            Float fill = f.scalar(node.getInputs().get(2));
            if (fill == null) {
                return null;
            }
            chain.add(node);
            mask[0] = node.getInputs().get(0);
            mask[1] = "where";
            fused.addAttribute(OnnxAttribute.ofFloat(AttentionOperator.MASK_FILL, fill));
            return node.getInputs().get(1);
        }
        return in;
    }

    /** The scores a {@code Div} or {@code Mul} by a scalar scales (adds the attributes), or null. */
    private static String scale(TransformerFusion f, OnnxNode node, OnnxNode.Builder fused) {
        if (node == null || node.getInputs().size() != 2) {
            return null;
        }
        boolean divide = isDefault(node, "Div");
        if (!divide && !isDefault(node, "Mul")) {
            return null;
        }
        for (int side = divide ? 1 : 0; side < 2; side++) {
            Float c = f.scalar(node.getInputs().get(side));
            if (c != null) {
                fused.addAttribute(OnnxAttribute.ofFloat(AttentionOperator.SCALE, c));
                fused.addAttribute(OnnxAttribute.ofInt(AttentionOperator.DIVIDE, divide ? 1 : 0));
                return node.getInputs().get(1 - side);
            }
        }
        return null;
    }

    /** K from the scores' second input: transposed split heads, with or without a past. */
    private static Split keyT(TransformerFusion f, OnnxNode scores, List<OnnxNode> chain) {
        OnnxNode t = f.producerOf(scores.getInputs().get(1), "Transpose", scores);
        if (t == null) {
            return null;
        }
        if (perm(t, SPLIT_T)) {
            return reshape(f, t, chain, t);
        }
        if (!perm(t, KEY_T)) {
            return null;
        }
        chain.add(t);
        return split(f, t.getInputs().get(0), t, chain, true);
    }

    /**
     * A value of split heads read by {@code reader}: {@code Transpose(0, 2, 1, 3)} of a Reshape,
     * or (when {@code cached}) a {@code Concat} of a past and that on axis 2.
     */
    private static Split split(TransformerFusion f, String value, OnnxNode reader,
            List<OnnxNode> chain, boolean cached) {
        OnnxNode node = f.producers.get(value);
        if (node == null) {
            return null;
        }
        if (cached && isDefault(node, "Concat") && node.getInputs().size() == 2
                && node.getInt("axis", 0) == 2
                && f.readers.getOrDefault(value, List.of()).equals(List.of(reader))) {
            OnnxNode t = f.producerOf(node.getInputs().get(1), "Transpose", node);
            Split fresh = t == null || !perm(t, SPLIT) ? null : reshape(f, t, chain, t);
            if (fresh == null) {
                return null;
            }
            chain.add(node);
            return fresh.withPast(node.getInputs().get(0), value);
        }
        OnnxNode t = f.producerOf(value, "Transpose", reader);
        return t == null || !perm(t, SPLIT) ? null : reshape(f, t, chain, t);
    }

    /** The Reshape into [batch, seq, heads, size] under a head Transpose (both join the chain). */
    private static Split reshape(TransformerFusion f, OnnxNode transpose, List<OnnxNode> chain,
            OnnxNode reader) {
        OnnxNode r = f.producerOf(transpose.getInputs().get(0), "Reshape", reader);
        if (r == null || r.getInputs().size() != 2 || r.getInt("allowzero", 0) != 0) {
            return null;
        }
        chain.add(transpose);
        chain.add(r);
        String source = r.getInputs().get(0);
        OnnxNode split = f.producerOf(source, "Split", r);
        int part = split == null ? -1 : split.getOutputs().indexOf(source);
        return new Split(source, r.getInputs().get(1), null, null,
                thirds(f, split) ? split : null, part);
    }

    /** Whether a Split cuts the last of 3 axes into three equal parts (GPT-2's Q, K, V). */
    private static boolean thirds(TransformerFusion f, OnnxNode split) {
        if (split == null || split.getOutputs().size() != 3) {
            return false;
        }
        long axis = split.getInt("axis", 0);
        long[] sizes = split.getInts("split", null);
        if (sizes == null && split.getInputs().size() > 1
                && !split.getInputs().get(1).isEmpty()) {
            var t = f.constant(split.getInputs().get(1));
            sizes = t == null ? new long[0] : t.toLongArray();
        }
        return (axis == 2 || axis == -1)
                && (sizes == null || sizes.length == 3 && sizes[0] == sizes[1]
                        && sizes[1] == sizes[2]);
    }

    /**
     * Reads Q, K and V from the tensor a Split cut them from when all three are its parts in
     * order (adds the Split to the chain and sets {@code packed}); else from the parts.
     */
    private static String[] sources(List<OnnxNode> chain, Split q, Split k, Split v,
            OnnxNode.Builder fused) {
        OnnxNode split = q.packed;
        if (split != null && k.packed == split && v.packed == split && q.part == 0
                && k.part == 1 && v.part == 2) {
            chain.add(split);
            fused.addAttribute(OnnxAttribute.ofInt(AttentionOperator.PACKED, 1));
            String all = split.getInputs().get(0);
            return new String[] {all, all, all};
        }
        return new String[] {q.source, k.source, v.source};
    }

    private static boolean perm(OnnxNode transpose, long[] expected) {
        return Arrays.equals(transpose.getInts("perm", null), expected);
    }
}
