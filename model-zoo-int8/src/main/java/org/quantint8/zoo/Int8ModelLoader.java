package org.quantint8.zoo;

import ai.djl.Application;
import ai.djl.MalformedModelException;
import ai.djl.repository.Artifact;
import ai.djl.repository.MRL;
import ai.djl.repository.zoo.BaseModelLoader;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelLoader;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Pair;
import ai.djl.util.Progress;

import org.quantint8.zoo.cv.ResNetTranslatorFactory;
import org.quantint8.zoo.nlp.CausalLmTranslatorFactory;
import org.quantint8.zoo.nlp.TextClassificationTranslatorFactory;
import org.quantint8.zoo.nlp.TextEmbeddingTranslatorFactory;

import java.io.IOException;
import java.lang.reflect.Type;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Loads one entry of the QuantInt8 zoo from the repository folder ({@link ZooRepository}).
 *
 * <p>Each entry has three loaders: {@code <artifactId>} chooses the artifact with {@code
 * Criteria.optFilter("precision", "int8" | "fp32")} (the first listed, {@code int8}, without a
 * filter), and {@code <artifactId>-int8} and {@code <artifactId>-fp32} serve that artifact only,
 * for {@code Criteria.optArtifactId("gpt2-int8")}. DJL's Criteria matches a loader by artifact id
 * only; {@code optModelName} names the model file and does not select an artifact.
 *
 * <p>DJL builds its zoos once, when {@code ModelZoo} is first used, while the repository folder
 * is a system property that may be set later; so the folder is resolved at each load, and the
 * load itself is DJL's {@link BaseModelLoader} bound to that folder.
 */
public class Int8ModelLoader implements ModelLoader {

    private final ZooEntry entry;
    private final Precision precision;
    private final TranslatorFactory translatorFactory;

    /**
     * Creates a loader.
     *
     * @param entry the entry
     * @param precision the only precision served, or {@code null} to choose by filter
     */
    public Int8ModelLoader(ZooEntry entry, Precision precision) {
        this.entry = entry;
        this.precision = precision;
        Map<Pair<Type, Type>, TranslatorFactory> factories = new HashMap<>();
        registerTranslatorFactories(entry, factories);
        this.translatorFactory = new ZooTranslatorFactory(factories);
    }

    /**
     * Declares the translators of each entry, by input and output type: the one place where
     * they are wired. {@code NDList -> NDList} needs none.
     */
    private static void registerTranslatorFactories(
            ZooEntry entry, Map<Pair<Type, Type>, TranslatorFactory> factories) {
        List<TranslatorFactory> translators = switch (entry) {
            case BERT_BASE_UNCASED, ALL_MINILM_L6_V2 -> List.of(
                    new TextEmbeddingTranslatorFactory(), new TextClassificationTranslatorFactory());
            case GPT2 -> List.of(new CausalLmTranslatorFactory());
            case RESNET50 -> List.of(new ResNetTranslatorFactory());
        };
        for (TranslatorFactory factory : translators) {
            for (Pair<Type, Type> types : factory.getSupportedTypes()) {
                factories.put(types, factory);
            }
        }
    }

    /** {@inheritDoc} */
    @Override
    public String getGroupId() {
        return Int8ModelZoo.GROUP_ID;
    }

    /** {@inheritDoc} */
    @Override
    public String getArtifactId() {
        return precision == null ? entry.artifactId() : entry.artifactName(precision);
    }

    /** {@inheritDoc} */
    @Override
    public Application getApplication() {
        return entry.application();
    }

    /**
     * Returns the entry's location in the repository folder configured now.
     *
     * @return the location
     */
    @Override
    public MRL getMrl() {
        return ZooRepository.fromSystemProperties().mrl(entry, artifactName());
    }

    /**
     * Returns the entry this loader serves.
     *
     * @return the entry
     */
    public ZooEntry getEntry() {
        return entry;
    }

    /**
     * Loads the artifact the criteria select, after checking its files against their recorded
     * sizes and SHA-256.
     *
     * @param criteria the criteria: engine, filters, translator types, options
     * @param <I> the input type
     * @param <O> the output type
     * @return the model
     * @throws MalformedModelException if the engine cannot load the model file
     * @throws ModelNotFoundException if the entry is not published in the repository folder, or
     *     no artifact has the filtered properties; the message says which and lists the artifacts
     * @throws IOException if an artifact file is missing or damaged, naming it
     */
    @Override
    public <I, O> ZooModel<I, O> loadModel(Criteria<I, O> criteria)
            throws IOException, ModelNotFoundException, MalformedModelException {
        MRL mrl = getMrl();
        find(mrl, criteria);
        return new BoundLoader(mrl, translatorFactory).loadModel(criteria);
    }

    /** {@inheritDoc} */
    @Override
    public <I, O> boolean isDownloaded(Criteria<I, O> criteria)
            throws IOException, ModelNotFoundException {
        MRL mrl = getMrl();
        return mrl.isPrepared(find(mrl, criteria));
    }

    /** {@inheritDoc} Nothing is downloaded: the files are checked. */
    @Override
    public <I, O> void downloadModel(Criteria<I, O> criteria, Progress progress)
            throws IOException, ModelNotFoundException {
        MRL mrl = getMrl();
        mrl.prepare(find(mrl, criteria), progress);
    }

    /** {@inheritDoc} */
    @Override
    public String toString() {
        return Int8ModelZoo.GROUP_ID + ':' + getArtifactId() + " (" + entry.application() + ')';
    }

    private String artifactName() {
        return precision == null ? null : entry.artifactName(precision);
    }

    private Artifact find(MRL mrl, Criteria<?, ?> criteria) throws IOException, ModelNotFoundException {
        ZooRepository repository = (ZooRepository) mrl.getRepository();
        if (repository.locate(mrl) == null) {
            throw new ModelNotFoundException(Int8ModelZoo.GROUP_ID + ':' + getArtifactId()
                    + " is not published in the zoo repository " + repository.root()
                    + " (system property " + ZooRepository.PROPERTY + "); publish it with"
                    + " ZooPublisher");
        }
        Artifact artifact = mrl.match(criteria.getFilters());
        if (artifact == null) {
            String available = mrl.listArtifacts().stream()
                    .map(a -> a.getName() + ' ' + a.getProperties())
                    .collect(Collectors.joining(", "));
            throw new ModelNotFoundException(Int8ModelZoo.GROUP_ID + ':' + getArtifactId()
                    + ": no artifact has the properties " + criteria.getFilters()
                    + "; the artifacts are " + available);
        }
        return artifact;
    }

    /** DJL's loader, bound to a repository folder and the entry's translators. */
    private static final class BoundLoader extends BaseModelLoader {

        BoundLoader(MRL mrl, TranslatorFactory translatorFactory) {
            super(mrl);
            defaultFactory = translatorFactory;
        }
    }
}
