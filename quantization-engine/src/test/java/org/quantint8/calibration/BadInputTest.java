package org.quantint8.calibration;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertThrows;
import static org.testng.Assert.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.ndarray.QuantizationParameters;
import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Set;

/** Every kind of bad calibration input is handled safely or rejected with a clear message. */
public class BadInputTest {

    @DataProvider
    public Object[][] observers() {
        ObserverFactory[] factories = {
            ObserverFactory.minMax(), ObserverFactory.movingAverageMinMax(),
            ObserverFactory.percentile(99.99), ObserverFactory.entropy(), ObserverFactory.mse()
        };
        Object[][] cases = new Object[factories.length * 2][];
        int i = 0;
        for (ObserverFactory factory : factories) {
            for (QuantizationScheme scheme : QuantizationScheme.values()) {
                cases[i++] = new Object[] {factory, scheme};
            }
        }
        return cases;
    }

    private static void assertValid(QuantizationParameters params) {
        for (float scale : params.getScales()) {
            assertTrue(scale > 0 && Float.isFinite(scale), "scale " + scale);
        }
    }

    private static <T extends Throwable> void assertMessage(
            Class<T> type, String expectedPart, org.testng.Assert.ThrowingRunnable action) {
        T error = org.testng.Assert.expectThrows(type, action);
        assertTrue(error.getMessage().contains(expectedPart), error.getMessage());
    }

    @Test(dataProvider = "observers")
    public void emptyCalibrationSetIsRejected(ObserverFactory factory, QuantizationScheme scheme) {
        Observer observer = factory.create("conv1.out", scheme);
        assertMessage(IllegalStateException.class, "'conv1.out': no calibration data", observer::computeParameters);
        observer.observe(new float[0]);
        assertMessage(IllegalStateException.class, "batches were all empty", observer::computeParameters);
    }

    @Test(dataProvider = "observers")
    public void nonFiniteValuesAreCountedAndExcluded(ObserverFactory factory, QuantizationScheme scheme) {
        Observer observer = factory.create("x", scheme);
        observer.observe(new float[] {Float.NaN, -1f, Float.POSITIVE_INFINITY, 0.5f, 2f, Float.NEGATIVE_INFINITY});
        TensorStatistics stats = observer.getStatistics();
        assertEquals(stats.nanCount(), 1);
        assertEquals(stats.infiniteCount(), 2);
        assertEquals(stats.finiteCount(), 3);
        CalibrationRange range = observer.computeRange();
        assertTrue(range.min() >= -1f && range.max() <= 2f, range.toString());
        assertValid(observer.computeParameters());
    }

    @Test(dataProvider = "observers")
    public void allNonFiniteIsRejected(ObserverFactory factory, QuantizationScheme scheme) {
        Observer observer = factory.create("relu3", scheme);
        observer.observe(new float[] {Float.NaN, Float.POSITIVE_INFINITY});
        assertMessage(IllegalStateException.class, "'relu3': all 2 observed values are non-finite (1 NaN, 1 infinite)", observer::computeRange);
    }

    @Test(dataProvider = "observers")
    public void constantTensorsGetValidScales(ObserverFactory factory, QuantizationScheme scheme) {
        for (float constant : new float[] {0f, 3f, -2f}) {
            Observer observer = factory.create("const", scheme);
            observer.observe(new float[] {constant, constant, constant, constant});
            observer.observe(new float[] {constant});
            QuantizationParameters params = observer.computeParameters();
            assertValid(params);
            float restored = QuantizationError.fakeQuantize(new float[] {constant}, params)[0];
            assertEquals(restored, constant, params.getScale(0) / 2 + 1e-6, "constant " + constant);
        }
    }

    @Test(dataProvider = "observers")
    public void singleSampleIsEnough(ObserverFactory factory, QuantizationScheme scheme) {
        Observer observer = factory.create("one", scheme);
        observer.observe(new float[] {1.5f});
        QuantizationParameters params = observer.computeParameters();
        assertValid(params);
        assertEquals(QuantizationError.fakeQuantize(new float[] {1.5f}, params)[0], 1.5f, params.getScale(0));
    }

    @Test(dataProvider = "observers")
    public void perTensorAcceptsChangingShapes(ObserverFactory factory, QuantizationScheme scheme) {
        Observer observer = factory.create("x", scheme);
        observer.observe(new float[] {1f, 2f, 3f});
        observer.observe(new float[] {-4f, 5f, 6f, 7f, 8f, 9f, 10f});
        assertValid(observer.computeParameters());
    }

