package org.quantint8.onnx.quantize;

import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.Map;
import java.util.Random;

public class SmoothQuantTransformTest {

    /** x feeds two MatMuls (one of them a transposed Gemm) and the residual Add. */
    private static OnnxModel shared(Random random) {
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 3, 8))
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 3, 8))
                .addInitializer(OnnxTensor.of("wa", OnnxQuantizerTest.normal(random, 64, 0.3f), 8, 8))
                .addInitializer(OnnxTensor.of("wb", OnnxQuantizerTest.normal(random, 64, 0.3f), 8, 8))
                .addNode(OnnxNode.builder().setOpType("MatMul").optName("a")
                        .addInput("x", "wa").addOutput("ya").build())
                .addNode(OnnxNode.builder().setOpType("Gemm").optName("b")
                        .addInput("x", "wb").addOutput("yb")
                        .addAttribute(OnnxAttribute.ofInt("transB", 1)).build())
                .addNode(OnnxNode.builder().setOpType("Add").addInput("ya", "yb").addOutput("s")
                        .build())
                .addNode(OnnxNode.builder().setOpType("Add").addInput("s", "x").addOutput("y")
                        .build())
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 11).optIrVersion(6).build();
    }

    @Test
    public void keepsTheFp32Function() throws Exception {
        Random random = new Random(9);
        OnnxModel model = shared(random);
        float[] x = OnnxQuantizerTest.normal(random, 24, 1f);
        for (int row = 0; row < 3; row++) {
            x[row * 8 + 5] *= 40; // an outlier channel, as in transformer activations
        }
        float[] absMax = new float[8];
        for (int i = 0; i < x.length; i++) {
            absMax[i % 8] = Math.max(absMax[i % 8], Math.abs(x[i]));
        }
        OnnxModel smoothed = SmoothQuantTransform.apply(model, Map.of("x", absMax),
                QuantizationConfig.builder().build().getLayerFilter(), 0.5);
        Assert.assertEquals(smoothed.getGraph().getNodes().stream()
                .filter(n -> n.getOpType().equals("Mul")).count(), 1, "one Mul for the group");
        float[] expected = OnnxQuantizerTest.run(model, x, 3, 8);
        float[] actual = OnnxQuantizerTest.run(smoothed, x, 3, 8);
        for (int i = 0; i < expected.length; i++) {
            Assert.assertEquals(actual[i], expected[i], 1e-4 * (1 + Math.abs(expected[i])));
        }
    }
}
