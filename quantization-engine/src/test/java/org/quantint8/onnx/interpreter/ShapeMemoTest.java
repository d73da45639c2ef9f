package org.quantint8.onnx.interpreter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxDimension;
import org.quantint8.onnx.OnnxGraph;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxNode;
import org.quantint8.onnx.OnnxTensor;
import org.quantint8.onnx.OnnxValueInfo;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Nodes that compute from shapes run once per shape: a run that meets a shape seen before takes
 * the remembered results, a new shape is computed anew (never a stale result), and a remembered
 * array that an operator hands back stays the memo's.
 */
public class ShapeMemoTest {

    /**
     * y = Pass(Reshape(x, Concat([-1], Unsqueeze(Gather(Shape(x), 0), [0])))): x [a, b] is
     * reshaped to [-1, a], that is [b, a]; z = Pass(the Concat), a remembered value handed back.
     */
    private static OnnxModel model() {
        List<OnnxDimension> dims =
                List.of(OnnxDimension.symbolic("a"), OnnxDimension.symbolic("b"));
        OnnxGraph graph = OnnxGraph.builder()
                .addInput(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, dims))
                .addInitializer(OnnxTensor.of("first", new long[] {0}))
                .addInitializer(OnnxTensor.of("axes", new long[] {0}, 1))
                .addInitializer(OnnxTensor.of("minus", new long[] {-1}, 1))
                .addNode(node("Shape", "x", "shape"))
                .addNode(node("Gather", "shape", "first", "a"))
                .addNode(node("Unsqueeze", "a", "axes", "a1"))
                .addNode(node("Concat", "minus", "a1", "target", "axis"))
                .addNode(node("Reshape", "x", "target", "reshaped"))
                .addNode(OnnxNode.builder().setOpType("Pass").optDomain("test")
                        .addInput("reshaped").addOutput("y").build())
                .addNode(OnnxNode.builder().setOpType("Pass").optDomain("test")
                        .addInput("target").addOutput("z").build())
                .addOutput(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2))
                .addOutput(OnnxValueInfo.tensor("z", OnnxDataType.INT64, 2))
                .build();
        return OnnxModel.builder().setGraph(graph).addOpsetImport("", 13)
                .addOpsetImport("test", 1).build();
    }

    /** A node of the default domain; a trailing "axis" adds Concat's axis 0. */
    private static OnnxNode node(String type, String... names) {
        boolean axis = names[names.length - 1].equals("axis");
        int outputs = axis ? names.length - 2 : names.length - 1;
        OnnxNode.Builder builder = OnnxNode.builder().setOpType(type);
        for (int i = 0; i < outputs; i++) {
            builder.addInput(names[i]);
        }
        builder.addOutput(names[outputs]);
        if (axis) {
            builder.addAttribute(OnnxAttribute.ofInt("axis", 0));
        }
        return builder.build();
    }

    /** The built-in operators, Unsqueeze counted, and Pass handing its input back as it is. */
    private static OperatorRegistry registry(AtomicInteger unsqueezes) {
        OperatorRegistry registry = OperatorRegistry.builtIn();
        OnnxOperator unsqueeze = registry.find("", "Unsqueeze").orElseThrow();
        return registry
                .register("", "Unsqueeze", (context, node, inputs) -> {
                    unsqueezes.incrementAndGet();
                    return unsqueeze.apply(context, node, inputs);
                })
                .register("test", "Pass", (context, node, inputs) -> new NDList(inputs.get(0)));
    }

    private static NDList run(OnnxBlock block, QuantInt8NDManager manager, long a, long b) {
        NDArray x = manager.arange(0f, a * b).reshape(a, b);
        return block.forward(new ParameterStore(manager, false), new NDList(x), false);
    }

    private static void check(NDList out, long a, long b) {
        Assert.assertEquals(out.get(0).getShape(), new Shape(b, a),
                "y for x [" + a + ", " + b + "]");
        Assert.assertEquals(out.get(1).toLongArray(), new long[] {-1, a});
        float[] y = out.get(0).toFloatArray();
        for (int i = 0; i < y.length; i++) {
            Assert.assertEquals(y[i], i, "y keeps x's elements in order");
        }
    }

    @Test
    public void aShapeSeenBeforeTakesTheRememberedResultsAndANewOneIsComputed()
            throws Exception {
        AtomicInteger unsqueezes = new AtomicInteger();
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model(), "memo", manager,
                    registry(unsqueezes), false);
            check(run(block, manager, 2, 6), 2, 6);
            Assert.assertEquals(unsqueezes.get(), 1);
            check(run(block, manager, 2, 6), 2, 6);
            Assert.assertEquals(unsqueezes.get(), 1, "the same shape: remembered");
            check(run(block, manager, 3, 4), 3, 4);
            Assert.assertEquals(unsqueezes.get(), 2, "a new shape: computed");
            check(run(block, manager, 2, 5), 2, 5);
            Assert.assertEquals(unsqueezes.get(), 3,
                    "keys follow the shape that Shape read, not the values computed from it");
            check(run(block, manager, 2, 6), 2, 6);
            check(run(block, manager, 3, 4), 3, 4);
            Assert.assertEquals(unsqueezes.get(), 3);
        }
    }

    @Test
    public void aFullMemoStillGivesTheRightResults() throws Exception {
        AtomicInteger unsqueezes = new AtomicInteger();
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model(), "memo", manager,
                    registry(unsqueezes), false);
            int shapes = ShapeMemo.MAX_ENTRIES + 6;
            for (int round = 0; round < 2; round++) {
                for (int a = 1; a <= shapes; a++) {
                    check(run(block, manager, a, 2), a, 2);
                }
            }
            Assert.assertEquals(unsqueezes.get(), shapes + 6,
                    "the first MAX_ENTRIES shapes remembered, the last six computed each time");
        }
    }

    @Test
    public void runsOnSeveralThreadsShareTheMemo() throws Exception {
        AtomicInteger unsqueezes = new AtomicInteger();
        try (QuantInt8NDManager manager =
                (QuantInt8NDManager) Engine.getEngine("QuantInt8").newBaseManager()) {
            OnnxBlock block = OnnxBlock.newInstance(model(), "memo", manager,
                    registry(unsqueezes), false);
            List<Callable<Void>> tasks = new ArrayList<>();
            for (int thread = 0; thread < 4; thread++) {
                int seed = thread;
                tasks.add(() -> {
                    Random random = new Random(seed);
                    for (int i = 0; i < 100; i++) {
                        long a = 1 + random.nextInt(6);
                        long b = 1 + random.nextInt(3);
                        try (QuantInt8NDManager own = manager.newSubManager(manager.getDevice())) {
                            check(run(block, own, a, b), a, b);
                        }
                    }
                    return null;
                });
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                for (Future<Void> result : pool.invokeAll(tasks)) {
                    result.get();
                }
            } finally {
                pool.shutdown();
            }
            // 18 shapes; each is computed at most once per thread before one of them keeps it.
            Assert.assertTrue(unsqueezes.get() >= 1 && unsqueezes.get() <= 18 * 4,
                    unsqueezes.toString());
        }
    }

    @Test
    public void nodesThatDoNotComputeFromShapesHaveNoMemo() {
        OnnxNode gatherOfInput = OnnxNode.builder().setOpType("Gather").addInput("x", "i")
                .addOutput("g").build();
        Assert.assertNull(ShapeMemo.of(gatherOfInput, new boolean[] {false, true}, false, null),
                "x is an input, not a shape");
        OnnxNode shape = OnnxNode.builder().setOpType("Shape").addInput("x").addOutput("s")
                .build();
        Assert.assertNull(ShapeMemo.of(shape, new boolean[] {false}, true, null),
                "a graph output is never a memo's");
        OnnxNode matMul = OnnxNode.builder().setOpType("MatMul").addInput("s", "s")
                .addOutput("m").build();
        Assert.assertNull(ShapeMemo.of(matMul, new boolean[] {true, true}, false, null),
                "not a shape operator");
    }
}
