package org.quantint8.onnx;

import ai.djl.engine.Engine;
import ai.onnxruntime.OrtEnvironment;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's ONNX Runtime environment, shared with the application and with DJL's OnnxRuntime
 * engine. QuantInt8 reaches ONNX Runtime only through it: for the interpreter's fallback and for
 * static calibration, which runs the FP32 graph on ONNX Runtime.
 *
 * <p>ONNX Runtime allows one environment per process. DJL's OnnxRuntime engine creates it with
 * thread-pool options, which ONNX Runtime refuses once an environment exists; so when that engine
 * is on the class path it is started first, and its environment is used. Otherwise the existing
 * environment, or a default one, is used. The environment is never closed here.
 */
public final class OrtEnvironments {

    private static final Logger logger = LoggerFactory.getLogger(OrtEnvironments.class);

    private static final String DJL_ORT_ENGINE = "OnnxRuntime";

    private OrtEnvironments() {}

    /**
     * Returns the shared environment, creating it if needed in a way that lets DJL's OnnxRuntime
     * engine start later.
     *
     * @return the environment
     */
    public static synchronized OrtEnvironment shared() {
        if (Engine.hasEngine(DJL_ORT_ENGINE)) {
            try {
                Engine.getEngine(DJL_ORT_ENGINE);
            } catch (RuntimeException | Error e) {
                // The application may have created the environment its own way first; then
                // DJL's engine cannot start, but the existing environment is still usable.
                logger.debug("DJL's OnnxRuntime engine did not start; using ONNX Runtime", e);
            }
        }
        return OrtEnvironment.getEnvironment();
    }
}
