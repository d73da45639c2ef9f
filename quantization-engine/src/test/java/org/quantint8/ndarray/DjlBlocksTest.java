package org.quantint8.ndarray;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import ai.djl.util.Pair;

import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.Random;

/** DJL's own blocks run through the INT8 operators once their weights are quantized. */
public class DjlBlocksTest {

    @Test
    public void linearBlockDispatchesToInt8() throws TranslateException {
        try (Model model = Model.newInstance("linear", "QuantInt8")) {
            Block block = Linear.builder().setUnits(6).build();
            model.setBlock(block);
            NDManager manager = model.getNDManager();
            block.initialize(manager, DataType.FLOAT32, new Shape(3, 10));
            NDArray x = manager.create(Reference.uniform(new Random(1), 30, -1, 1),
                    new Shape(3, 10));
            float[] fp32 = predict(model, x);
            NDArray weight = quantizeWeights(block);
            NDArray bias = block.getParameters().get("bias").getArray();
            float[] int8 = predict(model, x);
            // Bit-identical to the INT8 operator called directly: the block took the INT8 path.
            Assert.assertEquals(int8,
                    Int8Ops.linear(x, weight, bias, Int8Output.float32()).toFloatArray());
            assertNear(int8, fp32, 0.02);
        }
    }

    @Test
    public void convolutionalNetworkRunsInInt8() throws TranslateException {
        try (Model model = Model.newInstance("cnn", "QuantInt8")) {
            SequentialBlock block = new SequentialBlock()
                    .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1))
                            .setFilters(8).build())
                    .add(Activation.reluBlock())
                    .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optStride(new Shape(2, 2))
                            .optGroups(8).setFilters(8).build())
                    .add(Activation::gelu)
                    .add(Pool.globalAvgPool2dBlock())
                    .add(Linear.builder().setUnits(5).build());
            model.setBlock(block);
            Shape shape = new Shape(2, 3, 12, 10);
            block.initialize(model.getNDManager(), DataType.FLOAT32, shape);
            NDArray x = model.getNDManager().create(
                    Reference.uniform(new Random(2), (int) shape.size(), 0, 1), shape);
            float[] fp32 = predict(model, x);
            quantizeWeights(block);
            float[] int8 = predict(model, x);
            Assert.assertEquals(int8.length, 10);
            assertNear(int8, fp32, 0.05);
        }
    }

    @Test
    public void embeddingOfQuantizedTableDequantizesRows() {
        try (NDManager manager = ai.djl.engine.Engine.getEngine("QuantInt8").newBaseManager()) {
            NDArray table = manager.create(Reference.uniform(new Random(3), 40, -1, 1),
                    new Shape(10, 4));
            QuantInt8NDArray q = Int8Ops.quantizePerChannel(table, 0);
            NDArray ids = manager.create(new int[] {9, 2});
            NDArray rows = ids.getNDArrayInternal().embedding(ids, q, SparseFormat.DENSE)
                    .singletonOrThrow();
            Assert.assertEquals(rows.toFloatArray(), Int8Ops.gather(q, ids).toFloatArray());
            float[] exact = new float[8];
            System.arraycopy(table.toFloatArray(), 36, exact, 0, 4);
            System.arraycopy(table.toFloatArray(), 8, exact, 4, 4);
            assertNear(rows.toFloatArray(), exact, 0.01);
        }
    }

    /** Replaces every weight in place (intern) by its per-channel INT8 quantization. */
    private static NDArray quantizeWeights(Block block) {
        NDArray last = null;
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().getType() == Parameter.Type.WEIGHT) {
                NDArray weight = p.getValue().getArray();
                weight.intern(Int8Ops.quantizePerChannel(weight, 0));
                Assert.assertTrue(((QuantInt8NDArray) weight).isQuantized());
                last = weight;
            }
        }
        return last;
    }

    private static float[] predict(Model model, NDArray x) throws TranslateException {
        try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator())) {
            return predictor.predict(new NDList(x)).singletonOrThrow().toFloatArray();
        }
    }

    /** Max abs error within {@code fraction} of the FP32 output's largest magnitude. */
    private static void assertNear(float[] actual, float[] expected, double fraction) {
        double max = 0;
        double err = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(actual[i] - expected[i]));
        }
        Assert.assertTrue(err <= fraction * max, "max error " + err + " vs scale " + max);
        Assert.assertTrue(max > 0, "degenerate FP32 output");
    }
}
