package org.quantint8.engine;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

import org.quantint8.ndarray.QuantInt8NDManager;

/**
 * The {@code QuantInt8} engine: INT8 NDArrays and operators, with every other operation delegated
 * to the PyTorch engine.
 *
 * <p>Its rank is higher (worse) than every engine DJL ships, so that it never becomes DJL's
 * default engine by accident: applications opt in with {@code Engine.getEngine("QuantInt8")} or
 * {@code Criteria.builder().optEngine("QuantInt8")}.
 */
public final class QuantInt8Engine extends Engine {

    /** The engine name used with {@link Engine#getEngine(String)}. */
    public static final String ENGINE_NAME = "QuantInt8";

    /** The engine version. */
    public static final String VERSION = "0.1.0";

    /** The engine whose operators serve as fallback. */
    public static final String ALTERNATIVE_ENGINE_NAME = "PyTorch";

    // DJL's engines rank 1 (PyTorch) to 10 (OnnxRuntime); DJL picks the lowest rank as default.
    static final int RANK = 100;

    private Engine alternativeEngine;
    private boolean alternativeResolved;

    QuantInt8Engine() {}

    /** {@inheritDoc} */
    @Override
    public String getEngineName() {
        return ENGINE_NAME;
    }

    /** {@inheritDoc} */
    @Override
    public int getRank() {
        return RANK;
    }

    /** {@inheritDoc} */
    @Override
    public String getVersion() {
        return VERSION;
    }

    /** {@inheritDoc} */
    @Override
    public synchronized Engine getAlternativeEngine() {
        if (!alternativeResolved) {
            alternativeResolved = true;
            if (Engine.hasEngine(ALTERNATIVE_ENGINE_NAME)) {
                alternativeEngine = Engine.getEngine(ALTERNATIVE_ENGINE_NAME);
            }
        }
        return alternativeEngine;
    }

    /** {@inheritDoc} */
    @Override
    public boolean hasCapability(String capability) {
        return false;
    }

    /** {@inheritDoc} */
    @Override
    public Model newModel(String name, Device device) {
        return new QuantInt8Model(name, newBaseManager(device));
    }

    /** {@inheritDoc} */
    @Override
    public NDManager newBaseManager() {
        return newBaseManager(null);
    }

    /** {@inheritDoc} */
    @Override
    public NDManager newBaseManager(Device device) {
        return QuantInt8NDManager.getSystemManager().newSubManager(device);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return ENGINE_NAME + ':' + VERSION + ", alternative engine: " + ALTERNATIVE_ENGINE_NAME;
    }
}
