package org.quantint8.engine;

import ai.djl.BaseModel;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelReader;
import org.quantint8.onnx.interpreter.OnnxBlock;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A model of the {@link QuantInt8Engine}.
 *
 * <p>A model built in Java ({@link #setBlock(ai.djl.nn.Block)}) runs as soon as its parameters
 * are initialized; quantized parameters make DJL's {@code Linear} and {@code Conv2d} blocks run
 * through the INT8 operators.
 *
 * <p>Otherwise {@link #load(Path, String, Map)} reads an ONNX model and runs it with the ONNX
 * interpreter ({@link OnnxBlock}). The file is found as DJL's OnnxRuntime engine finds it: a
 * direct path to an {@code .onnx} file, or in the folder {@code <prefix>.onnx}, {@code
 * <modelName>.onnx}, {@code <folder name>.onnx} or {@code model.onnx}, or the folder's only
 * {@code .onnx} file.
 */
public class QuantInt8Model extends BaseModel {

    QuantInt8Model(String name, NDManager manager) {
        super(name);
        this.manager = manager;
        this.manager.setName("quantint8-model:" + name);
        this.dataType = DataType.FLOAT32;
    }

    /**
     * Loads the model.
     *
     * @param modelPath a folder holding the {@code .onnx} file, or the file itself
     * @param prefix the file name without extension, or {@code null}
     * @param options not used yet
     * @throws IOException if the file cannot be found or read
     * @throws MalformedModelException if the file is not a valid ONNX model, or has a node that
     *     neither the interpreter nor ONNX Runtime can run; the message names the file, and the
     *     node where one is at fault
     */
    @Override
    public void load(Path modelPath, String prefix, Map<String, ?> options)
            throws IOException, MalformedModelException {
        if (block != null) {
            // A Java block was set: its parameters are the model, as in DJL's other engines.
            modelDir = modelPath.toAbsolutePath();
            wasLoaded = true;
            return;
        }
        Path dir = modelPath.toAbsolutePath();
        Path file =
                ModelFiles.find(
                        dir, prefix, modelName, dir.getFileName() == null ? null : dir.getFileName().toString());
        OnnxModel model = OnnxModelReader.read(file);
        block = OnnxBlock.newInstance(model, file.toString(), (QuantInt8NDManager) manager);
        modelDir = file.getParent();
        modelName = ModelFiles.modelName(file);
        wasLoaded = true;
    }
}
