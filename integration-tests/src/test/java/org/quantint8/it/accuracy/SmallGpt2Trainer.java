package org.quantint8.it.accuracy;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Adam;
import ai.djl.training.tracker.CosineTracker;
import ai.djl.training.tracker.WarmUpTracker;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;

import org.quantint8.zoo.architectures.Gpt2;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Trains, with DJL's PyTorch engine, a small GPT-2 ({@link Gpt2TrainingNetwork}: the graph
 * {@link Gpt2}'s builder emits, with a tied head over a {@link CompactVocabulary} of GPT-2's
 * BPE) on a token stream of compact ids,
 * by next-token cross-entropy over random windows of the context length; hands its parameters
 * over under the builder's names. The trained parameters are cached ({@link
 * TrainedParameterCache}) in a file keyed by the configuration, so a rerun skips training.
 */
final class SmallGpt2Trainer implements AutoCloseable {

    private static final int MAGIC = 0x51475031; // "QGP1"

    /**
     * What is trained, and how; {@link #key()} names the cache file.
     *
     * @param numLayers transformer blocks
     * @param hidden the hidden size
     * @param numHeads attention heads
     * @param context the context length, also the training window
     * @param keptTokens the GPT-2 token ids kept by the {@link CompactVocabulary}; the model's
     *     vocabulary is one more, the rare-token id
     * @param steps optimizer steps
     * @param batchSize windows per step
     * @param learningRate Adam's peak learning rate, reached after a linear warm-up of 5% of the
     *     steps, then decayed to 1% along a cosine
     * @param seed the seed of DJL's engine (initialization) and of the window sampling
     */
    record Config(int numLayers, int hidden, int numHeads, int context, int keptTokens,
            int steps, int batchSize, float learningRate, int seed) {

        /**
         * Returns the cache key: every field, so another configuration never reuses weights.
         *
         * @return a file-name-safe key
         */
        String key() {
            return String.format(Locale.ROOT, "gpt2-l%d-h%d-a%d-c%d-v%d-n%d-b%d-lr%s-s%d",
                    numLayers, hidden, numHeads, context, keptTokens, steps, batchSize,
                    Float.toString(learningRate), seed);
        }

        /**
         * Returns the model's vocabulary size: the kept tokens and the rare-token id.
         *
         * @return {@code keptTokens + 1}
         */
        int vocabSize() {
            return keptTokens + 1;
        }

        /**
         * Returns the ONNX builder for this architecture, without weights.
         *
         * @return the builder
         */
        Gpt2.Builder onnxBuilder() {
            return Gpt2.builder().optNumLayers(numLayers).optHiddenSize(hidden)
                    .optNumHeads(numHeads).optVocabSize(vocabSize())
                    .optContextLength(context);
        }
    }

    private final Config config;
    private final Model model;
    private final Gpt2TrainingNetwork network;
    private TrainedParameterCache.Outcome outcome;
    private float finalLoss = Float.NaN;
    private StepHook stepHook = (network, step) -> { };

    /** What a test may do to the network before a training step. */
    interface StepHook {

        /**
         * Runs before a step.
         *
         * @param network the network being trained
         * @param step the step, from 0
         */
        void before(Gpt2TrainingNetwork network, int step);
    }

    /**
     * Creates the (untrained) DJL model.
     *
     * @param config the configuration
     */
    SmallGpt2Trainer(Config config) {
        this.config = config;
        this.network = new Gpt2TrainingNetwork(config.numLayers(), config.hidden(),
                config.numHeads(), config.vocabSize(), config.context());
        this.model = Model.newInstance("sotu-" + config.key(), "PyTorch");
        model.setBlock(network);
    }

