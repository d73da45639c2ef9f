package org.quantint8.engine;

import org.quantint8.calibration.AccuracyBudget;
import org.quantint8.calibration.BudgetFallback;
import org.quantint8.calibration.Granularity;
import org.quantint8.calibration.ObserverFactory;
import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The load-time quantization settings a DJL application gives as {@code Criteria.optOption(key,
 * value)}. Every key is optional:
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>key</th><th>values</th><th>default</th></tr>
 *   <tr><td>{@code quantization}</td><td>{@code dynamic}, {@code static}, {@code weightonly}
 *       (INT8 weights, FP32 activations and operators), {@code fp32} (no quantization)</td>
 *       <td>{@code dynamic}</td></tr>
 *   <tr><td>{@code activationObserver}</td><td>{@code minmax}, {@code movingaverage},
 *       {@code percentile[:P]}, {@code entropy}, {@code mse}</td><td>{@code mse}</td></tr>
 *   <tr><td>{@code weightGranularity}</td><td>{@code channel}, {@code tensor}</td>
 *       <td>{@code channel}</td></tr>
 *   <tr><td>{@code activationGranularity}</td><td>{@code tensor}, {@code token} (one range per
 *       row, measured per call: dynamic mode only, rejected with {@code static} and by {@code
 *       calibrate})</td><td>{@code tensor}</td></tr>
 *   <tr><td>{@code excludeLayers}</td><td>comma-separated names or globs</td><td>none</td></tr>
 *   <tr><td>{@code excludeOpTypes}</td><td>comma-separated op types, e.g. {@code Gather}</td>
 *       <td>none</td></tr>
 *   <tr><td>{@code smoothQuant}</td><td>alpha in [0, 1]</td><td>off</td></tr>
 *   <tr><td>{@code minSqnrDb}</td><td>the output SQNR budget of mixed precision</td><td>off</td></tr>
 *   <tr><td>{@code budgetFallback}</td><td>{@code fp32} (the layers the budget cannot afford stay
 *       FP32), {@code token} (they stay INT8 and quantize their input per token, measured per
 *       call; needs {@code minSqnrDb} and per-tensor activations)</td><td>{@code fp32}</td></tr>
 *   <tr><td>{@code quantizationCache}</td><td>{@code true}, {@code false}</td><td>{@code true}</td></tr>
 *   <tr><td>{@code quantizationCacheDir}</td><td>a folder</td><td>DJL's cache folder</td></tr>
 *   <tr><td>{@code requantize}</td><td>{@code true}, {@code false}: whether a model that is
 *       already quantized (integer, {@code QLinear*} or QDQ weight nodes) has its remaining FP32
 *       layers quantized too; by default it runs as it is</td><td>{@code false}</td></tr>
 * </table>
 */
public final class QuantizationOptions {

    /** The option selecting the mode. */
    public static final String MODE = "quantization";
    /** The option selecting the activation observer of static mode. */
    public static final String ACTIVATION_OBSERVER = "activationObserver";
    /** The option selecting per-channel or per-tensor weights. */
    public static final String WEIGHT_GRANULARITY = "weightGranularity";
    /** The option selecting per-tensor or per-token activations of dynamic mode. */
    public static final String ACTIVATION_GRANULARITY = "activationGranularity";
    /** The option listing layers kept in FP32. */
    public static final String EXCLUDE_LAYERS = "excludeLayers";
    /** The option listing op types kept in FP32. */
    public static final String EXCLUDE_OP_TYPES = "excludeOpTypes";
    /** The option enabling SmoothQuant with an alpha. */
    public static final String SMOOTH_QUANT = "smoothQuant";
    /** The option setting the SQNR budget of mixed precision. */
    public static final String MIN_SQNR_DB = "minSqnrDb";
    /** The option choosing what the layers that the SQNR budget cannot afford become. */
    public static final String BUDGET_FALLBACK = "budgetFallback";
    /** The option turning the quantized-model cache on or off. */
    public static final String CACHE = "quantizationCache";
    /** The option choosing the cache folder. */
    public static final String CACHE_DIR = "quantizationCacheDir";
    /** The option asking to quantize what an already quantized model left in FP32. */
    public static final String REQUANTIZE = "requantize";

