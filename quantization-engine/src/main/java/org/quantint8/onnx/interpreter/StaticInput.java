package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.types.DataType;

import org.quantint8.ndarray.QuantizationParameters;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;

/**
 * The constant per-tensor parameters with which a statically quantized projection or convolution
 * quantizes its FP32 input: the {@code QuantizeLinear(X, x_scale, x_zero_point)} of the chain
 * {@link IntegerLinearFusion} fuses, kept as attributes of the fused node. Such a node's weight
 * scale input is the graph's constant product {@code x_scale * w_scale[c]}.
 *
 * @param scale the input's scale, finite and positive
 * @param zeroPoint the input's zero point
 * @param signed whether the codes are INT8 (else UINT8)
 */
record StaticInput(float scale, int zeroPoint, boolean signed) {

    /** The fused node's attribute holding {@link #scale}; its presence marks a static input. */
    static final String SCALE = "x_scale";
    /** The fused node's attribute holding {@link #zeroPoint}. */
    static final String ZERO_POINT = "x_zero_point";
    /** The fused node's attribute holding {@link #signed} (1 for INT8 codes). */
    static final String SIGNED = "x_signed";

    /**
     * Returns the parameters of a constant per-tensor {@code QuantizeLinear} whose codes an
     * integer operator reads with the zero point {@code readerZeroPoint}, or null when the
     * quantizer is not one (another operator, computed or per-axis parameters, attributes this
     * fusion does not model) or the reader's zero point differs from the quantizer's.
     *
     * @param quantizer the node producing the codes
     * @param readerZeroPoint the zero-point input of the integer operator reading them
     * @param graph the graph, for its initializers
     * @return the parameters, or null
     */
    static StaticInput of(OnnxNode quantizer, String readerZeroPoint, OnnxGraph graph) {
        if (!IntegerLinearFusion.isDefault(quantizer, "QuantizeLinear")
                || quantizer.getInputs().size() != 3
                || quantizer.getAttributes().keySet().stream().anyMatch(a -> !a.equals("axis"))) {
            return null;
        }
        OnnxTensor scale = graph.getInitializer(quantizer.getInputs().get(1));
        OnnxTensor zero = graph.getInitializer(quantizer.getInputs().get(2));
        OnnxTensor readerZero = graph.getInitializer(readerZeroPoint);
        if (scale == null || zero == null || readerZero == null
                || scale.getDataType() != OnnxDataType.FLOAT || scale.getElementCount() != 1
                || zero.getElementCount() != 1 || readerZero.getElementCount() != 1
                || zero.getDataType() != readerZero.getDataType()
                || zero.getDataType() != OnnxDataType.UINT8
                        && zero.getDataType() != OnnxDataType.INT8) {
            return null;
        }
        float s = scale.toFloatArray()[0];
        int z = zero.toIntArray()[0];
        if (!(s > 0f) || !Float.isFinite(s) || readerZero.toIntArray()[0] != z) {
            return null;
        }
        return new StaticInput(s, z, zero.getDataType() == OnnxDataType.INT8);
    }

    /**
     * Returns the static parameters a fused node carries, or null for one that quantizes its
     * input dynamically.
     *
     * @param node the fused node
     * @return the parameters, or null
     */
    static StaticInput of(OnnxNode node) {
        if (!node.getAttributes().containsKey(SCALE)) {
            return null;
        }
        return new StaticInput(node.getFloat(SCALE, Float.NaN),
                (int) node.getInt(ZERO_POINT, 0), node.getInt(SIGNED, 0) == 1);
    }

    /**
     * Adds the parameters to a fused node as attributes.
     *
     * @param fused the fused node's builder
     */
    void addTo(OnnxNode.Builder fused) {
        fused.addAttribute(OnnxAttribute.ofFloat(SCALE, scale));
        fused.addAttribute(OnnxAttribute.ofInt(ZERO_POINT, zeroPoint));
        fused.addAttribute(OnnxAttribute.ofInt(SIGNED, signed ? 1 : 0));
    }

    /**
     * The parameters {@code QuantizeLinear} quantizes with (validated as any parameters are).
     *
     * @return the parameters
     */
    QuantizationParameters parameters() {
        return QuantizationParameters.perTensor(scale, zeroPoint, codeType());
    }

    /**
     * The type of the codes.
     *
     * @return INT8 or UINT8
     */
    DataType codeType() {
        return signed ? DataType.INT8 : DataType.UINT8;
    }
}
