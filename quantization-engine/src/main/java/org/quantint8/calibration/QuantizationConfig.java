package org.quantint8.calibration;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * What to quantize and how. Every field has a default, so {@code
 * QuantizationConfig.builder().build()} is a working configuration:
 *
 * <ul>
 *   <li>mode {@link QuantizationMode#STATIC};
 *   <li>activations {@link QuantizationScheme#ASYMMETRIC_UINT8} {@link Granularity#PER_TENSOR}
 *       (dynamic mode may choose {@link Granularity#PER_TOKEN}), weights {@link
 *       QuantizationScheme#SYMMETRIC_INT8} {@link Granularity#PER_CHANNEL} (the U8S8 scheme of
 *       x86 VNNI kernels and ONNX Runtime);
 *   <li>activation observer {@link ObserverFactory#mse()} in static mode (the least total error,
 *       robust to outliers) and {@link ObserverFactory#minMax()} in dynamic mode (a range scan is
 *       all a per-call range can afford); weight observer {@link ObserverFactory#minMax()}
 *       (weights are known exactly and per-channel ranges are already tight);
 *   <li>every layer and operator type selected, none excluded;
 *   <li>no accuracy budget (no FP32 fallback search, which costs a model run per layer; with a
 *       budget, the layers it cannot afford stay in {@link BudgetFallback#FP32}) and no
 *       SmoothQuant.
 * </ul>
 */
public final class QuantizationConfig {

    /** The SmoothQuant migration strength of the SmoothQuant paper, used when none is given. */
    public static final double DEFAULT_SMOOTH_QUANT_ALPHA = SmoothQuant.DEFAULT_ALPHA;

    private final QuantizationMode mode;
    private final QuantizationScheme activationScheme;
    private final QuantizationScheme weightScheme;
    private final Granularity weightGranularity;
    private final Granularity activationGranularity;
    private final ObserverFactory activationObserver;
    private final ObserverFactory weightObserver;
    private final LayerFilter layerFilter;
    private final AccuracyBudget accuracyBudget;
    private final BudgetFallback budgetFallback;
    private final Double smoothQuantAlpha;

    private QuantizationConfig(Builder builder) {
        mode = builder.mode;
        activationScheme = builder.activationScheme;
        weightScheme = builder.weightScheme;
        weightGranularity = builder.weightGranularity;
        activationGranularity = builder.activationGranularity;
        activationObserver =
                builder.activationObserver != null
                        ? builder.activationObserver
                        : mode == QuantizationMode.STATIC
                                ? ObserverFactory.mse()
                                : ObserverFactory.minMax();
        weightObserver = builder.weightObserver;
        layerFilter =
                new LayerFilter(
                        List.copyOf(builder.includedLayers),
                        List.copyOf(builder.excludedLayers),
                        List.copyOf(builder.includedOpTypes),
                        List.copyOf(builder.excludedOpTypes));
        accuracyBudget = builder.accuracyBudget;
        budgetFallback = builder.budgetFallback;
        smoothQuantAlpha = builder.smoothQuantAlpha;
    }

    /**
     * Returns a builder with every default set.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns when activation ranges are decided.
     *
     * @return the mode
     */
    public QuantizationMode getMode() {
        return mode;
    }

    /**
     * Returns the scheme of activations.
     *
     * @return the activation scheme
     */
    public QuantizationScheme getActivationScheme() {
        return activationScheme;
    }

    /**
     * Returns the scheme of weights.
     *
     * @return the weight scheme
     */
    public QuantizationScheme getWeightScheme() {
        return weightScheme;
    }

    /**
     * Returns whether weights have one scale per output channel.
     *
     * @return the weight granularity
     */
    public Granularity getWeightGranularity() {
        return weightGranularity;
    }

    /**
     * Returns whether an activation has one range per tensor or, in dynamic mode, one per token
     * (row of the last axis). Either way the activation scale factors out of every dot product.
     *
     * @return {@link Granularity#PER_TENSOR} or {@link Granularity#PER_TOKEN}
     */
    public Granularity getActivationGranularity() {
        return activationGranularity;
    }

    /**
     * Returns the factory of activation observers.
     *
     * @return the factory
     */
    public ObserverFactory getActivationObserver() {
        return activationObserver;
    }

    /**
     * Returns the factory of weight observers (per channel or per tensor, see {@link
     * #getWeightGranularity()}).
     *
     * @return the factory
     */
    public ObserverFactory getWeightObserver() {
        return weightObserver;
    }

    /**
     * Returns the layer selection.
     *
     * @return the filter
     */
    public LayerFilter getLayerFilter() {
        return layerFilter;
    }

    /**
     * Returns the accuracy budget that drives FP32 fallback, if any.
     *
     * @return the budget, empty for none
     */
    public Optional<AccuracyBudget> getAccuracyBudget() {
        return Optional.ofNullable(accuracyBudget);
    }

    /**
     * Returns what happens to a layer the accuracy budget cannot afford: it stays in FP32 (the
     * default), or stays INT8 with its input quantized per token.
     *
     * @return the fallback
     */
    public BudgetFallback getBudgetFallback() {
        return budgetFallback;
    }

    /**
     * Returns the SmoothQuant migration strength, if SmoothQuant is enabled.
     *
     * @return alpha, empty when disabled
     */
    public OptionalDouble getSmoothQuantAlpha() {
        return smoothQuantAlpha == null ? OptionalDouble.empty() : OptionalDouble.of(smoothQuantAlpha);
    }

    /** The builder of {@link QuantizationConfig}; every option has a default. */
    public static final class Builder {

        private QuantizationMode mode = QuantizationMode.STATIC;
        private QuantizationScheme activationScheme = QuantizationScheme.ASYMMETRIC_UINT8;
        private QuantizationScheme weightScheme = QuantizationScheme.SYMMETRIC_INT8;
        private Granularity weightGranularity = Granularity.PER_CHANNEL;
        private Granularity activationGranularity = Granularity.PER_TENSOR;
        private ObserverFactory activationObserver;
        private ObserverFactory weightObserver = ObserverFactory.minMax();
        private final List<String> includedLayers = new ArrayList<>();
        private final List<String> excludedLayers = new ArrayList<>();
        private final List<String> includedOpTypes = new ArrayList<>();
        private final List<String> excludedOpTypes = new ArrayList<>();
        private AccuracyBudget accuracyBudget;
        private BudgetFallback budgetFallback = BudgetFallback.FP32;
        private Double smoothQuantAlpha;

        Builder() {}

        /**
         * Sets when activation ranges are decided.
         *
         * @param mode the mode
         * @return this builder
         */
        public Builder optMode(QuantizationMode mode) {
            this.mode = mode;
            return this;
        }

        /**
         * Sets the activation scheme.
         *
         * @param scheme the scheme
         * @return this builder
         */
        public Builder optActivationScheme(QuantizationScheme scheme) {
            this.activationScheme = scheme;
            return this;
        }

        /**
         * Sets the weight scheme.
         *
         * @param scheme the scheme
         * @return this builder
         */
        public Builder optWeightScheme(QuantizationScheme scheme) {
            this.weightScheme = scheme;
            return this;
        }

        /**
         * Sets whether weights get one scale per output channel.
         *
         * @param granularity the granularity
         * @return this builder
         */
        public Builder optWeightGranularity(Granularity granularity) {
            this.weightGranularity = granularity;
            return this;
        }

        /**
         * Sets whether activations get one range per tensor or one per token. {@link
         * Granularity#PER_TOKEN} measures the range of every row of the last axis on every call,
         * so it needs {@link QuantizationMode#DYNAMIC}; it applies to {@code MatMul} and {@code
         * Gemm} inputs, while {@code Conv} inputs stay per tensor.
         *
         * @param granularity {@link Granularity#PER_TENSOR} (the default) or {@link
         *     Granularity#PER_TOKEN}
         * @return this builder
         */
        public Builder optActivationGranularity(Granularity granularity) {
            this.activationGranularity = granularity;
            return this;
        }

        /**
         * Sets the factory of activation observers.
         *
         * @param factory the factory
         * @return this builder
         */
        public Builder optActivationObserver(ObserverFactory factory) {
            this.activationObserver = factory;
            return this;
        }

        /**
         * Sets the factory of weight observers.
         *
         * @param factory the factory
         * @return this builder
         */
        public Builder optWeightObserver(ObserverFactory factory) {
            this.weightObserver = factory;
            return this;
        }

        /**
         * Restricts quantization to layers whose name matches one of the patterns.
         *
         * @param patterns names, globs ({@code "glob:"} optional) or {@code "regex:"} patterns
         * @return this builder
         */
        public Builder optIncludeLayers(String... patterns) {
            includedLayers.addAll(Arrays.asList(patterns));
            return this;
        }

        /**
         * Keeps layers whose name matches one of the patterns in FP32.
         *
         * @param patterns names, globs ({@code "glob:"} optional) or {@code "regex:"} patterns
         * @return this builder
         */
        public Builder optExcludeLayers(String... patterns) {
            excludedLayers.addAll(Arrays.asList(patterns));
            return this;
        }

        /**
         * Restricts quantization to the given operator types.
         *
         * @param opTypes operator types such as {@code "Linear"} or {@code "Conv2d"}
         * @return this builder
         */
        public Builder optIncludeOpTypes(String... opTypes) {
            includedOpTypes.addAll(Arrays.asList(opTypes));
            return this;
        }

        /**
         * Keeps the given operator types in FP32.
         *
         * @param opTypes operator types
         * @return this builder
         */
        public Builder optExcludeOpTypes(String... opTypes) {
            excludedOpTypes.addAll(Arrays.asList(opTypes));
            return this;
        }

        /**
         * Sets the accuracy budget that automatic mixed precision must meet.
         *
         * @param budget the budget, {@code null} for none
         * @return this builder
         */
        public Builder optAccuracyBudget(AccuracyBudget budget) {
            this.accuracyBudget = budget;
            return this;
        }

        /**
         * Sets what happens to the layers the accuracy budget cannot afford. {@link
         * BudgetFallback#PER_TOKEN} keeps every weight in INT8: the sensitive layers quantize
         * their input per token on every call while the others keep the configured per-tensor
         * activations (calibrated in static mode), so it needs a budget and per-tensor
         * activations, and is not for weight-only mode.
         *
         * @param fallback {@link BudgetFallback#FP32} (the default) or {@link
         *     BudgetFallback#PER_TOKEN}
         * @return this builder
         */
        public Builder optBudgetFallback(BudgetFallback fallback) {
            this.budgetFallback = fallback;
            return this;
        }

        /**
         * Enables SmoothQuant with a migration strength.
         *
         * @param alpha the share of the activation range moved into weights, in {@code [0, 1]}
         * @return this builder
         */
        public Builder optSmoothQuant(double alpha) {
            this.smoothQuantAlpha = alpha;
            return this;
        }

        /**
         * Validates the options and builds the configuration.
         *
         * @return the configuration
         * @throws IllegalArgumentException naming the first invalid option
         */
        public QuantizationConfig build() {
            requireSet(mode, "mode");
            requireSet(activationScheme, "activation scheme");
            requireSet(weightScheme, "weight scheme");
            requireSet(weightGranularity, "weight granularity");
            requireSet(weightObserver, "weight observer");
            requireSet(activationGranularity, "activation granularity");
            requireSet(budgetFallback, "budget fallback");
            checkCombinations();
            if (smoothQuantAlpha != null) {
                SmoothQuant.checkAlpha(smoothQuantAlpha);
            }
            for (List<String> patterns : List.of(includedLayers, excludedLayers)) {
                patterns.forEach(LayerFilter::compile);
            }
            return new QuantizationConfig(this);
        }

        private void checkCombinations() {
            if (weightGranularity == Granularity.PER_TOKEN) {
                throw new IllegalArgumentException("Weights are quantized per channel or per"
                        + " tensor; per token is a granularity of activations");
            }
            if (activationGranularity == Granularity.PER_CHANNEL) {
                throw new IllegalArgumentException("Activations are quantized per tensor or per"
                        + " token; per channel would not factor out of the dot products");
            }
            if (mode == QuantizationMode.WEIGHT_ONLY
                    && (!weightScheme.isSymmetric() || smoothQuantAlpha != null)) {
                throw new IllegalArgumentException("Weight-only quantization stores symmetric"
                        + " INT8 weights and keeps activations in FP32: it takes neither an"
                        + " asymmetric weight scheme nor SmoothQuant");
            }
            if (activationGranularity == Granularity.PER_TOKEN && mode != QuantizationMode.DYNAMIC) {
                throw new IllegalArgumentException("Per-token activation quantization measures"
                        + " each row's range on every call, so it needs dynamic mode; " + mode
                        + " mode fixes activation ranges at calibration, per tensor");
            }
            if (budgetFallback == BudgetFallback.PER_TOKEN) {
                checkPerTokenFallback();
            }
        }

        private void checkPerTokenFallback() {
            String problem = accuracyBudget == null
                    ? "needs an accuracy budget to choose the layers"
                    : mode == QuantizationMode.WEIGHT_ONLY
                            ? "quantizes activations, which weight-only mode keeps in FP32"
                            : activationGranularity != Granularity.PER_TENSOR
                                    ? "is for per-tensor activations; every layer is per token"
                                            + " already"
                                    : null;
            if (problem != null) {
                throw new IllegalArgumentException(
                        "The per-token budget fallback " + problem);
            }
        }

        private static void requireSet(Object value, String option) {
            if (value == null) {
                throw new IllegalArgumentException("Quantization " + option + " must not be null");
            }
        }
    }
}