    private static final String[] QUANTIZATION_KEYS = {
        MODE, ACTIVATION_OBSERVER, WEIGHT_GRANULARITY, ACTIVATION_GRANULARITY, EXCLUDE_LAYERS,
        EXCLUDE_OP_TYPES, SMOOTH_QUANT, MIN_SQNR_DB, BUDGET_FALLBACK
    };

    private final Map<String, String> values;

    private QuantizationOptions(Map<String, String> values) {
        this.values = values;
    }

    /**
     * Reads the quantization options from a model's load options, ignoring other keys.
     *
     * @param options the load options, may be null
     * @return the options
     * @throws IllegalArgumentException naming the option if a value is invalid
     */
    public static QuantizationOptions of(Map<String, ?> options) {
        Map<String, String> values = new TreeMap<>();
        if (options != null) {
            for (String key : QUANTIZATION_KEYS) {
                Object v = options.get(key);
                if (v != null && !v.toString().isBlank()) {
                    values.put(key, v.toString().trim());
                }
            }
            for (String key : new String[] {CACHE, CACHE_DIR, REQUANTIZE}) {
                Object v = options.get(key);
                if (v != null) {
                    values.put(key, v.toString().trim());
                }
            }
        }
        String requantize = values.getOrDefault(REQUANTIZE, "false");
        if (!requantize.equalsIgnoreCase("true") && !requantize.equalsIgnoreCase("false")) {
            throw invalid(REQUANTIZE, requantize, "true or false");
        }
        QuantizationOptions parsed = new QuantizationOptions(values);
        parsed.toConfig(); // validate every value now, with the option's name in the message
        return parsed;
    }

    /**
     * Returns whether the model is quantized at all.
     *
     * @return {@code false} for {@code quantization=fp32}
     */
    public boolean isQuantized() {
        return !mode().equals("fp32");
    }

    /**
     * Returns whether quantized models are cached.
     *
     * @return the {@code quantizationCache} option, true by default
     */
    public boolean isCacheEnabled() {
        return !"false".equalsIgnoreCase(values.getOrDefault(CACHE, "true"));
    }

    /**
     * Returns whether a model that is already quantized has its remaining FP32 layers quantized.
     *
     * @return the {@code requantize} option, false by default
     */
    public boolean isRequantize() {
        return "true".equalsIgnoreCase(values.get(REQUANTIZE));
    }

    /**
     * Returns the cache folder option.
     *
     * @return the folder, or null for the default
     */
    public String getCacheDir() {
        return values.get(CACHE_DIR);
    }

    /**
     * Returns a canonical text of the settings that change the quantized model, part of the
     * cache key.
     *
     * @return the settings, sorted by key
     */
    public String fingerprint() {
        StringBuilder sb = new StringBuilder(mode());
        for (String key : QUANTIZATION_KEYS) {
            if (!key.equals(MODE) && values.containsKey(key)) {
                sb.append(';').append(key).append('=').append(values.get(key));
            }
        }
        return sb.toString();
    }

    /**
     * Returns the quantization configuration these options describe.
     *
     * @return the configuration
     * @throws IllegalArgumentException naming the option if a value is invalid
     */
    public QuantizationConfig toConfig() {
        String mode = mode();
        return switch (mode) {
            case "dynamic", "fp32" -> toConfig(QuantizationMode.DYNAMIC);
            case "static" -> toConfig(QuantizationMode.STATIC);
            case "weightonly" -> toConfig(QuantizationMode.WEIGHT_ONLY);
            default -> throw invalid(MODE, mode, "dynamic, static, weightonly or fp32");
        };
    }

    /**
     * Returns the quantization configuration these options describe, in a given mode.
     *
     * @param quantizationMode the mode, whatever the {@code quantization} option says
     * @return the configuration
     * @throws IllegalArgumentException naming the option if a value is invalid
     */
    public QuantizationConfig toConfig(QuantizationMode quantizationMode) {
        return toConfig(quantizationMode, true);
    }

    /**
     * Returns whether these options ask for something only calibration samples make possible:
     * static mode, SmoothQuant or an accuracy budget.
     *
     * @return {@code true} if samples are needed
     */
    public boolean needsSamples() {
        return mode().equals("static")
                || values.containsKey(SMOOTH_QUANT)
                || values.containsKey(MIN_SQNR_DB);
    }

