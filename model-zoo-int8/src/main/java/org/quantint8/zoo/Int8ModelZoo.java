package org.quantint8.zoo;

import ai.djl.repository.zoo.ModelZoo;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The QuantInt8 model zoo, group id {@value #GROUP_ID}: BERT-base-uncased, ResNet-50, GPT-2 and
 * all-MiniLM-L6-v2, each with an {@code fp32} and an {@code int8} artifact, served from the local
 * repository folder ({@link ZooRepository}).
 *
 * <pre>{@code
 * Criteria<NDList, NDList> criteria = Criteria.builder()
 *         .setTypes(NDList.class, NDList.class)
 *         .optGroupId("org.quantint8.zoo")
 *         .optArtifactId("gpt2")
 *         .optFilter("precision", "int8")   // or .optArtifactId("gpt2-int8")
 *         .optEngine("QuantInt8")
 *         .build();
 * }</pre>
 */
public class Int8ModelZoo extends ModelZoo {

    /** The zoo's group id. */
    public static final String GROUP_ID = "org.quantint8.zoo";

    /**
     * The engines the zoo's artifacts run on. Without {@code optEngine}, DJL takes the default
     * engine if it is one of them, else the last available one: QuantInt8 comes last for that.
     */
    private static final Set<String> ENGINES =
            Collections.unmodifiableSet(new LinkedHashSet<>(List.of("OnnxRuntime", "QuantInt8")));

    /** Creates the zoo with three loaders per entry (see {@link Int8ModelLoader}). */
    public Int8ModelZoo() {
        for (ZooEntry entry : ZooEntry.values()) {
            addModel(new Int8ModelLoader(entry, null));
            for (Precision precision : Precision.values()) {
                addModel(new Int8ModelLoader(entry, precision));
            }
        }
    }

    /** {@inheritDoc} */
    @Override
    public String getGroupId() {
        return GROUP_ID;
    }

    /** {@inheritDoc} */
    @Override
    public Set<String> getSupportedEngines() {
        return ENGINES;
    }
}
