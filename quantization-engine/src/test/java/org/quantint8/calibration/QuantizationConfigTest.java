package org.quantint8.calibration;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertFalse;
import static org.testng.Assert.assertThrows;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.testng.annotations.Test;

/** Defaults, options and layer selection of {@link QuantizationConfig}. */
public class QuantizationConfigTest {

    @Test
    public void defaultsAreStaticU8S8() {
        QuantizationConfig config = QuantizationConfig.builder().build();
        assertEquals(config.getMode(), QuantizationMode.STATIC);
        assertEquals(config.getActivationScheme(), QuantizationScheme.ASYMMETRIC_UINT8);
        assertEquals(config.getWeightScheme(), QuantizationScheme.SYMMETRIC_INT8);
        assertEquals(config.getWeightGranularity(), Granularity.PER_CHANNEL);
        assertEquals(config.getActivationGranularity(), Granularity.PER_TENSOR);
        assertEquals(config.getActivationObserver().create("x", QuantizationScheme.ASYMMETRIC_UINT8).getDescription(), "mse");
        assertEquals(config.getWeightObserver().create("w", QuantizationScheme.SYMMETRIC_INT8).getDescription(), "min-max");
        assertTrue(config.getAccuracyBudget().isEmpty());
        assertTrue(config.getSmoothQuantAlpha().isEmpty());
        assertTrue(config.getLayerFilter().accepts("any.layer", "Conv2d"));
        QuantizationConfig dynamic = QuantizationConfig.builder().optMode(QuantizationMode.DYNAMIC).build();
        assertEquals(dynamic.getActivationObserver().create("x", QuantizationScheme.ASYMMETRIC_UINT8).getDescription(), "min-max");
    }

    @Test
    public void optionsAreKept() {
        QuantizationConfig config =
                QuantizationConfig.builder()
                        .optActivationObserver(ObserverFactory.percentile(99.9))
                        .optAccuracyBudget(AccuracyBudget.minSqnrDb(30))
                        .optSmoothQuant(0.8)
                        .build();
        assertEquals(config.getActivationObserver().create("x", QuantizationScheme.ASYMMETRIC_UINT8).getDescription(), "percentile(99.9)");
        assertEquals(config.getAccuracyBudget().orElseThrow().toString(), "output SQNR >= 30.0 dB");
        assertEquals(config.getSmoothQuantAlpha().getAsDouble(), 0.8);
    }

    @Test
    public void layersSelectedByNameGlobRegexAndOpType() {
        LayerFilter filter =
                QuantizationConfig.builder()
                        .optIncludeLayers("encoder.*", "regex:decoder\\.[0-9]+\\.fc", "head")
                        .optExcludeLayers("encoder.0.*")
                        .optExcludeOpTypes("layernorm")
                        .build()
                        .getLayerFilter();
        assertTrue(filter.accepts("encoder.3.attention.query", "Linear"));
        assertFalse(filter.accepts("encoder.0.attention.query", "Linear"), "excluded by glob");
        assertTrue(filter.accepts("decoder.12.fc", "Linear"));
        assertFalse(filter.accepts("decoder.x.fc", "Linear"), "regex needs digits");
        assertTrue(filter.accepts("head", "Linear"));
        assertFalse(filter.accepts("header", "Linear"), "a plain name matches exactly");
        assertFalse(filter.accepts("encoder.3.norm", "LayerNorm"), "excluded op type");
        LayerFilter byType = QuantizationConfig.builder().optIncludeOpTypes("Linear").build().getLayerFilter();
        assertTrue(byType.accepts("x", "linear"));
        assertFalse(byType.accepts("x", "Conv2d"));
    }

    @Test
    public void invalidOptionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder().optSmoothQuant(-0.1).build());
        assertThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder().optMode(null).build());
        assertThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder().optExcludeLayers("regex:[").build());
        assertThrows(IllegalArgumentException.class, () -> AccuracyBudget.minSqnrDb(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> AccuracyBudget.maxMetricDrop(OutputMetric.sqnrDb(), -1));
    }

    @Test
    public void granularitiesMustFitTheirTensorsAndMode() {
        QuantizationConfig perToken = QuantizationConfig.builder().optMode(QuantizationMode.DYNAMIC)
                .optActivationGranularity(Granularity.PER_TOKEN).build();
        assertEquals(perToken.getActivationGranularity(), Granularity.PER_TOKEN);
        assertThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder()
                .optMode(QuantizationMode.DYNAMIC).optActivationGranularity(Granularity.PER_CHANNEL)
                .build());
        assertThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder()
                .optWeightGranularity(Granularity.PER_TOKEN).build());
        assertThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder()
                .optMode(QuantizationMode.WEIGHT_ONLY).optActivationGranularity(Granularity.PER_TOKEN)
                .build());
    }

    @Test
    public void perTokenFallbackNeedsABudgetAndPerTensorActivations() {
        assertEquals(QuantizationConfig.builder().build().getBudgetFallback(), BudgetFallback.FP32);
        AccuracyBudget budget = AccuracyBudget.minSqnrDb(20);
        QuantizationConfig ok = QuantizationConfig.builder().optAccuracyBudget(budget)
                .optBudgetFallback(BudgetFallback.PER_TOKEN).build();
        assertEquals(ok.getBudgetFallback(), BudgetFallback.PER_TOKEN);
        String[][] cases = {
            {"STATIC", "none", "needs an accuracy budget"},
            {"WEIGHT_ONLY", "budget", "weight-only"},
            {"DYNAMIC", "budget token", "per token already"}
        };
        for (String[] c : cases) {
            QuantizationConfig.Builder b = QuantizationConfig.builder()
                    .optMode(QuantizationMode.valueOf(c[0]))
                    .optBudgetFallback(BudgetFallback.PER_TOKEN);
            if (c[1].startsWith("budget")) {
                b.optAccuracyBudget(budget);
            }
            if (c[1].endsWith("token")) {
                b.optActivationGranularity(Granularity.PER_TOKEN);
            }
            IllegalArgumentException e = expectThrows(IllegalArgumentException.class, b::build);
            assertTrue(e.getMessage().contains(c[2]), e.getMessage());
        }
        IllegalArgumentException e = expectThrows(IllegalArgumentException.class,
                () -> QuantizationConfig.builder().optBudgetFallback(null).build());
        assertTrue(e.getMessage().contains("budget fallback"), e.getMessage());
    }
}
