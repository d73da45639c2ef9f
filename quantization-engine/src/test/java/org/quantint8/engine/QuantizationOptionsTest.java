package org.quantint8.engine;

import org.quantint8.calibration.BudgetFallback;
import org.quantint8.calibration.Granularity;
import org.quantint8.calibration.QuantizationMode;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.util.Map;

public class QuantizationOptionsTest {

    @Test
    public void defaultsToDynamicPerChannel() {
        QuantizationOptions options = QuantizationOptions.of(Map.of("unrelated", "x"));
        Assert.assertTrue(options.isQuantized());
        Assert.assertTrue(options.isCacheEnabled());
        Assert.assertEquals(options.toConfig().getMode(), QuantizationMode.DYNAMIC);
        Assert.assertEquals(options.toConfig().getWeightGranularity(), Granularity.PER_CHANNEL);
        Assert.assertEquals(options.fingerprint(), "dynamic");
    }

    @Test
    public void readsEveryKey() {
        QuantizationOptions options = QuantizationOptions.of(Map.of(
                "quantization", "static", "activationObserver", "percentile:99.9",
                "weightGranularity", "tensor", "excludeLayers", "a, b*",
                "smoothQuant", "0.5", "minSqnrDb", "25", "quantizationCache", "false"));
        Assert.assertEquals(options.toConfig().getMode(), QuantizationMode.STATIC);
        Assert.assertEquals(options.toConfig().getWeightGranularity(), Granularity.PER_TENSOR);
        Assert.assertFalse(options.toConfig().getLayerFilter().accepts("a", "MatMul"));
        Assert.assertFalse(options.toConfig().getLayerFilter().accepts("bc", "MatMul"));
        Assert.assertTrue(options.toConfig().getLayerFilter().accepts("c", "MatMul"));
        Assert.assertEquals(options.toConfig().getSmoothQuantAlpha().getAsDouble(), 0.5);
        Assert.assertTrue(options.toConfig().getAccuracyBudget().isPresent());
        Assert.assertFalse(options.isCacheEnabled());
        Assert.assertFalse(QuantizationOptions.of(Map.of("quantization", "FP32")).isQuantized());
    }

    @Test
    public void fingerprintIgnoresCacheSettingsAndKeyOrder() {
        String a = QuantizationOptions.of(Map.of("quantization", "static",
                "activationObserver", "mse", "quantizationCacheDir", "/tmp/x")).fingerprint();
        String b = QuantizationOptions.of(Map.of("activationObserver", "mse",
                "quantization", "static")).fingerprint();
        Assert.assertEquals(a, b);
        Assert.assertNotEquals(a, QuantizationOptions.of(Map.of("quantization", "static"))
                .fingerprint());
    }

    @Test
    public void invalidValuesNameTheOption() {
        String[][] cases = {
            {"quantization", "int4"}, {"activationObserver", "median"},
            {"activationObserver", "percentile:x"}, {"weightGranularity", "row"},
            {"activationGranularity", "channel"},
            {"smoothQuant", "half"}, {"minSqnrDb", "many"}, {"budgetFallback", "int4"}
        };
        for (String[] c : cases) {
            IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                    () -> QuantizationOptions.of(Map.of(c[0], c[1])));
            Assert.assertTrue(e.getMessage().contains("'" + c[0] + "'"), e.getMessage());
        }
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationOptions.of(Map.of("smoothQuant", "7")));
        Assert.assertTrue(e.getMessage().contains("quantization options"), e.getMessage());
    }

    @Test
    public void activationGranularityIsReadAndFingerprinted() {
        QuantizationOptions token = QuantizationOptions.of(Map.of("activationGranularity", "token"));
        Assert.assertEquals(token.toConfig().getActivationGranularity(), Granularity.PER_TOKEN);
        Assert.assertEquals(QuantizationOptions.of(Map.of()).toConfig().getActivationGranularity(),
                Granularity.PER_TENSOR);
        Assert.assertNotEquals(token.fingerprint(), QuantizationOptions.of(Map.of()).fingerprint());
        Assert.assertNotEquals(token.fingerprint(),
                QuantizationOptions.of(Map.of("activationGranularity", "tensor")).fingerprint());
    }

    @Test
    public void perTokenNeedsDynamicMode() {
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationOptions.of(
                        Map.of("quantization", "static", "activationGranularity", "token")));
        Assert.assertTrue(e.getMessage().contains("dynamic mode"), e.getMessage());
        QuantizationOptions token = QuantizationOptions.of(Map.of("activationGranularity", "token"));
        // calibrate() turns plain dynamic options into static ones: not with per-token rows.
        Assert.expectThrows(IllegalArgumentException.class,
                () -> token.toConfig(QuantizationMode.STATIC));
    }

    @Test
    public void budgetFallbackIsReadAndFingerprinted() {
        QuantizationOptions token = QuantizationOptions.of(Map.of(
                "quantization", "static", "minSqnrDb", "20", "budgetFallback", "token"));
        Assert.assertEquals(token.toConfig().getBudgetFallback(), BudgetFallback.PER_TOKEN);
        Assert.assertEquals(token.toConfigWithoutSamples().getBudgetFallback(), BudgetFallback.FP32);
        QuantizationOptions fp32 = QuantizationOptions.of(Map.of(
                "quantization", "static", "minSqnrDb", "20"));
        Assert.assertEquals(fp32.toConfig().getBudgetFallback(), BudgetFallback.FP32);
        Assert.assertNotEquals(token.fingerprint(), fp32.fingerprint());
        IllegalArgumentException e = Assert.expectThrows(IllegalArgumentException.class,
                () -> QuantizationOptions.of(Map.of("budgetFallback", "token")));
        Assert.assertTrue(e.getMessage().contains("needs an accuracy budget"), e.getMessage());
    }

    @Test
    public void weightOnlyStaysWeightOnlyWithoutSamples() {
        QuantizationOptions options = QuantizationOptions.of(
                Map.of("quantization", "weightonly", "minSqnrDb", "30"));
        Assert.assertEquals(options.toConfig().getMode(), QuantizationMode.WEIGHT_ONLY);
        Assert.assertTrue(options.needsSamples());
        Assert.assertEquals(options.toConfigWithoutSamples().getMode(), QuantizationMode.WEIGHT_ONLY);
        Assert.assertNotEquals(options.fingerprint(), QuantizationOptions.of(Map.of()).fingerprint());
    }
}
