package org.quantint8.zoo;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.zoo.architectures.Bert;
import org.quantint8.zoo.architectures.Gpt2;
import org.quantint8.zoo.architectures.ResNet;

import java.util.List;
import java.util.Random;
import java.util.function.Function;

/** Small configurations of the zoo's architectures, and helpers to load and run them. */
final class ZooFixtures {

    static final long SEED = 42;

    private ZooFixtures() {}

    /** A 2-layer GPT-2, hidden 64, vocabulary 100. */
    static ModelSource tinyGpt2() {
        return ModelSource.of(Gpt2.builder().optSeed(SEED).optNumLayers(2).optHiddenSize(64)
                .optNumHeads(4).optVocabSize(100).optContextLength(32).build(),
                ModelSources.random(SEED));
    }

    /** A ResNet-18 at width 8 for 32x32 images and 10 classes. */
    static ModelSource tinyResNet() {
        return ModelSource.of(ResNet.builder().optSeed(SEED).optDepth(18).optBaseWidth(8)
                .optNumClasses(10).optImageSize(32).build(), ModelSources.random(SEED));
    }

    /** A 2-layer BERT, hidden 64, vocabulary 100. */
    static ModelSource tinyBert() {
        return ModelSource.of(Bert.builder().optSeed(SEED).optNumLayers(2).optHiddenSize(64)
                .optNumHeads(4).optIntermediateSize(128).optVocabSize(100).optMaxPositions(32)
                .build(), ModelSources.random(SEED));
    }

    /** A criteria of the zoo: NDList in and out. */
    static Criteria.Builder<NDList, NDList> criteria(String artifactId, String engine) {
        return Criteria.builder().setTypes(NDList.class, NDList.class)
                .optGroupId(Int8ModelZoo.GROUP_ID).optArtifactId(artifactId).optEngine(engine);
    }

    /** Runs a model on inputs made by the function, returns the first output. */
    static float[] predict(ZooModel<NDList, NDList> model, Function<NDManager, NDList> inputs)
            throws Exception {
        try (Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager manager = model.getNDManager().newSubManager()) {
            return predictor.predict(inputs.apply(manager)).get(0).toFloatArray();
        }
    }

    /** A batch of two random 32x32 images. */
    static NDList images(NDManager manager) {
        Random random = new Random(5);
        float[] pixels = new float[2 * 3 * 32 * 32];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (float) random.nextGaussian();
        }
        return new NDList(manager.create(pixels, new Shape(2, 3, 32, 32)));
    }

    /** Two sequences of 8 token ids below 100, the second padded. */
    static NDList bertInputs(NDManager manager) {
        long[] ids = {1, 17, 42, 9, 77, 3, 55, 2, 1, 12, 61, 2, 0, 0, 0, 0};
        long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
        NDArray tokenTypes = manager.zeros(new Shape(2, 8), DataType.INT64);
        return new NDList(manager.create(ids, new Shape(2, 8)), manager.create(mask, new Shape(2, 8)),
                tokenTypes);
    }

    /** The names of the zoo's loaders. */
    static List<String> loaderIds() {
        return List.of("bert_base_uncased", "resnet50", "gpt2", "all_minilm_l6_v2");
    }
}
