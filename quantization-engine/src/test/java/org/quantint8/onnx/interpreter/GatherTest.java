package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.Test;

/** Gather: negative indices count from the end; an index out of range is named. */
public class GatherTest {

    private static OnnxModel model() {
        float[] table = new float[5 * 3];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("ids", OnnxDataType.INT64, 2, 2))
                .addInitializer(OnnxTensor.of("table", table, 5, 3))
                .addNode(OnnxNode.builder().setOpType("Gather").optName("embed")
                        .addInput("table", "ids").addOutput("y").build())
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 2, 3))
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build();
    }

    private static NDList run(QuantInt8NDManager manager, long... ids) throws Exception {
        return OnnxBlock.newInstance(model(), "gather", manager).forward(
                new ParameterStore(manager, false),
                new NDList(manager.create(ids, new Shape(2, 2))), false);
    }

    @Test
    public void negativeIndicesCountFromTheEnd() throws Exception {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            float[] y = run(manager, 0, -1, 4, -5).get(0).toFloatArray();
            Assert.assertEquals(y, new float[] {0, 1, 2, 12, 13, 14, 12, 13, 14, 0, 1, 2});
        }
    }

    @Test
    public void indexOutOfRangeIsNamed() {
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            Exception e = Assert.expectThrows(Exception.class, () -> run(manager, 0, 1, 5, 2));
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            Assert.assertTrue(cause.getMessage().contains("index 5 out of range [-5, 5) on axis 0"),
                    cause.getMessage());
            Assert.assertTrue(e.getMessage().contains("embed"), e.getMessage());
        }
    }
}
