package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;

import org.quantint8.ndarray.QuantInt8NDArray;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.nio.ByteBuffer;

/** Graph outputs of every kind outlive the run that computed them. */
public class OnnxBlockOutputsTest {

    /**
     * x -> QuantizeLinear (scale 0.5, zero point 10) -> q -> DequantizeLinear -> y, both outputs.
     *
     * @param size the length of the vector x
     * @return the model
     */
    static OnnxModel quantizeDequantize(int size) {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, size))
                .addOutput(OnnxValueInfo.tensor("q", OnnxDataType.UINT8, size))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, size))
                .addInitializer(OnnxTensor.of("s", new float[] {0.5f}))
                .addInitializer(OnnxTensor.of("z", OnnxDataType.UINT8,
                        ByteBuffer.wrap(new byte[] {10})))
                .addNode(OnnxNode.builder().setOpType("QuantizeLinear")
                        .addInput("x", "s", "z").addOutput("q").build())
                .addNode(OnnxNode.builder().setOpType("DequantizeLinear")
                        .addInput("q", "s", "z").addOutput("y").build())
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 13).build();
    }

    @Test
    public void quantizedAndFloatOutputsStayOpen() throws Exception {
        OnnxModel model = quantizeDequantize(4);
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model, "test", manager);
            NDArray x = manager.create(new float[] {-1f, 0f, 1.25f, 3f});
            NDList out = block.forward(new ParameterStore(manager, false), new NDList(x), false);
            Assert.assertTrue(out.get(0) instanceof QuantInt8NDArray);
            Assert.assertEquals(out.get(0).getDataType(), DataType.UINT8);
            Assert.assertEquals(out.get(0).toUint8Array(), new int[] {8, 10, 12, 16});
            Assert.assertEquals(out.get(1).toFloatArray(), new float[] {-1f, 0f, 1f, 3f});
        }
    }
}
