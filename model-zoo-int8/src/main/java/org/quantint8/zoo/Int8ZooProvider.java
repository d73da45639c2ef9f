package org.quantint8.zoo;

import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooProvider;

/** Registers the {@link Int8ModelZoo} with DJL (found by {@link java.util.ServiceLoader}). */
public class Int8ZooProvider implements ZooProvider {

    /** {@inheritDoc} */
    @Override
    public ModelZoo getModelZoo() {
        return new Int8ModelZoo();
    }
}
