package org.quantint8.engine;

import ai.djl.engine.Engine;
import ai.djl.engine.EngineProvider;

/** Makes the {@link QuantInt8Engine} known to DJL through {@link java.util.ServiceLoader}. */
public class QuantInt8EngineProvider implements EngineProvider {

    /** Creates the provider; called by {@link java.util.ServiceLoader}. */
    public QuantInt8EngineProvider() {}

    /** {@inheritDoc} */
    @Override
    public String getEngineName() {
        return QuantInt8Engine.ENGINE_NAME;
    }

    /** {@inheritDoc} */
    @Override
    public int getEngineRank() {
        return QuantInt8Engine.RANK;
    }

    /** {@inheritDoc} */
    @Override
    public Engine getEngine() {
        return InstanceHolder.INSTANCE;
    }

    private static final class InstanceHolder {
        static final Engine INSTANCE = new QuantInt8Engine();
    }
}