    /**
     * Returns the configuration these options allow without calibration samples: SmoothQuant and
     * the accuracy budget left out, static mode replaced by dynamic; weight-only stays weight-only.
     *
     * @return the configuration
     */
    public QuantizationConfig toConfigWithoutSamples() {
        boolean weightOnly = mode().equals("weightonly");
        return toConfig(weightOnly ? QuantizationMode.WEIGHT_ONLY : QuantizationMode.DYNAMIC, false);
    }

    private QuantizationConfig toConfig(QuantizationMode quantizationMode, boolean samples) {
        QuantizationConfig.Builder b = QuantizationConfig.builder().optMode(quantizationMode);
        String observer = values.get(ACTIVATION_OBSERVER);
        if (observer != null) {
            b.optActivationObserver(observer(observer));
        }
        String granularity = values.getOrDefault(WEIGHT_GRANULARITY, "channel");
        switch (granularity.toLowerCase(Locale.ROOT)) {
            case "channel" -> b.optWeightGranularity(Granularity.PER_CHANNEL);
            case "tensor" -> b.optWeightGranularity(Granularity.PER_TENSOR);
            default -> throw invalid(WEIGHT_GRANULARITY, granularity, "channel or tensor");
        }
        String activations = values.getOrDefault(ACTIVATION_GRANULARITY, "tensor");
        switch (activations.toLowerCase(Locale.ROOT)) {
            case "tensor" -> b.optActivationGranularity(Granularity.PER_TENSOR);
            case "token" -> b.optActivationGranularity(Granularity.PER_TOKEN);
            default -> throw invalid(ACTIVATION_GRANULARITY, activations, "tensor or token");
        }
        if (values.containsKey(EXCLUDE_LAYERS)) {
            b.optExcludeLayers(values.get(EXCLUDE_LAYERS).split("\\s*,\\s*"));
        }
        if (values.containsKey(EXCLUDE_OP_TYPES)) {
            b.optExcludeOpTypes(values.get(EXCLUDE_OP_TYPES).split("\\s*,\\s*"));
        }
        if (samples && values.containsKey(SMOOTH_QUANT)) {
            b.optSmoothQuant(number(SMOOTH_QUANT));
        }
        if (samples && values.containsKey(MIN_SQNR_DB)) {
            b.optAccuracyBudget(AccuracyBudget.minSqnrDb(number(MIN_SQNR_DB)));
        }
        BudgetFallback fallback = budgetFallback();
        if (samples) {
            b.optBudgetFallback(fallback); // without samples there is no budget to fall back from
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Invalid quantization options " + values + ": "
                    + e.getMessage(), e);
        }
    }

    private BudgetFallback budgetFallback() {
        String value = values.getOrDefault(BUDGET_FALLBACK, "fp32");
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "fp32" -> BudgetFallback.FP32;
            case "token" -> BudgetFallback.PER_TOKEN;
            default -> throw invalid(BUDGET_FALLBACK, value, "fp32 or token");
        };
    }

    private String mode() {
        return values.getOrDefault(MODE, "dynamic").toLowerCase(Locale.ROOT);
    }

    private static ObserverFactory observer(String value) {
        String v = value.toLowerCase(Locale.ROOT);
        if (v.startsWith("percentile")) {
            if (v.equals("percentile")) {
                return ObserverFactory.percentile(99.99);
            }
            if (v.startsWith("percentile:")) {
                try {
                    return ObserverFactory.percentile(Double.parseDouble(v.substring(11)));
                } catch (NumberFormatException e) {
                    throw invalid(ACTIVATION_OBSERVER, value, "percentile:<number>");
                }
            }
        }
        return switch (v) {
            case "minmax" -> ObserverFactory.minMax();
            case "movingaverage" -> ObserverFactory.movingAverageMinMax();
            case "entropy" -> ObserverFactory.entropy();
            case "mse" -> ObserverFactory.mse();
            default -> throw invalid(ACTIVATION_OBSERVER, value,
                    "minmax, movingaverage, percentile[:P], entropy or mse");
        };
    }

    private double number(String key) {
        String v = values.get(key);
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw invalid(key, v, "a number");
        }
    }

    private static IllegalArgumentException invalid(String key, String value, String allowed) {
        return new IllegalArgumentException(
                "Option '" + key + "' is '" + value + "'; expected " + allowed);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return fingerprint();
    }
}
