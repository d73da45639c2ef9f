package org.quantint8.zoo.weights;

import org.quantint8.onnx.OnnxFormatException;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelReader;
import org.quantint8.onnx.OnnxTensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the floating-point initializers of an existing ONNX model (an export of the original
 * model, for example) by name, through {@link OnnxModelReader}, which bounds-checks the file and
 * resolves external data.
 */
public final class OnnxInitializerReader {

    private OnnxInitializerReader() {}

    /**
     * Reads the floating-point initializers of a model file.
     *
     * @param file the {@code .onnx} file
     * @return the initializers by name, in the file's order; FLOAT16, BFLOAT16 and DOUBLE are
     *     converted to float, other types skipped
     * @throws WeightFormatException if the model is malformed
     * @throws IOException if it cannot be read
     */
    public static Map<String, CheckpointTensor> readAll(Path file) throws IOException {
        OnnxModel model;
        try {
            model = OnnxModelReader.read(file);
        } catch (OnnxFormatException e) {
            throw new WeightFormatException(file + ": " + e.getMessage(), e);
        }
        return readAll(model);
    }

    /**
     * Returns the floating-point initializers of a model.
     *
     * @param model the model
     * @return the initializers by name; FLOAT16, BFLOAT16 and DOUBLE are converted to float,
     *     other types skipped
     */
    public static Map<String, CheckpointTensor> readAll(OnnxModel model) {
        Map<String, CheckpointTensor> tensors = new LinkedHashMap<>();
        for (OnnxTensor tensor : model.getGraph().getInitializers().values()) {
            switch (tensor.getDataType()) {
                case FLOAT, FLOAT16, BFLOAT16, DOUBLE -> tensors.put(tensor.getName(),
                        new CheckpointTensor(tensor.getName(), tensor.getDims(),
                                tensor.toFloatArray()));
                default -> { }
            }
        }
        return tensors;
    }
}
