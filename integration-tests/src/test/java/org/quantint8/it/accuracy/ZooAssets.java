package org.quantint8.it.accuracy;

import org.quantint8.zoo.ModelSources;
import org.quantint8.zoo.ZooEntry;
import org.quantint8.zoo.ZooPublisher;
import org.quantint8.zoo.ZooRepository;

import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * The zoo's real BERT-base-uncased for the suites: published once per test JVM from the Maven
 * artifact of Google's checkpoint into {@code target/zoo}, which becomes the zoo's repository
 * ({@code quantint8.zoo.repository}).
 */
final class ZooAssets {

    private static final Path TARGET = Paths.get(System.getProperty("user.dir"), "target");

    private static Path bertBase;

    private ZooAssets() {}

    /**
     * Publishes BERT-base (fp32 and int8 artifacts) unless this JVM did already, and points the
     * zoo at the repository.
     *
     * @return the entry's folder
     * @throws Exception if the checkpoint cannot be read or the artifacts written
     */
    static synchronized Path bertBase() throws Exception {
        if (bertBase == null) {
            Path repository = TARGET.resolve("zoo");
            bertBase = ZooPublisher.builder().optRepository(repository).build()
                    .publish(ZooEntry.BERT_BASE_UNCASED, ModelSources.bertFromEasyBert(TARGET));
            System.setProperty(ZooRepository.PROPERTY, repository.toString());
        }
        return bertBase;
    }
}
