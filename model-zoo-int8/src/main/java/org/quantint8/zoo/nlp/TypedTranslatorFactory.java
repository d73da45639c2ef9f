package org.quantint8.zoo.nlp;

import ai.djl.Model;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Pair;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;
import java.util.Set;

/**
 * A factory of translators for one input and output type: what the zoo's text factories share
 * (the type check, and file errors reported as {@link TranslateException}s naming the model).
 *
 * @param <P> the input type
 * @param <Q> the output type
 */
abstract class TypedTranslatorFactory<P, Q> implements TranslatorFactory {

    private final Class<P> input;
    private final Class<Q> output;

    TypedTranslatorFactory(Class<P> input, Class<Q> output) {
        this.input = input;
        this.output = output;
    }

    /** {@inheritDoc} */
    @Override
    public Set<Pair<Type, Type>> getSupportedTypes() {
        return Set.of(new Pair<>(input, output));
    }

    /** {@inheritDoc} */
    @Override
    @SuppressWarnings("unchecked")
    public <I, O> Translator<I, O> newInstance(
            Class<I> input, Class<O> output, Model model, Map<String, ?> arguments)
            throws TranslateException {
        if (!isSupported(input, output)) {
            throw new IllegalArgumentException("Unsupported input/output types: " + input + ", "
                    + output + "; supported: " + this.input.getSimpleName() + " to "
                    + this.output.getSimpleName());
        }
        try {
            return (Translator<I, O>) build(model, arguments);
        } catch (IOException e) {
            throw new TranslateException("Cannot create the translator of model "
                    + model.getName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Builds the translator.
     *
     * @param model the model
     * @param arguments the arguments
     * @return the translator
     * @throws IOException if a file the translator needs is missing or unreadable
     */
    abstract Translator<P, Q> build(Model model, Map<String, ?> arguments) throws IOException;
}
