package org.quantint8.engine;

import ai.djl.BaseModel;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import java.nio.file.Path;
import java.util.Map;

/**
 * A model of the {@link QuantInt8Engine}.
 *
 * <p>A model built in Java ({@link #setBlock(ai.djl.nn.Block)}) runs as soon as its parameters
 * are initialized; quantized parameters make DJL's {@code Linear} and {@code Conv2d} blocks run
 * through the INT8 operators.
 */
public class QuantInt8Model extends BaseModel {

    QuantInt8Model(String name, NDManager manager) {
        super(name);
        this.manager = manager;
        this.manager.setName("quantint8-model:" + name);
        this.dataType = DataType.FLOAT32;
    }

    /** {@inheritDoc} */
    @Override
    public void load(Path modelPath, String prefix, Map<String, ?> options)
            throws MalformedModelException {
        if (block != null) {
            // A Java block was set: its parameters are the model, as in DJL's other engines.
            modelDir = modelPath.toAbsolutePath();
            wasLoaded = true;
            return;
        }
        throw new MalformedModelException(
                "QuantInt8 cannot load model files yet ("
                        + modelPath
                        + "): set a Java block with Model.setBlock() or Criteria.optBlock()");
    }
}
