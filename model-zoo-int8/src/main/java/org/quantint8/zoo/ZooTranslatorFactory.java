package org.quantint8.zoo;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Pair;

import java.lang.reflect.Type;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The translator factories of one zoo entry by input and output type; {@code NDList -> NDList}
 * always works, without a translator.
 */
final class ZooTranslatorFactory implements TranslatorFactory {

    private static final Pair<Type, Type> RAW = new Pair<>(NDList.class, NDList.class);

    private final Map<Pair<Type, Type>, TranslatorFactory> factories;

    /**
     * Creates the factory.
     *
     * @param factories the entry's factories by input and output type
     */
    ZooTranslatorFactory(Map<Pair<Type, Type>, TranslatorFactory> factories) {
        this.factories = Map.copyOf(factories);
    }

    /** {@inheritDoc} */
    @Override
    public Set<Pair<Type, Type>> getSupportedTypes() {
        Set<Pair<Type, Type>> types = new HashSet<>(factories.keySet());
        types.add(RAW);
        return types;
    }

    /** {@inheritDoc} */
    @Override
    public boolean isSupported(Class<?> input, Class<?> output) {
        return getSupportedTypes().contains(new Pair<Type, Type>(input, output));
    }

    /** {@inheritDoc} */
    @Override
    @SuppressWarnings("unchecked")
    public <I, O> Translator<I, O> newInstance(Class<I> input, Class<O> output, Model model,
            Map<String, ?> arguments) throws TranslateException {
        TranslatorFactory factory = factories.get(new Pair<Type, Type>(input, output));
        if (factory != null) {
            return factory.newInstance(input, output, model, arguments);
        }
        if (input == NDList.class && output == NDList.class) {
            return (Translator<I, O>) new NoopTranslator();
        }
        throw new TranslateException("No translator from " + input.getName() + " to "
                + output.getName() + "; supported: " + getSupportedTypes());
    }
}
