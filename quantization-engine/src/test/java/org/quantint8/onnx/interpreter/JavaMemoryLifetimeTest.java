package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;

import org.quantint8.ndarray.FreedMemory;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.List;

/**
 * Values an operator makes from Java data must not depend on the Java buffer PyTorch wrapped:
 * once that buffer is collected its memory is reused, and a later operator would read garbage
 * (the position ids of BERT and GPT-2 once came out of range this way, at random).
 */
public class JavaMemoryLifetimeTest {

    private static final int LENGTH = 128;

    /** Between the producer and its reader: frees and reuses unreachable buffers' memory. */
    private static NDList collectAndScribble(
            OperatorContext context, OnnxNode node, List<NDArray> inputs) {
        FreedMemory.collectAndScribble(LENGTH * Long.BYTES);
        return new NDList(inputs.get(0).duplicate());
    }

    private static OnnxModel rangeModel() {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("limit", OnnxDataType.INT64))
                .addInitializer(OnnxTensor.of("start", new long[] {0}))
                .addInitializer(OnnxTensor.of("delta", new long[] {1}))
                .addNode(OnnxNode.builder().setOpType("Range").optName("positions")
                        .addInput("start", "limit", "delta").addOutput("ids").build())
                .addNode(OnnxNode.builder().setOpType("Scribble").optDomain("test")
                        .optName("scribble").addInput("ids").addOutput("y").build())
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.INT64, LENGTH))
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 13)
                .addOpsetImport("test", 1).build();
    }

    @Test
    public void rangeOwnsItsMemory() throws Exception {
        OperatorRegistry registry = OperatorRegistry.builtIn()
                .register("test", "Scribble", JavaMemoryLifetimeTest::collectAndScribble);
        long[] expected = new long[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            expected[i] = i;
        }
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(rangeModel(), "range", manager, registry);
            for (int run = 0; run < 20; run++) {
                try (NDManager runManager = manager.newSubManager()) {
                    NDArray limit = runManager.create((long) LENGTH);
                    NDList y = block.forward(new ParameterStore(runManager, false),
                            new NDList(limit), false);
                    Assert.assertEquals(y.get(0).toLongArray(), expected, "run " + run);
                }
            }
        }
    }
}
