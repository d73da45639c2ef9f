package org.quantint8.engine;

import ai.djl.Model;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.translate.TranslatorContext;

import java.util.HashMap;
import java.util.Map;

/**
 * The context a translator's {@code processInput} sees while calibration samples are prepared,
 * like a predictor's: arrays it makes live until the context closes.
 */
final class CalibrationContext implements TranslatorContext {

    private final Model model;
    private final NDManager manager;
    private final Map<String, Object> attachments = new HashMap<>();

    CalibrationContext(Model model, NDManager manager) {
        this.model = model;
        this.manager = manager;
    }

    /** {@inheritDoc} */
    @Override
    public Model getModel() {
        return model;
    }

    /** {@inheritDoc} */
    @Override
    public NDManager getNDManager() {
        return manager;
    }

    /** {@inheritDoc} */
    @Override
    public NDManager getPredictorManager() {
        return manager;
    }

    /** {@inheritDoc} */
    @Override
    public Block getBlock() {
        return model.getBlock();
    }

    /** {@inheritDoc} */
    @Override
    public Metrics getMetrics() {
        return null;
    }

    /** {@inheritDoc} */
    @Override
    public Object getAttachment(String key) {
        return attachments.get(key);
    }

    /** {@inheritDoc} */
    @Override
    public void setAttachment(String key, Object value) {
        attachments.put(key, value);
    }

    /** {@inheritDoc} */
    @Override
    public void close() {
        attachments.clear();
    }
}
