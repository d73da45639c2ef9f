package org.quantint8.engine;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.testng.Assert;
import org.testng.annotations.Test;

public class QuantInt8EngineTest {

    @Test
    public void engineIsFoundByName() {
        Engine engine = Engine.getEngine("QuantInt8");
        Assert.assertEquals(engine.getEngineName(), "QuantInt8");
        Assert.assertEquals(engine.getVersion(), QuantInt8Engine.VERSION);
        Assert.assertTrue(engine instanceof QuantInt8Engine);
    }

    @Test
    public void alternativeEngineIsPyTorch() {
        Engine alternative = Engine.getEngine("QuantInt8").getAlternativeEngine();
        Assert.assertNotNull(alternative);
        Assert.assertEquals(alternative.getEngineName(), "PyTorch");
    }

    @Test
    public void neverTheDefaultEngine() {
        Engine engine = Engine.getEngine("QuantInt8");
        for (String name : Engine.getAllEngines()) {
            if (!name.equals("QuantInt8")) {
                Assert.assertTrue(
                        Engine.getEngine(name).getRank() < engine.getRank(),
                        name + " must rank before QuantInt8");
            }
        }
        Assert.assertNotEquals(Engine.getDefaultEngineName(), "QuantInt8");
    }

    @Test
    public void baseManagerIsQuantInt8() {
        try (NDManager manager = Engine.getEngine("QuantInt8").newBaseManager()) {
            Assert.assertTrue(manager instanceof QuantInt8NDManager);
            Assert.assertEquals(manager.getEngine().getEngineName(), "QuantInt8");
        }
    }

    @Test
    public void modelCanBeCreated() {
        try (Model model = Model.newInstance("m", "QuantInt8")) {
            Assert.assertTrue(model instanceof QuantInt8Model);
            Assert.assertTrue(model.getNDManager() instanceof QuantInt8NDManager);
        }
    }
}