    /**
     * Loads the parameters from the cache, or trains and caches them.
     *
     * @param cacheDir the cache folder
     * @param tokens the training token stream (compact ids), longer than the context
     * @throws IOException if the cache cannot be written
     */
    void trainOrLoad(Path cacheDir, long[] tokens) throws IOException {
        outcome = TrainedParameterCache.loadOrTrain(cacheDir.resolve(config.key() + ".params"),
                MAGIC, config.key(), network, model.getNDManager(), windowShape(1),
                () -> train(tokens));
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
     * Returns the mean training loss of the last 5% of the steps of this run's training.
     *
     * @return nats per token; NaN when the parameters came from the cache
     */
    float finalLoss() {
        return finalLoss;
    }

    /**
     * Returns the trained parameters under the ONNX builder's names.
     *
     * @return the values by name, row-major
     */
    Map<String, float[]> onnxWeights() {
        return network.onnxWeights();
    }

    /**
     * Returns the DJL model's logits for one window.
     *
     * @param ids the token ids, at most the context length
     * @return {@code ids.length * vocab} logits
     * @throws TranslateException if the forward pass fails
     */
    float[] logits(long[] ids) throws TranslateException {
        try (Predictor<NDList, NDList> predictor = model.newPredictor(new NoopTranslator());
                NDManager manager = model.getNDManager().newSubManager()) {
            NDArray x = manager.create(ids, new Shape(1, ids.length));
            return predictor.predict(new NDList(x)).singletonOrThrow().toFloatArray();
        }
    }

    @Override
    public void close() {
        model.close();
    }

    /**
     * Sets what runs before each training step, for tests that break the network on purpose.
     *
     * @param hook the hook
     */
    void setStepHook(StepHook hook) {
        this.stepHook = hook;
    }

    /**
     * Trains in this JVM, without the cache.
     *
     * @param tokens the training token stream (compact ids), longer than the context
     * @throws IllegalStateException if a step's loss is NaN or infinite, with a diagnosis
     */
    void train(long[] tokens) {
        if (tokens.length <= config.context() + 1) {
            throw new IllegalArgumentException("the training text has " + tokens.length
                    + " tokens, not more than the context " + config.context());
        }
        ai.djl.engine.Engine.getInstance().setRandomSeed(config.seed());
        int warmUp = Math.max(1, config.steps() / 20);
        Adam adam = Adam.builder().optLearningRateTracker(WarmUpTracker.builder()
                .optWarmUpSteps(warmUp).optWarmUpBeginValue(0f)
                .setMainTracker(CosineTracker.builder().setBaseValue(config.learningRate())
                        .optFinalValue(config.learningRate() / 100)
                        .setMaxUpdates(config.steps() - warmUp).build())
                .build()).build();
        DefaultTrainingConfig trainingConfig =
                new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()).optOptimizer(adam);
        Random random = new Random(config.seed());
        int rows = config.batchSize() * config.context();
        long start = System.nanoTime();
        double tail = 0;
        int tailSteps = Math.max(1, config.steps() / 20);
        float[] recent = new float[5];
        try (Trainer trainer = model.newTrainer(trainingConfig)) {
            trainer.initialize(windowShape(config.batchSize()));
            for (int step = 0; step < config.steps(); step++) {
                long[] input = new long[rows];
                long[] target = new long[rows];
                for (int b = 0; b < config.batchSize(); b++) {
                    int from = random.nextInt(tokens.length - config.context());
                    System.arraycopy(tokens, from, input, b * config.context(), config.context());
                    System.arraycopy(tokens, from + 1, target, b * config.context(),
                            config.context());
                }
                stepHook.before(network, step);
                float loss = step(trainer, input, target, step, recent);
                recent[step % recent.length] = loss;
                if (step >= config.steps() - tailSteps) {
                    tail += loss;
                }
                if ((step + 1) % 50 == 0 || step + 1 == config.steps()) {
                    System.out.printf(Locale.ROOT, "SmallGpt2Trainer: step %d/%d, loss %.3f,"
                            + " %.0f s%n", step + 1, config.steps(), loss,
                            (System.nanoTime() - start) / 1e9);
                }
            }
        }
        finalLoss = (float) (tail / tailSteps);
    }

    /**
     * One optimizer step on a batch of windows; returns the batch's mean cross-entropy. A loss
     * or a gradient that is NaN or infinite fails the training before the update, with a
     * diagnosis: which gradients, or which parameters hold non-finite values and which step of
     * a checked forward pass over the same batch first produces one.
     */
    private float step(Trainer trainer, long[] input, long[] target, int step, float[] recent) {
        try (NDManager batch = trainer.getManager().newSubManager()) {
            NDArray x = batch.create(input, windowShape(config.batchSize()));
            NDArray y = batch.create(target, new Shape(target.length));
            float loss;
            try (GradientCollector collector = trainer.newGradientCollector()) {
                NDArray logits = trainer.forward(new NDList(x)).singletonOrThrow();
                NDArray value = trainer.getLoss().evaluate(new NDList(y),
                        new NDList(logits.reshape(target.length, config.vocabSize())));
                collector.backward(value);
                loss = value.getFloat();
            }
            if (!Float.isFinite(loss)) {
                throw failure(step, loss, diagnosis(batch, x, step, recent));
            }
            String gradients = network.nonFiniteGradients();
            if (!gradients.isEmpty()) {
                // A finite loss with broken gradients: the backward pass read something wrong.
                throw failure(step, loss, ", but gradients are not finite: " + gradients);
            }
            trainer.step();
            return loss;
        }
    }

    /** A step's failure: its loss, what is wrong, and the machine. */
    private IllegalStateException failure(int step, float loss, String detail) {
        return new IllegalStateException(String.format(Locale.ROOT, "%s: the loss of step %d of"
                + " %d is %s%s. %s %s", config.key(), step + 1, config.steps(), loss, detail,
                AccuracyReport.provenance(), AccuracyReport.cpuSignature()));
    }

    /** After a non-finite loss: the losses before, the non-finite parameters, a checked pass. */
    private String diagnosis(NDManager batch, NDArray x, int step, float[] recent) {
        StringBuilder before = new StringBuilder();
        for (int i = Math.max(0, step - recent.length); i < step; i++) {
            before.append(before.length() == 0 ? "" : ", ")
                    .append(String.format(Locale.ROOT, "%.3f", recent[i % recent.length]));
        }
        String parameters = network.nonFiniteParameters();
        String recomputed = network.firstNonFinite(new ParameterStore(batch, false), x);
        // Adam moves a weight by a few learning rates a step and every activation is bounded,
        // so this is not a learning rate to tune: something broke, and this says where.
        return String.format(Locale.ROOT, " (steps before: %s). Parameters: %s. The same forward"
                + " pass checked step by step: %s", before.length() == 0 ? "none" : before,
                parameters.isEmpty() ? "all finite" : parameters,
                recomputed == null ? "finite throughout (the failure did not recur)"
                        : "first non-finite at " + recomputed);
    }

    private Shape windowShape(long batch) {
        return new Shape(batch, config.context());
    }
}
