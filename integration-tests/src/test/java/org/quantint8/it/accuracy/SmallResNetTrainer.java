package org.quantint8.it.accuracy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Adam;
import ai.djl.training.tracker.CosineTracker;
import ai.djl.translate.NoopTranslator;

import org.quantint8.zoo.architectures.ResNet;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains, with DJL's PyTorch engine, the ResNet that {@link ResNet}'s builder emits for 28 x 28
 * grayscale images ({@code optInputChannels(1)}, {@code optSmallImageStem(true)}), written as DJL
 * blocks because training needs autograd, and hands its parameters over under the builder's
 * (torchvision's) names. The trained parameters are cached in a file keyed by the configuration,
 * so a rerun skips training; the file carries a SHA-256 of its content and a damaged or foreign
 * one is retrained and rewritten.
 */
final class SmallResNetTrainer implements AutoCloseable {

    private static final int MAGIC = 0x51524E31; // "QRN1"

    /**
     * What is trained, and how; {@link #key()} names the cache file.
     *
     * @param depth 18 or 34 (basic blocks)
     * @param baseWidth the width of the first stage
     * @param stemStride the stride of the 3 x 3 stem convolution (1 or 2)
     * @param epochs passes over the training images
     * @param batchSize images per step
     * @param learningRate Adam's initial learning rate, decayed to 1% along a cosine
     * @param seed the seed of DJL's engine (initialization, shuffling)
     */
    record Config(int depth, int baseWidth, int stemStride, int epochs, int batchSize,
            float learningRate, int seed) {

        /**
         * Returns the cache key: every field, so another configuration never reuses weights.
         *
         * @return a file-name-safe key
         */
        String key() {
            return String.format(java.util.Locale.ROOT, "resnet%d-w%d-st%d-e%d-b%d-lr%s-s%d",
                    depth, baseWidth, stemStride, epochs, batchSize, Float.toString(learningRate),
                    seed);
        }

        /**
         * Returns the ONNX builder for this architecture, without weights.
         *
         * @return the builder
         */
        ResNet.Builder onnxBuilder() {
            return ResNet.builder().optDepth(depth).optBaseWidth(baseWidth)
                    .optNumClasses(FashionMnist.CLASSES).optInputChannels(1)
                    .optImageSize(FashionMnist.SIDE).optSmallImageStem(true)
                    .optSmallStemStride(stemStride);
        }
    }

    private final Config config;
    private final Model model;
    private final Map<String, Block> named = new LinkedHashMap<>();
    private TrainedParameterCache.Outcome outcome;

    /**
     * Creates the (untrained) DJL model.
     *
     * @param config the configuration
     */
    SmallResNetTrainer(Config config) {
        if (config.depth() != 18 && config.depth() != 34) {
            throw new IllegalArgumentException("only basic-block depths 18 and 34, got "
                    + config.depth());
        }
        this.config = config;
        this.model = Model.newInstance("fashion-mnist-" + config.key(), "PyTorch");
        model.setBlock(network());
    }

    /**
     * Loads the parameters from the cache, or trains and caches them.
     *
     * @param cacheDir the cache folder
     * @param train the training images
     * @param mean the pixel mean of the normalization
     * @param std the pixel standard deviation of the normalization
     * @throws IOException if the cache cannot be written
     */
    void trainOrLoad(Path cacheDir, FashionMnist.Split train, float mean, float std)
            throws IOException {
        outcome = TrainedParameterCache.loadOrTrain(cacheDir.resolve(config.key() + ".params"),
                MAGIC, config.key(), model.getBlock(), model.getNDManager(), inputShape(1),
                () -> train(train, mean, std));
    }

    /**
     * Returns where the parameters came from, once {@link #trainOrLoad} has run.
     *
     * @return the outcome
     */
    TrainedParameterCache.Outcome outcome() {
        return outcome;
    }

    /**
     * Returns the trained parameters under the ONNX builder's names.
     *
     * @return the values by name, row-major
     */
    Map<String, float[]> onnxWeights() {
        Map<String, float[]> weights = new LinkedHashMap<>();
        named.forEach((name, block) -> {
            Map<String, String> parts = block instanceof BatchNorm
                    ? Map.of("gamma", "weight", "beta", "bias", "runningMean", "running_mean",
                            "runningVar", "running_var")
                    : block instanceof Linear ? Map.of("weight", "weight", "bias", "bias")
                    : Map.of("weight", "weight");
            parts.forEach((djl, onnx) -> weights.put(name + "." + onnx,
                    block.getParameters().get(djl).getArray().toFloatArray()));
        });
        return weights;
    }

    /**
     * Returns the DJL model's logits in inference mode.
     *
     * @param images {@code count * 784} normalized pixels
     * @param count the number of images
     * @return {@code count * 10} logits
     * @throws Exception if the forward pass fails
     */
    float[] logits(float[] images, int count) throws Exception {
        try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator());
                NDManager manager = model.getNDManager().newSubManager()) {
            NDArray x = manager.create(images, inputShape(count));
            return predictor.predict(new NDList(x)).singletonOrThrow().toFloatArray();
        }
    }

    @Override
    public void close() {
        model.close();
    }

    private void train(FashionMnist.Split train, float mean, float std) {
        Engine.getInstance().setRandomSeed(config.seed());
        int steps = config.epochs() * ((train.size() + config.batchSize() - 1) / config.batchSize());
        Adam adam = Adam.builder().optLearningRateTracker(CosineTracker.builder()
                .setBaseValue(config.learningRate()).optFinalValue(config.learningRate() / 100)
                .setMaxUpdates(steps).build()).build();
        DefaultTrainingConfig trainingConfig =
                new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                        .optOptimizer(adam).addEvaluator(new Accuracy())
                        .addTrainingListeners(new ProgressListener());
        try (NDManager data = model.getNDManager().newSubManager();
                Trainer trainer = model.newTrainer(trainingConfig)) {
            NDArray x = data.create(train.normalized(0, train.size(), mean, std),
                    inputShape(train.size()));
            NDArray y = data.create(train.labels()).toType(DataType.INT64, false);
            ArrayDataset dataset = new ArrayDataset.Builder().setData(x).optLabels(y)
                    .setSampling(config.batchSize(), true).build();
            trainer.initialize(inputShape(config.batchSize()));
            EasyTrain.fit(trainer, config.epochs(), dataset, null);
        } catch (IOException | ai.djl.translate.TranslateException e) {
            throw new IllegalStateException("training " + config.key() + " failed", e);
        }
    }

    /** One line per epoch, so that a slow machine shows where training is. */
    private static final class ProgressListener extends TrainingListenerAdapter {

        private final long start = System.nanoTime();
        private int epoch;

        @Override
        public void onEpoch(Trainer trainer) {
            epoch++;
            System.out.printf(java.util.Locale.ROOT, "SmallResNetTrainer: epoch %d done, %.0f s%n",
                    epoch, (System.nanoTime() - start) / 1e9);
        }
    }

    private static Shape inputShape(long batch) {
        return new Shape(batch, 1, FashionMnist.SIDE, FashionMnist.SIDE);
    }

    /** Mirrors ResNet's graph for basic blocks with the small-image stem. */
    private Block network() {
        SequentialBlock net = new SequentialBlock();
        int width = config.baseWidth();
        net.add(convBn("conv1", "bn1", width, 3, config.stemStride()))
                .add(Activation.reluBlock());
        int[] blocks = config.depth() == 18 ? new int[] {2, 2, 2, 2} : new int[] {3, 4, 6, 3};
        int channels = width;
        for (int stage = 0; stage < blocks.length; stage++) {
            for (int block = 0; block < blocks[stage]; block++) {
                int stride = stage > 0 && block == 0 ? 2 : 1;
                int out = width << stage;
                String prefix = "layer" + (stage + 1) + "." + block + ".";
                SequentialBlock main = new SequentialBlock()
                        .add(convBn(prefix + "conv1", prefix + "bn1", out, 3, stride))
                        .add(Activation.reluBlock())
                        .add(convBn(prefix + "conv2", prefix + "bn2", out, 3, 1));
                Block shortcut = stride != 1 || channels != out
                        ? convBn(prefix + "downsample.0", prefix + "downsample.1", out, 1, stride)
                        : Blocks.identityBlock();
                net.add(new ParallelBlock(list -> new NDList(list.get(0).singletonOrThrow()
                        .add(list.get(1).singletonOrThrow())), List.of(main, shortcut)))
                        .add(Activation.reluBlock());
                channels = out;
            }
        }
        Linear fc = Linear.builder().setUnits(FashionMnist.CLASSES).build();
        named.put("fc", fc);
        return net.add(Pool.globalAvgPool2dBlock()).add(Blocks.batchFlattenBlock()).add(fc);
    }

    private SequentialBlock convBn(String conv, String bn, int filters, int kernel, int stride) {
        Conv2d convolution = Conv2d.builder().setFilters(filters)
                .setKernelShape(new Shape(kernel, kernel)).optStride(new Shape(stride, stride))
                .optPadding(new Shape(kernel / 2, kernel / 2)).optBias(false).build();
        // ONNX's BatchNormalization epsilon in the builder is 1e-5; DJL's momentum 0.9 is
        // PyTorch's 0.1.
        BatchNorm norm = BatchNorm.builder().optEpsilon(1e-5f).optMomentum(0.9f).build();
        named.put(conv, convolution);
        named.put(bn, norm);
        return new SequentialBlock().add(convolution).add(norm);
    }
}
