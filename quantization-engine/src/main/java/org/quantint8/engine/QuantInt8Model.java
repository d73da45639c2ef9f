package org.quantint8.engine;

import ai.djl.BaseModel;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.translate.Batchifier;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;

import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationMode;
import org.quantint8.calibration.QuantizationReport;
import org.quantint8.ndarray.QuantInt8NDManager;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelReader;
import org.quantint8.onnx.OnnxModelWriter;
import org.quantint8.onnx.interpreter.OnnxBlock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model of the {@link QuantInt8Engine}.
 *
 * <p>{@link #load(Path, String, Map)} reads an ONNX model, quantizes it to INT8 as the load
 * options say (see {@link QuantizationOptions}; dynamic quantization by default) and runs it with
 * the ONNX interpreter ({@link OnnxBlock}) on QuantInt8's INT8 operators. The quantized model is
 * cached, so the next load of the same model with the same settings skips quantization. Static
 * quantization needs representative inputs: give them to {@link #calibrate} before creating
 * predictors.
 *
 * <p>The file is found as DJL's OnnxRuntime engine finds it: a direct path to an {@code .onnx}
 * file, or in the folder {@code <prefix>.onnx}, {@code <modelName>.onnx}, {@code <folder
 * name>.onnx} or {@code model.onnx}, or the folder's only {@code .onnx} file.
 *
 * <p>A model built in Java ({@link #setBlock(ai.djl.nn.Block)}, {@code Criteria.optBlock}) runs as
 * soon as its parameters are initialized (with the QuantInt8 engine's manager); loading it
 * quantizes the weights of its {@code Linear} and {@code Conv2d} layers per output channel in
 * place (unless the options say {@code fp32}), and DJL's blocks then run through the INT8
 * operators with activations quantized per call.
 */
public class QuantInt8Model extends BaseModel {

    private static final Logger LOGGER = LoggerFactory.getLogger(QuantInt8Model.class);

    private Path sourceFile;
    private OnnxModel source;
    private QuantizationOptions options;
    private OnnxModel runnable;
    private QuantizedModelCache.Entry quantization;
    private boolean runAsIs;

    QuantInt8Model(String name, NDManager manager) {
        super(name);
        this.manager = manager;
        this.manager.setName("quantint8-model:" + name);
        this.dataType = DataType.FLOAT32;
    }

    /**
     * Loads the model and quantizes it.
     *
     * @param modelPath a folder holding the {@code .onnx} file, or the file itself
     * @param prefix the file name without extension, or {@code null}
     * @param options the quantization options ({@link QuantizationOptions}); other keys are
     *     ignored
     * @throws IOException if the file cannot be found or read
     * @throws MalformedModelException if the file is not a valid ONNX model, or has a node that
     *     neither the interpreter nor ONNX Runtime can run; the message names the file, and the
     *     node where one is at fault
     * @throws IllegalArgumentException if an option is invalid, naming it, or a Java block is
     *     given options only the ONNX path supports (static, weight-only, per-token activations,
     *     per-tensor weights, SmoothQuant, an accuracy budget)
     */
    @Override
    public void load(Path modelPath, String prefix, Map<String, ?> options)
            throws IOException, MalformedModelException {
        QuantizationOptions parsed = QuantizationOptions.of(options);
        if (block != null) {
            // A Java block was set: its parameters are the model, as in DJL's other engines.
            // Its Linear and Conv2d weights become INT8 unless the options say fp32.
            if (parsed.isQuantized()) {
                QuantizationConfig config = parsed.toConfig();
                BlockQuantizer.requireSupported(config);
                QuantizationReport report = BlockQuantizer.quantize(block, config.getLayerFilter());
                quantization = new QuantizedModelCache.Entry(null, report.toText(), report.toJson());
                LOGGER.info("QuantInt8: block {} quantized: {} of {} layers INT8, weights {} -> {}"
                                + " bytes", modelName, report.getQuantizedLayerCount(),
                        report.getLayers().size(), report.getFp32WeightBytes(),
                        report.getDeployedWeightBytes());
            }
            modelDir = modelPath.toAbsolutePath();
            wasLoaded = true;
            return;
        }
        Path dir = modelPath.toAbsolutePath();
        Path file = ModelFiles.find(
                dir, prefix, modelName, dir.getFileName() == null ? null : dir.getFileName().toString());
        OnnxModel model = OnnxModelReader.read(file);
        this.sourceFile = file;
        this.source = model;
        this.options = parsed;
        runAsIs = parsed.isQuantized() && !parsed.isRequantize() && isPreQuantized(file, model);
        QuantizationConfig config = null;
        if (runAsIs) {
            LOGGER.debug("QuantInt8: {} runs without load-time quantization", file.getFileName());
        } else if (parsed.needsSamples()) {
            LOGGER.warn("QuantInt8: {} asks for {}, which needs calibration samples: it runs with"
                    + " dynamic INT8 until QuantInt8Model.calibrate() is given representative"
                    + " inputs", file.getFileName(), parsed);
            config = parsed.toConfigWithoutSamples();
        } else if (parsed.isQuantized()) {
            config = parsed.toConfig();
        }
        build(config, List.of());
        modelDir = file.getParent();
        modelName = ModelFiles.modelName(file);
        wasLoaded = true;
    }

    /**
     * Quantizes the model with calibration on representative inputs of the application, turned
     * into model inputs by the model's own translator (and its batchifier, one sample a batch,
     * as a predictor does): statically, or as the load options say
     * when they ask for something that needs samples (static mode, SmoothQuant, an accuracy
     * budget). Every other setting comes from the load options. Call it before creating
     * predictors: existing ones keep the previous model.
     *
     * @param translator the translator that prepares the model's inputs
     * @param samples representative inputs, a few hundred typically; never random data
     * @param <I> the input type
     * @throws TranslateException if the translator fails on a sample
     * @throws MalformedModelException if the quantized model cannot be built
     * @throws IllegalArgumentException if there are no samples, the model was not loaded from
     *     an ONNX file, was loaded weight-only (nothing to calibrate), or was already quantized
     *     and runs as it is (load it with {@code requantize=true} to calibrate what it left in
     *     FP32)
     */
    public <I> void calibrate(Translator<I, ?> translator, List<I> samples)
            throws TranslateException, MalformedModelException {
        requireOnnx("calibrate");
        try (NDManager scratch = manager.newSubManager();
                CalibrationContext context = new CalibrationContext(this, scratch)) {
            List<NDList> inputs = new ArrayList<>(samples.size());
            // As a predictor does: one sample, then the translator's batchifier (DJL's image
            // translators leave the batch dimension to it).
            Batchifier batchifier = translator.getBatchifier();
            for (I sample : samples) {
                NDList input = translator.processInput(context, sample);
                inputs.add(batchifier == null ? input
                        : batchifier.batchify(new NDList[] {input}));
            }
            calibrate(inputs);
        } catch (TranslateException | MalformedModelException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new TranslateException(e);
        }
    }

    /**
     * Quantizes the model with calibration on model inputs, as {@link #calibrate(Translator,
     * List)} does.
     *
     * @param samples representative model inputs, named like the graph inputs or in their order
     * @throws MalformedModelException if the quantized model cannot be built
     * @throws IllegalArgumentException if there are no samples, the model was loaded
     *     weight-only, or it was already quantized and runs as it is
     * @see #calibrate(Translator, List)
     */
    public void calibrate(List<NDList> samples) throws MalformedModelException {
        requireOnnx("calibrate");
        if (runAsIs) {
            throw new IllegalArgumentException("calibrate: " + sourceFile + " is already quantized"
                    + " and runs as it is; load it with the option " + QuantizationOptions.REQUANTIZE
                    + "=true to quantize what it keeps in FP32");
        }
        if (samples.isEmpty()) {
            throw new IllegalArgumentException(
                    "calibrate: no samples; static quantization needs representative inputs");
        }
        if (!options.needsSamples()
                && options.toConfig().getMode() == QuantizationMode.WEIGHT_ONLY) {
            throw new IllegalArgumentException("calibrate: " + sourceFile + " was loaded with "
                    + QuantizationOptions.MODE + "=weightonly, which keeps activations in FP32:"
                    + " there is nothing to calibrate. Load it with " + QuantizationOptions.MODE
                    + "=static to calibrate INT8 activations, or add "
                    + QuantizationOptions.MIN_SQNR_DB + " to choose the FP32 layers by samples");
        }
        // Samples given for plain dynamic (or fp32) options mean static quantization; options
        // that already need samples (static, SmoothQuant, a budget) apply as they are.
        QuantizationConfig config = options.needsSamples()
                ? options.toConfig()
                : options.toConfig(QuantizationMode.STATIC);
        build(config, samples);
    }

    private static boolean isPreQuantized(Path file, OnnxModel model) {
        Map<String, Integer> quantized = PreQuantizedModels.quantizedNodes(model);
        if (quantized.isEmpty()) {
            return false;
        }
        LOGGER.info("QuantInt8: {} is already quantized ({}): it runs as it is, what it keeps in"
                + " FP32 stays FP32 (option {}=true quantizes that too)", file.getFileName(),
                quantized, QuantizationOptions.REQUANTIZE);
        return true;
    }

    private void build(QuantizationConfig config, List<NDList> samples)
            throws MalformedModelException {
        try {
            if (config == null) {
                runnable = source;
                quantization = null;
            } else {
                quantization = LoadTimeQuantizer.quantize(sourceFile, source, options, config,
                        samples);
                runnable = quantization.model();
            }
        } catch (IOException e) {
            throw new MalformedModelException("Cannot read " + sourceFile + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            // The options were checked before; what fails here is the model's content.
            throw new MalformedModelException(
                    sourceFile + ": cannot be quantized: " + e.getMessage(), e);
        }
        block = OnnxBlock.newInstance(runnable, sourceFile.toString(), (QuantInt8NDManager) manager);
    }

    /**
     * Returns the report of the quantization: per layer what was done and why, and the sizes.
     *
     * @return the report as a table, or empty when the model is not quantized
     */
    public Optional<String> getQuantizationReport() {
        return Optional.ofNullable(quantization).map(QuantizedModelCache.Entry::reportText);
    }

    /**
     * Returns the report of the quantization as JSON.
     *
     * @return the report, or empty when the model is not quantized
     */
    public Optional<String> getQuantizationReportJson() {
        return Optional.ofNullable(quantization).map(QuantizedModelCache.Entry::reportJson);
    }

    /**
     * Writes the model as it runs (quantized, if it is) as an ONNX file that ONNX Runtime and
     * other tools can run.
     *
     * @param file the file to write; written atomically
     * @throws IOException if the file cannot be written
     */
    public void export(Path file) throws IOException {
        requireOnnx("export");
        OnnxModelWriter.builder().build().write(runnable, file);
    }

    private void requireOnnx(String operation) {
        if (source == null) {
            throw new IllegalArgumentException(
                    operation + ": the model was not loaded from an ONNX file");
        }
    }
}
