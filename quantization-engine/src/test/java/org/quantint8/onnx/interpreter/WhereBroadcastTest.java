package org.quantint8.onnx.interpreter;

import static org.testng.Assert.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
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
import org.testng.annotations.Test;

/**
 * {@code Where} broadcasts condition, values and fallback together, as GPT-2's causal mask {@code
 * [query, key]} against scores {@code [batch, heads, query, key]} with a scalar fill needs.
 */
public class WhereBroadcastTest {

    @Test
    public void broadcastsAllThreeInputs() throws Exception {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("mask", OnnxDataType.BOOL, 2, 3))
                .addInput(OnnxValueInfo.tensor("scores", OnnxDataType.FLOAT, 1, 2, 2, 3))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 1, 2, 2, 3))
                .addInitializer(OnnxTensor.of("fill", new float[] {-100f}))
                .addNode(OnnxNode.builder().setOpType("Where")
                        .addInput("mask", "scores", "fill").addOutput("y").build())
                .build();
        OnnxModel model = OnnxModel.builder().setGraph(graph).addOpsetImport("", 17).build();
        boolean[] mask = {true, false, false, true, true, false};
        float[] scores = new float[12];
        float[] expected = new float[12];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = i + 0.5f;
            expected[i] = mask[i % 6] ? scores[i] : -100f;
        }
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model, "where", manager);
            NDArray condition = manager.create(mask, new Shape(2, 3));
            NDArray values = manager.create(scores, new Shape(1, 2, 2, 3));
            NDList out = block.forward(new ParameterStore(manager, false),
                    new NDList(condition, values), false);
            assertEquals(out.singletonOrThrow().getShape(), new Shape(1, 2, 2, 3));
            assertEquals(out.singletonOrThrow().toFloatArray(), expected);
        }
    }
}
