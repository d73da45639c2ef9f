package org.quantint8.it;

import ai.djl.engine.Engine;

import org.testng.IExecutionListener;

/**
 * Starts DJL's OnnxRuntime engine before any test of this JVM runs.
 *
 * <p>DJL's OnnxRuntime engine cannot start once something else has created the process's ONNX
 * Runtime environment (it insists on creating it with its own thread pool), and several tests
 * here use ONNX Runtime directly as the reference, while others load models with {@code
 * optEngine("OnnxRuntime")}. Which comes first depends on test order; starting DJL's engine first
 * makes it irrelevant. QuantInt8 itself shares whichever environment exists in either order
 * ({@code CoexistenceTest} checks both orders, each in a fresh JVM). Registered through {@code
 * META-INF/services/org.testng.ITestNGListener}.
 */
public class OnnxRuntimeEngineFirst implements IExecutionListener {

    @Override
    public void onExecutionStart() {
        Engine.getEngine("OnnxRuntime");
    }
}
