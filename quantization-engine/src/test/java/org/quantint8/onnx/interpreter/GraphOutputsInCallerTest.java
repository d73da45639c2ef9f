package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;

import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.ArrayList;
import java.util.List;

/**
 * An operator that makes a graph output in {@link OperatorContext#outputManager} hands the caller
 * that very array (no copy out of the run), keeps intermediates in the run, and leaves nothing in
 * the caller's manager when the run fails after it.
 */
public class GraphOutputsInCallerTest {

    /** x -> Make -> (y: graph output, h) ; h -> After -> z: graph output. */
    private static OnnxModel model() {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2))
                .addNode(OnnxNode.builder().setOpType("Make").optDomain("test")
                        .addInput("x").addOutput("y", "h").build())
                .addNode(OnnxNode.builder().setOpType("After").optDomain("test")
                        .addInput("h").addOutput("z").build())
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2))
                .addOutput(OnnxValueInfo.tensor("z", OnnxDataType.FLOAT, 2))
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 13)
                .addOpsetImport("test", 1).build();
    }

    private static OperatorRegistry registry(List<NDArray> made, List<NDManager> managers,
            List<Long> addresses, boolean failAfter) {
        return OperatorRegistry.builtIn()
                .register("test", "Make", (context, node, inputs) -> {
                    QuantInt8NDManager forY = context.outputManager(0);
                    QuantInt8NDManager forH = context.outputManager(1);
                    managers.add(forY);
                    managers.add(forH);
                    made.add(forY.create(new float[] {1, 2}));
                    made.add(forH.create(new float[] {3, 4}));
                    addresses.add(address(made.get(made.size() - 2)));
                    return new NDList(made.get(made.size() - 2), made.get(made.size() - 1));
                })
                .register("test", "After", (context, node, inputs) -> {
                    // Where y is while the run goes on: moving it would copy it.
                    managers.add(made.get(made.size() - 2).getManager());
                    if (failAfter) {
                        throw new IllegalStateException("after failed");
                    }
                    return new NDList(inputs.get(0).neg());
                });
    }

    private static long address(NDArray array) {
        return ((QuantInt8NDArray) array).getDataSegment().address();
    }

    @Test
    public void aGraphOutputMadeForTheCallerIsHandedOverAsItIs() throws Exception {
        List<NDArray> made = new ArrayList<>();
        List<NDManager> managers = new ArrayList<>();
        List<Long> addresses = new ArrayList<>();
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model(), "outputs", manager,
                    registry(made, managers, addresses, false));
            try (QuantInt8NDManager caller = manager.newSubManager(manager.getDevice())) {
                NDList out = block.forward(new ParameterStore(caller, false),
                        new NDList(caller.create(new float[] {0, 0})), false);
                Assert.assertSame(managers.get(0), caller, "y, a graph output: the caller's");
                Assert.assertNotSame(managers.get(1), caller, "h, an intermediate: the run's");
                Assert.assertSame(managers.get(2), caller, "y stays the caller's during the run");
                Assert.assertSame(out.get(0), made.get(0));
                Assert.assertEquals(address(out.get(0)), (long) addresses.get(0),
                        "y's memory is handed over as it is");
                Assert.assertEquals(out.get(0).toFloatArray(), new float[] {1, 2});
                Assert.assertEquals(out.get(1).toFloatArray(), new float[] {-3, -4});
                Assert.assertTrue(made.get(1).isReleased(), "h is freed with the run");
                Assert.assertFalse(out.get(0).isReleased());
            }
        }
    }

    @Test
    public void aFailedRunClosesTheOutputsItMadeForTheCaller() throws Exception {
        List<NDArray> made = new ArrayList<>();
        List<NDManager> managers = new ArrayList<>();
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model(), "outputs", manager,
                    registry(made, managers, new ArrayList<>(), true));
            try (QuantInt8NDManager caller = manager.newSubManager(manager.getDevice())) {
                NDArray x = caller.create(new float[] {0, 0});
                RuntimeException e = Assert.expectThrows(RuntimeException.class,
                        () -> block.forward(new ParameterStore(caller, false), new NDList(x),
                                false));
                Assert.assertTrue(e.getMessage().contains("after failed"), e.getMessage());
                Assert.assertSame(managers.get(0), caller);
                Assert.assertTrue(made.get(0).isReleased(), "y, made for the caller, is closed");
                Assert.assertEquals(caller.getManagedArrays().size(), 1, "only x is left");
            }
        }
    }
}
