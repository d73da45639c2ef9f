package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.quantint8.onnx.quantize.OnnxQuantizer;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Constant inputs that an operator declares it only reads reach it as the model holds them, with
 * no view made and closed per run; the others still come as views the run owns.
 */
public class ConstantsReadInPlaceTest {

    private static OnnxModel probeModel() {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 4))
                .addInitializer(OnnxTensor.of("viewed", new float[] {1, 2, 3, 4}, 4))
                .addInitializer(OnnxTensor.of("read", new float[] {5, 6, 7, 8}, 4))
                .addNode(OnnxNode.builder().setOpType("Probe").optDomain("test")
                        .addInput("x", "viewed", "read").addOutput("y").build())
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 4))
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 13)
                .addOpsetImport("test", 1).build();
    }

    @Test
    public void onlyDeclaredInputsComeAsTheModelHoldsThem() throws Exception {
        List<NDArray> viewed = new ArrayList<>();
        List<NDArray> read = new ArrayList<>();
        OperatorRegistry registry = OperatorRegistry.builtIn().register("test", "Probe",
                OnnxOperator.readingInPlace((context, node, inputs) -> {
                    viewed.add(inputs.get(1));
                    read.add(inputs.get(2));
                    return new NDList(inputs.get(0).add(inputs.get(2)));
                }, 2));
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(probeModel(), "probe", manager, registry);
            for (int run = 0; run < 2; run++) {
                try (NDManager caller = manager.newSubManager()) {
                    NDList y = block.forward(new ParameterStore(caller, false),
                            new NDList(caller.create(new float[] {1, 1, 1, 1})), false);
                    Assert.assertEquals(y.singletonOrThrow().toFloatArray(),
                            new float[] {6, 7, 8, 9}, "run " + run);
                }
            }
            Assert.assertSame(read.get(1), read.get(0), "the model's array, on every run");
            Assert.assertFalse(read.get(1).isReleased(), "a run does not close it");
            Assert.assertNotSame(viewed.get(1), viewed.get(0), "a view per run");
            Assert.assertTrue(viewed.get(0).isReleased(), "closed with its run");
        }
    }

    /**
     * The fused projection reads its weight, scales and bias in place: nothing made from them
     * stays behind in the model's managers from one run to the next.
     */
    @Test
    public void aFusedProjectionLeavesNothingInTheModelsManagers() throws Exception {
        Random random = new Random(3);
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2, 16))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 8))
                .addInitializer(OnnxTensor.of("w", FusionRuns.normal(random, 16 * 8, 1f), 16, 8))
                .addInitializer(OnnxTensor.of("b", FusionRuns.normal(random, 8, 1f), 8))
                .addNode(OnnxNode.builder().setOpType("MatMul").addInput("x", "w")
                        .addOutput("h").build())
                .addNode(OnnxNode.builder().setOpType("Add").addInput("h", "b")
                        .addOutput("y").build())
                .build();
        OnnxModel model = OnnxQuantizer.builder().build().quantize(
                OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build()).model();
        float[] x = FusionRuns.normal(random, 32, 1f);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model, "projection", manager);
            int[] arrays = new int[3];
            float[][] outputs = new float[3][];
            for (int run = 0; run < 3; run++) {
                try (QuantInt8NDManager caller = manager.newSubManager(manager.getDevice())) {
                    outputs[run] = FusionRuns.run(block, caller, x, 2, 16);
                }
                arrays[run] = manager.getManagedArrays().size()
                        + manager.getAlternativeManagerOrThrow().getManagedArrays().size();
            }
            Assert.assertEquals(outputs[2], outputs[0]);
            // The first run adds the node's prepared weight; later runs add nothing.
            Assert.assertEquals(arrays[2], arrays[1], "arrays held by the model after each run");
        }
    }
}
