package org.quantint8.ndarray;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;

import org.testng.Assert;
import org.testng.annotations.AfterClass;
import org.testng.annotations.BeforeClass;
import org.testng.annotations.Test;

import java.util.Random;
import java.util.function.Function;

/** Operations QuantInt8 does not implement give exactly PyTorch's results. */
public class FallbackTest {

    private NDManager manager;
    private NDManager pytorch;
    private float[] data;
    private final Shape shape = new Shape(3, 5, 7);

    @BeforeClass
    public void setUp() {
        manager = Engine.getEngine("QuantInt8").newBaseManager();
        pytorch = Engine.getEngine("PyTorch").newBaseManager();
        data = Reference.uniform(new Random(29), (int) shape.size(), -3, 3);
    }

    @AfterClass
    public void tearDown() {
        manager.close();
        pytorch.close();
    }

    private void assertSameAsPyTorch(String name, Function<NDArray, NDArray> op) {
        NDArray ours = op.apply(manager.create(data, shape));
        NDArray theirs = op.apply(pytorch.create(data, shape));
        Assert.assertEquals(ours.getShape(), theirs.getShape(), name);
        Assert.assertEquals(ours.getDataType(), theirs.getDataType(), name);
        Assert.assertEquals(ours.toByteArray(), theirs.toByteArray(), name);
    }

    @Test
    public void arithmeticAndMath() {
        assertSameAsPyTorch("add", x -> x.add(1.5f));
        assertSameAsPyTorch("mul", x -> x.mul(x));
        assertSameAsPyTorch("exp", NDArray::exp);
        assertSameAsPyTorch("erf", NDArray::erf);
        assertSameAsPyTorch("pow", x -> x.pow(2));
        assertSameAsPyTorch("sqrt", x -> x.abs().sqrt());
        assertSameAsPyTorch("div", x -> x.div(x.add(10f)));
    }

    @Test
    public void reductionsAndShapes() {
        assertSameAsPyTorch("sum", x -> x.sum(new int[] {1}));
        assertSameAsPyTorch("mean", x -> x.mean(new int[] {2}, true));
        assertSameAsPyTorch("max", x -> x.max(new int[] {0}));
        assertSameAsPyTorch("argMax", x -> x.argMax(2));
        assertSameAsPyTorch("softmax", x -> x.softmax(-1));
        assertSameAsPyTorch("get", x -> x.get(new NDIndex("1:, 2, ::2")));
        assertSameAsPyTorch("matMul", x -> x.matMul(x.transpose(0, 2, 1)));
        assertSameAsPyTorch("toType", x -> x.toType(DataType.INT32, false));
        assertSameAsPyTorch("concat", x -> NDArrays.concat(new NDList(x, x), 1));
        assertSameAsPyTorch("gt", x -> x.gt(0f));
    }

    /**
     * PyTorch answers some operations with a view of the buffer a QuantInt8 array lent it; the
     * result must stay right after that buffer is replaced (the next fallback on the same array)
     * and dropped (the array closed) and its memory reused.
     */
    @Test
    public void viewResultsOutliveTheLentBuffer() {
        assertOutlivesLentBuffer("broadcast", x -> x.broadcast(2, 3, 5, 7));
        assertOutlivesLentBuffer("split", x -> x.split(new long[] {1, 3}, 1).get(1));
        assertOutlivesLentBuffer("split sections", x -> x.split(3, 0).get(2));
        assertOutlivesLentBuffer("diagonal", x -> x.diagonal(1, 1, 2));
        assertOutlivesLentBuffer("toDense", NDArray::toDense);
    }

    private void assertOutlivesLentBuffer(String name, Function<NDArray, NDArray> op) {
        byte[] expected = op.apply(pytorch.create(data, shape)).toByteArray();
        NDArray x = manager.create(data, shape);
        NDArray result = op.apply(x);
        x.add(1f).close();
        x.close();
        FreedMemory.collectAndScribble(data.length * Float.BYTES);
        Assert.assertEquals(result.toByteArray(), expected, name);
    }

    @Test
    public void neuralNetworkOperators() {
        assertSameAsPyTorch("relu", Activation::relu);
        assertSameAsPyTorch("gelu", Activation::gelu);
        assertSameAsPyTorch("sigmoid", Activation::sigmoid);
        assertSameAsPyTorch("layerNorm", x -> x.getNDArrayInternal()
                .layerNorm(x, new Shape(7), x.getManager().ones(new Shape(7)),
                        x.getManager().zeros(new Shape(7)), 1e-5f).singletonOrThrow());
    }

    @Test
    public void neuralNetworkResultsStayInQuantInt8() {
        NDArray x = manager.create(data, shape);
        Assert.assertTrue(Activation.relu(x) instanceof QuantInt8NDArray);
        Assert.assertTrue(Activation.gelu(x) instanceof QuantInt8NDArray);
    }

    @Test
    public void creationFunctionsReturnQuantInt8Arrays() {
        NDArray r = manager.randomUniform(0, 1, new Shape(4, 4));
        Assert.assertTrue(r instanceof QuantInt8NDArray);
        Assert.assertEquals(manager.arange(0f, 5f, 1f, DataType.FLOAT32).toFloatArray(),
                new float[] {0, 1, 2, 3, 4});
        Assert.assertEquals(manager.ones(new Shape(2)).toFloatArray(), new float[] {1, 1});
        Assert.assertEquals(manager.zeros(new Shape(2)).toFloatArray(), new float[] {0, 0});
    }
}
