package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxDimension;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxOpsetImport;
import org.quantint8.onnx.OnnxValueInfo;
import org.quantint8.onnx.OrtEnvironments;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a node that the interpreter has no operator for as a one-node ONNX Runtime session.
 *
 * <p>The session's model is built from the node and typed from the actual inputs (element type
 * and rank; dimensions left free), so one session serves every input shape. Sessions are cached in
 * the node's cache by input signature and closed with the model.
 */
final class OrtFallback implements OnnxOperator {

    private static final Set<String> DOMAINS =
            Set.of("", OnnxOpsetImport.AI_ONNX, "ai.onnx.ml", "com.microsoft");

    private final String source;
    private final List<OnnxOpsetImport> opsets;

    /**
     * Creates the fallback of one model.
     *
     * @param source the model file, for messages
     * @param opsets the model's opset imports, given to each one-node model
     */
    OrtFallback(String source, List<OnnxOpsetImport> opsets) {
        this.source = source;
        this.opsets = opsets;
    }

    /**
     * Tells whether ONNX Runtime has operators of a domain.
     *
     * @param domain the operator domain
     * @return {@code true} for the standard domains and Microsoft's contrib operators
     */
    static boolean knowsDomain(String domain) {
        return DOMAINS.contains(domain);
    }

    /** {@inheritDoc} */
    @Override
    public NDList apply(OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        String signature = signature(inputs);
        OrtSession session =
                (OrtSession)
                        context.nodeCache()
                                .computeIfAbsent("ort:" + signature, k -> newSession(node, inputs));
        OrtEnvironment env = OrtEnvironments.shared();
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            for (int i = 0; i < inputs.size(); i++) {
                if (inputs.get(i) != null) {
                    feed.put("x" + i, toOrt(env, inputs.get(i)));
                }
            }
            try (OrtSession.Result result = session.run(feed)) {
                return fromOrt(context.manager(), node, result);
            }
        } catch (OrtException e) {
            throw new IllegalArgumentException("ONNX Runtime: " + e.getMessage(), e);
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    private static String signature(List<NDArray> inputs) {
        StringBuilder key = new StringBuilder();
        for (NDArray input : inputs) {
            key.append(input == null ? "-" : input.getDataType() + "/" + input.getShape().dimension())
                    .append(',');
        }
        return key.toString();
    }

    private OrtSession newSession(OnnxNode node, List<NDArray> inputs) {
        byte[] model = OnnxModelWriter.builder().build().toByteArray(oneNodeModel(node, inputs));
        try {
            return OrtEnvironments.shared().createSession(model, new OrtSession.SessionOptions());
        } catch (OrtException e) {
            throw new IllegalArgumentException(
                    "ONNX Runtime cannot run this node either: " + e.getMessage(), e);
        }
    }

    private OnnxModel oneNodeModel(OnnxNode node, List<NDArray> inputs) {
        OnnxNode.Builder copy =
                OnnxNode.builder()
                        .setOpType(node.getOpType())
                        .optDomain(node.getDomain())
                        .optName(node.getName());
        OnnxGraph.Builder graph = OnnxGraph.builder().optName("fallback");
        for (int i = 0; i < node.getInputs().size(); i++) {
            NDArray input = i < inputs.size() ? inputs.get(i) : null;
            if (input == null) {
                copy.addInput("");
                continue;
            }
            OnnxDataType type = OnnxDataType.fromDjl(input.getDataType());
            List<OnnxDimension> dims =
                    Collections.nCopies(input.getShape().dimension(), OnnxDimension.unknown());
            graph.addInput(OnnxValueInfo.tensor("x" + i, type, dims));
            copy.addInput("x" + i);
        }
        for (int i = 0; i < node.getOutputs().size(); i++) {
            boolean used = !node.getOutputs().get(i).isEmpty();
            copy.addOutput(used ? "y" + i : "");
            if (used) {
                graph.addOutput(OnnxValueInfo.of("y" + i, OnnxDataType.UNDEFINED, null, ""));
            }
        }
        for (OnnxAttribute attribute : node.getAttributes().values()) {
            copy.addAttribute(attribute);
        }
        graph.addNode(copy.build());
        OnnxModel.Builder model = OnnxModel.builder().setGraph(graph.build());
        for (OnnxOpsetImport opset : opsets) {
            model.addOpsetImport(opset.domain(), opset.version());
        }
        return model.build();
    }

    private static OnnxTensor toOrt(OrtEnvironment env, NDArray array) throws OrtException {
        OnnxJavaType type = javaType(array.getDataType());
        ByteBuffer bytes = array.toByteBuffer();
        // ONNX Runtime takes a direct buffer as is; it rejects heap byte buffers of other types.
        ByteBuffer data = ByteBuffer.allocateDirect(bytes.remaining()).order(ByteOrder.nativeOrder());
        data.put(bytes).flip();
        return OnnxTensor.createTensor(env, data, array.getShape().getShape(), type);
    }

    /** DJL types and ONNX Runtime's Java types, in pairs. */
    private static final Map<DataType, OnnxJavaType> JAVA_TYPES =
            Map.of(
                    DataType.FLOAT32, OnnxJavaType.FLOAT,
                    DataType.FLOAT64, OnnxJavaType.DOUBLE,
                    DataType.FLOAT16, OnnxJavaType.FLOAT16,
                    DataType.BFLOAT16, OnnxJavaType.BFLOAT16,
                    DataType.INT8, OnnxJavaType.INT8,
                    DataType.UINT8, OnnxJavaType.UINT8,
                    DataType.INT16, OnnxJavaType.INT16,
                    DataType.INT32, OnnxJavaType.INT32,
                    DataType.INT64, OnnxJavaType.INT64,
                    DataType.BOOLEAN, OnnxJavaType.BOOL);

    private static DataType djlType(OnnxJavaType javaType) {
        for (Map.Entry<DataType, OnnxJavaType> pair : JAVA_TYPES.entrySet()) {
            if (pair.getValue() == javaType) {
                return pair.getKey();
            }
        }
        return null;
    }

    private static OnnxJavaType javaType(DataType type) {
        OnnxJavaType javaType = JAVA_TYPES.get(type);
        if (javaType == null) {
            throw new IllegalArgumentException(
                    "ONNX Runtime's Java API cannot take " + type + " tensors");
        }
        return javaType;
    }

    private NDList fromOrt(NDManager manager, OnnxNode node, OrtSession.Result result) {
        NDList outputs = new NDList();
        for (int i = 0; i < node.getOutputs().size(); i++) {
            if (node.getOutputs().get(i).isEmpty()) {
                outputs.add(manager.create(new float[0]));
                continue;
            }
            OnnxValue value = result.get("y" + i).orElseThrow();
            if (!(value instanceof OnnxTensor tensor)) {
                throw new IllegalArgumentException(
                        "output " + i + " is a " + value.getType() + ", not a tensor");
            }
            TensorInfo info = tensor.getInfo();
            DataType type = djlType(info.type);
            if (type == null) {
                throw new IllegalArgumentException(
                        "output " + i + " has type " + info.onnxType + ", which DJL lacks");
            }
            NDArray output =
                    manager.create(tensor.getByteBuffer(), new Shape(info.getShape()), type);
            outputs.add(TensorConversion.owned(output));
        }
        return outputs;
    }

    @Override
    public String toString() {
        return "ONNX Runtime fallback of " + source;
    }
}
