package org.quantint8.zoo.nlp;

import ai.djl.Device;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorFactory;

import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.OnnxModelWriter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Writes small models into temporary model folders and loads them through DJL's Criteria. */
public final class ModelFolders {

    /** Our engine. */
    public static final String QUANT_INT8 = "QuantInt8";
    /** The reference engine. */
    public static final String ONNX_RUNTIME = "OnnxRuntime";

    private ModelFolders() {}

    /**
     * Writes a model as {@code model.onnx} in a new temporary folder, deleted on exit.
     *
     * @param model the model
     * @return the folder
     * @throws Exception if writing fails
     */
    public static Path write(OnnxModel model) throws Exception {
        Path folder = Files.createTempDirectory("zoo-translator-test");
        folder.toFile().deleteOnExit();
        Path file = folder.resolve("model.onnx");
        OnnxModelWriter.builder().build().write(model, file);
        file.toFile().deleteOnExit();
        return folder;
    }

    /**
     * Loads a model folder with a translator.
     *
     * @param folder the folder
     * @param engine {@link #QUANT_INT8} (FP32 or dynamic INT8) or {@link #ONNX_RUNTIME}
     * @param int8 for our engine, {@code true} for dynamic INT8, {@code false} for FP32
     * @param types the input and output classes
     * @param translator the translator
     * @param <I> the input type
     * @param <O> the output type
     * @return the model
     * @throws Exception if loading fails
     */
    public static <I, O> ZooModel<I, O> load(Path folder, String engine, boolean int8,
            Class<I> input, Class<O> output, Translator<I, O> translator) throws Exception {
        return criteria(folder, engine, int8, input, output).optTranslator(translator).build()
                .loadModel();
    }

    /**
     * Loads a model folder with a translator factory and its arguments.
     *
     * @param folder the folder
     * @param engine the engine
     * @param factory the factory
     * @param arguments the arguments
     * @param <I> the input type
     * @param <O> the output type
     * @return the model
     * @throws Exception if loading fails
     */
    public static <I, O> ZooModel<I, O> load(Path folder, String engine, Class<I> input,
            Class<O> output, TranslatorFactory factory, Map<String, Object> arguments)
            throws Exception {
        return criteria(folder, engine, false, input, output).optTranslatorFactory(factory)
                .optArguments(arguments).build().loadModel();
    }

    private static <I, O> Criteria.Builder<I, O> criteria(Path folder, String engine,
            boolean int8, Class<I> input, Class<O> output) {
        Criteria.Builder<I, O> builder = Criteria.builder().setTypes(input, output)
                .optModelPath(folder).optEngine(engine).optDevice(Device.cpu());
        if (QUANT_INT8.equals(engine)) {
            builder.optOption("quantization", int8 ? "dynamic" : "fp32")
                    .optOption("quantizationCache", "false");
        }
        return builder;
    }
}
