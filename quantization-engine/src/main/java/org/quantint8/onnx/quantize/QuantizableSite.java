package org.quantint8.onnx.quantize;

import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxOpsetImport;
import org.quantint8.onnx.OnnxTensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A node whose weight is constant and whose arithmetic can run in INT8: {@code MatMul} with a 2-D
 * FP32 initializer as right operand, plain {@code Gemm} ({@code alpha = beta = 1}, A not
 * transposed), 2-D {@code Conv}, and {@code Gather} from an embedding table (a 2-D FP32
 * initializer of at least {@value #MIN_TABLE_ELEMENTS} values), whose rows are stored in INT8.
 *
 * <p>A {@code MatMul} may also read its weight through a {@code Transpose} of a 2-D initializer:
 * that is how a language-model head tied to the token embedding reads the table ({@code logits =
 * x E^T}). The site's weight is then the table itself, [N, K], whose rows are the output channels,
 * so the table can be quantized once for both the head and the {@code Gather}.
 *
 * @param node the node
 * @param kind what kind of site it is
 * @param weight the FP32 weight initializer
 * @param bias the bias input name ({@code Gemm}'s C or {@code Conv}'s B), or null
 * @param transpose the {@code Transpose} through which a {@code MatMul} reads its weight, or null
 *     when it reads the initializer directly
 */
public record QuantizableSite(
        OnnxNode node, Kind kind, OnnxTensor weight, String bias, OnnxNode transpose) {

    /** The kinds of quantizable nodes. */
    public enum Kind {
        /** {@code MatMul(X, W)} with W [K, N]. */
        MATMUL,
        /** {@code Gemm(X, W, C)} with W [K, N], or [N, K] when {@code transB = 1}. */
        GEMM,
        /** {@code Conv(X, W, B)} with W [OC, IC / group, KH, KW]. */
        CONV,
        /** {@code Gather(W, indices)} on axis 0 of an embedding table W [rows, dim]. */
        GATHER
    }

    /** Smaller constant tables (shape vectors and the like) are not worth quantizing. */
    static final int MIN_TABLE_ELEMENTS = 4096;

    /**
     * Returns the name the site is known by in configurations and reports: the node name, or its
     * first output when the node has no name.
     *
     * @return the layer name
     */
    public String layerName() {
        return node.getName().isEmpty() ? node.getOutputs().get(0) : node.getName();
    }

    /**
     * Returns whether the site reads an activation that calibration observes and the integer
     * operator quantizes; a table lookup reads only indices.
     *
     * @return {@code false} for {@code Gather}
     */
    public boolean hasActivation() {
        return kind != Kind.GATHER;
    }

    /**
     * Returns the axis of the weight that holds the output channels.
     *
     * @return 1 for a [K, N] weight, 0 for a transposed Gemm weight, a weight read through a
     *     {@code Transpose}, a Conv weight or a table
     */
    public int weightChannelAxis() {
        boolean transposed = kind == Kind.GEMM && node.getInt("transB", 0) == 1
                || transpose != null;
        return kind == Kind.CONV || kind == Kind.GATHER || transposed ? 0 : 1;
    }

    /**
     * Finds the quantizable sites of a graph, in node order.
     *
     * @param graph the graph
     * @param skipped receives a line for each candidate left in FP32 and why
     * @return the sites
     */
    static List<QuantizableSite> find(OnnxGraph graph, List<String> skipped) {
        List<QuantizableSite> sites = new ArrayList<>();
        Map<String, OnnxNode> producers = new HashMap<>();
        graph.getNodes().forEach(n -> n.getOutputs().forEach(o -> producers.put(o, n)));
        for (OnnxNode node : graph.getNodes()) {
            if (!OnnxOpsetImport.isDefaultDomain(node.getDomain())) {
                continue;
            }
            Kind kind = switch (node.getOpType()) {
                case "MatMul" -> Kind.MATMUL;
                case "Gemm" -> Kind.GEMM;
                case "Conv" -> Kind.CONV;
                case "Gather" -> Kind.GATHER;
                default -> null;
            };
            if (kind == null || node.getInputs().size() < 2) {
                continue;
            }
            // Gather reads its table from input 0; the others read their weight from input 1.
            String weightName = node.getInputs().get(kind == Kind.GATHER ? 0 : 1);
            OnnxTensor weight = graph.getInitializer(weightName);
            OnnxNode transpose = null;
            if (weight == null && kind == Kind.MATMUL) {
                transpose = matrixTranspose(graph, producers.get(weightName));
                weight = transpose == null
                        ? null
                        : graph.getInitializer(transpose.getInputs().get(0));
            }
            if (kind == Kind.GATHER && !isEmbeddingTable(node, weight)) {
                continue; // index arithmetic on small constants, not an embedding
            }
            String why = unsupported(graph, node, kind, weight);
            if (why != null) {
                skipped.add(node.describe() + ": " + why);
                continue;
            }
            String bias = node.getInputs().size() > 2 && !node.getInputs().get(2).isEmpty()
                    ? node.getInputs().get(2)
                    : null;
            sites.add(new QuantizableSite(node, kind, weight, bias, transpose));
        }
        return sites;
    }

    /**
     * Returns {@code node} if it transposes a 2-D initializer ({@code perm} [1, 0] or omitted,
     * which reverses the axes), else null.
     */
    private static OnnxNode matrixTranspose(OnnxGraph graph, OnnxNode node) {
        if (node == null || !node.getOpType().equals("Transpose")
                || !OnnxOpsetImport.isDefaultDomain(node.getDomain())) {
            return null;
        }
        OnnxTensor input = graph.getInitializer(node.getInputs().get(0));
        long[] perm = node.getInts("perm", new long[] {1, 0});
        boolean swapsAxes = perm.length == 2 && perm[0] == 1 && perm[1] == 0;
        return input != null && input.getDims().length == 2 && swapsAxes ? node : null;
    }

    private static boolean isEmbeddingTable(OnnxNode node, OnnxTensor table) {
        return table != null
                && table.getDataType() == OnnxDataType.FLOAT
                && table.getDims().length == 2
                && OnnxTensor.elementCount(table.getDims()) >= MIN_TABLE_ELEMENTS
                && node.getInt("axis", 0) == 0;
    }

    private static String unsupported(
            OnnxGraph graph, OnnxNode node, Kind kind, OnnxTensor weight) {
        if (weight == null) {
            return "the weight is not a constant initializer";
        }
        if (weight.getDataType() != OnnxDataType.FLOAT) {
            return "the weight is " + weight.getDataType() + ", not FLOAT";
        }
        int rank = weight.getDims().length;
        if (kind == Kind.CONV && rank != 4) {
            return "only 2-D convolutions are quantized (weight rank " + rank + ")";
        }
        if (kind == Kind.CONV && node.getInputs().size() > 2 && !node.getInputs().get(2).isEmpty()
                && graph.getInitializer(node.getInputs().get(2)) == null) {
            return "the Conv bias is not a constant initializer";
        }
        if (kind != Kind.CONV && rank != 2) {
            return "the weight is not 2-D";
        }
        if (kind == Kind.GEMM
                && (node.getInt("transA", 0) != 0
                        || node.getFloat("alpha", 1f) != 1f
                        || node.getFloat("beta", 1f) != 1f)) {
            return "Gemm with transA, alpha or beta is kept in FP32";
        }
        return null;
    }
}