    @Test
    public void perChannelRejectsChangedChannelDimension() {
        PerChannelObserver observer =
                new PerChannelObserver("fc.weight", QuantizationScheme.SYMMETRIC_INT8, 1, ObserverFactory.minMax());
        observer.observe(new float[6], new Shape(2, 3));
        observer.observe(new float[9], new Shape(3, 3)); // another batch size is fine
        assertMessage(IllegalArgumentException.class, "'fc.weight': channel dimension (axis 1) changed from 3 to 4",
                () -> observer.observe(new float[8], new Shape(2, 4)));
        assertMessage(IllegalArgumentException.class, "has no channel axis 1",
                () -> observer.observe(new float[3], new Shape(3)));
        assertMessage(IllegalArgumentException.class, "does not hold 5 values",
                () -> observer.observe(new float[5], new Shape(2, 3)));
        assertValid(observer.computeParameters());
        assertMessage(IllegalStateException.class, "'w': no calibration data",
                new PerChannelObserver("w", QuantizationScheme.SYMMETRIC_INT8, 0, ObserverFactory.minMax())::computeParameters);
    }

    @Test
    public void perChannelSplitsChannelsOnAnyAxis() {
        PerChannelObserver observer =
                new PerChannelObserver("x", QuantizationScheme.SYMMETRIC_INT8, 1, ObserverFactory.minMax());
        // [2, 2, 2]: channel 0 holds 1, 2, 5, 6; channel 1 holds 3, 4, 7, 8.
        observer.observe(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, new Shape(2, 2, 2));
        assertEquals(observer.absMax(), new float[] {6f, 8f});
        QuantizationParameters params = observer.computeParameters();
        assertEquals(params.getAxis(), 1);
        assertEquals(params.getScale(1), 8f / 127, 1e-7);
    }

    @Test
    public void ndArraysMustBeFloat32() {
        Observer observer = ObserverFactory.minMax().create("embedding.out", QuantizationScheme.ASYMMETRIC_UINT8);
        observer.observe(fakeArray(DataType.FLOAT32, new float[] {-1f, 2f}));
        assertEquals(observer.computeRange(), new CalibrationRange(-1f, 2f));
        assertMessage(IllegalArgumentException.class, "'embedding.out': calibration observes FLOAT32 arrays, got float16",
                () -> observer.observe(fakeArray(DataType.FLOAT16, new float[] {1f})));
    }

    @Test
    public void badSlicesAndArgumentsAreRejected() {
        Observer observer = ObserverFactory.mse().create("x", QuantizationScheme.SYMMETRIC_INT8);
        assertMessage(IllegalArgumentException.class, "'x': slice [offset 2, length 3]",
                () -> observer.observe(new float[4], 2, 3));
        assertMessage(IllegalArgumentException.class, "'x': values are null", () -> observer.observe((float[]) null));
        assertThrows(IllegalArgumentException.class, () -> ObserverFactory.percentile(0));
        assertThrows(IllegalArgumentException.class, () -> ObserverFactory.movingAverageMinMax(1.5).create("x", QuantizationScheme.SYMMETRIC_INT8));
        assertMessage(IllegalArgumentException.class, "Layer 'fc': 5 weights do not form a [2, 3] matrix",
                () -> new SmoothQuant(0.5).apply("fc", new float[3], new float[5], 2, 3));
        assertMessage(IllegalArgumentException.class, "Layer 'fc': activation max of input channel 1",
                () -> new SmoothQuant(0.5).apply("fc", new float[] {1f, Float.NaN}, new float[4], 2, 2));
        assertThrows(IllegalArgumentException.class, () -> new SmoothQuant(1.5));
    }

    @Test
    public void mixedPrecisionRejectsEmptyCalibrationSet() {
        LayerwiseQuantizableModel empty =
                new LayerwiseQuantizableModel() {
                    @Override
                    public List<String> getQuantizableLayers() {
                        return List.of("fc0");
                    }

                    @Override
                    public List<float[]> run(Set<String> quantizedLayers) {
                        return List.of();
                    }
                };
        assertMessage(IllegalArgumentException.class, "empty calibration set",
                () -> MixedPrecisionPlanner.plan(empty, AccuracyBudget.minSqnrDb(30)));
    }

    /** A FLOAT32 or FLOAT16 array without an engine: only what observers call is answered. */
    private static NDArray fakeArray(DataType type, float[] values) {
        return (NDArray)
                Proxy.newProxyInstance(
                        NDArray.class.getClassLoader(),
                        new Class<?>[] {NDArray.class},
                        (proxy, method, args) ->
                                switch (method.getName()) {
                                    case "getDataType" -> type;
                                    case "toFloatArray" -> values.clone();
                                    case "getShape" -> new Shape(values.length);
                                    default -> throw new UnsupportedOperationException(method.getName());
                                });
    }
}
