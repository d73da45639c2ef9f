package org.quantint8.zoo.architectures;

import org.quantint8.onnx.OnnxAttribute;
import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxModel;

import java.util.List;

/**
 * ResNet (He et al., 2015), version 1.5 as in torchvision and Hugging Face (the stride of a
 * bottleneck sits on its 3x3 convolution), as an ONNX graph shaped like a PyTorch export in
 * inference mode: {@code Conv} without bias, {@code BatchNormalization} with running statistics,
 * {@code Relu}, {@code MaxPool}, {@code GlobalAveragePool}, {@code Flatten}, {@code Gemm}.
 *
 * <pre>{@code
 * OnnxModel resnet50 = ResNet.builder().build();                          // 25,557,032 parameters
 * OnnxModel small = ResNet.builder().optDepth(18).optNumClasses(10).build();
 * OnnxModel mnist = ResNet.builder().optDepth(18).optInputChannels(1).optImageSize(28)
 *         .optSmallImageStem(true).optNumClasses(10).build();         // 28 x 28 grayscale
 * }</pre>
 *
 * <p>Input: {@value #PIXEL_VALUES}, float {@code [batch, channels, size, size]} (3 channels and
 * 224 by default).
 * Output: {@value #LOGITS} {@code [batch, classes]}.
 *
 * <p>Parameter names are torchvision's: {@code conv1.weight}, {@code
 * bn1.weight|bias|running_mean|running_var}; for stage {@code s} (1 to 4) and block {@code b},
 * {@code layer<s>.<b>.conv<k>.weight} and {@code layer<s>.<b>.bn<k>.*} ({@code k} up to 2 for
 * basic blocks, 3 for bottlenecks), and {@code layer<s>.0.downsample.0.weight} with {@code
 * layer<s>.0.downsample.1.*} where the shortcut is projected; {@code fc.weight} {@code [classes,
 * features]}, {@code fc.bias}. Convolution kernels are {@code [out, in, kh, kw]}.
 */
public final class ResNet {

    /** The image input. */
    public static final String PIXEL_VALUES = "pixel_values";
    /** The class scores output. */
    public static final String LOGITS = "logits";

    private static final String BATCH = "batch";

    private ResNet() {}

    /**
     * Returns a builder, configured for ResNet-50 with 1000 classes.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds ResNet graphs. */
    public static final class Builder extends ArchitectureBuilder<Builder> {

        private int depth = 50;
        private int numClasses = 1000;
        private int baseWidth = 64;
        private int imageSize = 224;
        private int inputChannels = 3;
        private boolean smallImageStem;
        private int smallStemStride = 1;

        Builder() {}

        /**
         * Sets the depth: 18 or 34 (basic blocks), 50, 101 or 152 (bottleneck blocks).
         *
         * @param depth the depth; 50 by default
         * @return this builder
         */
        public Builder optDepth(int depth) {
            blocksPerStage(depth);
            this.depth = depth;
            return this;
        }

        /**
         * Sets the number of classes.
         *
         * @param numClasses the number of classes; 1000 by default
         * @return this builder
         */
        public Builder optNumClasses(int numClasses) {
            this.numClasses = positive("numClasses", numClasses);
            return this;
        }

        /**
         * Sets the width of the first stage; later stages double it. Smaller than the standard
         * 64 only for tests and experiments.
         *
         * @param baseWidth the width; 64 by default
         * @return this builder
         */
        public Builder optBaseWidth(int baseWidth) {
            this.baseWidth = positive("baseWidth", baseWidth);
            return this;
        }

        /**
         * Sets the declared height and width of the input image.
         *
         * @param imageSize the size; 224 by default
         * @return this builder
         */
        public Builder optImageSize(int imageSize) {
            this.imageSize = positive("imageSize", imageSize);
            return this;
        }

        /**
         * Sets the number of channels of the input image, for example 1 for grayscale.
         *
         * @param inputChannels the number of channels; 3 by default
         * @return this builder
         */
        public Builder optInputChannels(int inputChannels) {
            this.inputChannels = positive("inputChannels", inputChannels);
            return this;
        }

        /**
         * Chooses the stem for small images (such as 28 x 28 or 32 x 32): {@code conv1} is a 3 x 3
         * convolution with stride 1 and no max pool follows it, so the first stage sees the image
         * at full resolution instead of downsampled four times. The parameter names stay the
         * same; only the shape of {@code conv1.weight} changes to {@code [width, channels, 3,
         * 3]}.
         *
         * @param smallImageStem whether to use it; {@code false} (the 7 x 7, stride 2 convolution
         *     and 3 x 3 max pool of ImageNet models) by default
         * @return this builder
         */
        public Builder optSmallImageStem(boolean smallImageStem) {
            this.smallImageStem = smallImageStem;
            return this;
        }

        /**
         * Sets the stride of the small-image stem's 3 x 3 convolution ({@link
         * #optSmallImageStem(boolean)}): 2 halves the resolution of every stage, a quarter of the
         * compute, for images where full resolution is more than the task needs.
         *
         * @param stride 1 (the default) or 2
         * @return this builder
         * @throws IllegalArgumentException if the stride is not 1 or 2
         */
        public Builder optSmallStemStride(int stride) {
            if (stride != 1 && stride != 2) {
                throw new IllegalArgumentException("small stem stride must be 1 or 2, got " + stride);
            }
            this.smallStemStride = stride;
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public OnnxModel build() {
            GraphEmitter emitter = newEmitter("resnet" + depth);
            new ResNetGraph(this, emitter).emit();
            return emitter.build(
                    String.format(
                            "ResNet-%d: base width %d, %d classes", depth, baseWidth, numClasses));
        }

        /** {@inheritDoc} */
        @Override
        protected Builder self() {
            return this;
        }
    }

    private static int[] blocksPerStage(int depth) {
        return switch (depth) {
            case 18 -> new int[] {2, 2, 2, 2};
            case 34, 50 -> new int[] {3, 4, 6, 3};
            case 101 -> new int[] {3, 4, 23, 3};
            case 152 -> new int[] {3, 8, 36, 3};
            default ->
                    throw new IllegalArgumentException(
                            "ResNet depth must be 18, 34, 50, 101 or 152, got " + depth);
        };
    }

    /** Emits one ResNet graph from a builder's configuration. */
    private static final class ResNetGraph {

        private final Builder config;
        private final GraphEmitter emitter;
        private final boolean bottleneck;
        private long channels;

        ResNetGraph(Builder config, GraphEmitter emitter) {
            this.config = config;
            this.emitter = emitter;
            this.bottleneck = config.depth >= 50;
        }

        void emit() {
            emitter.input(PIXEL_VALUES, OnnxDataType.FLOAT, BATCH, (long) config.inputChannels,
                    (long) config.imageSize, (long) config.imageSize);
            emitter.output(LOGITS, OnnxDataType.FLOAT, BATCH, (long) config.numClasses);
            long width = config.baseWidth;
            String x = stem(width);
            channels = width;
            int[] blocks = blocksPerStage(config.depth);
            for (int stage = 0; stage < blocks.length; stage++) {
                for (int block = 0; block < blocks[stage]; block++) {
                    int stride = stage > 0 && block == 0 ? 2 : 1;
                    String prefix = "layer" + (stage + 1) + "." + block + ".";
                    emitter.setScope("layer" + (stage + 1) + "/" + block);
                    x = residualBlock(x, prefix, width << stage, stride);
                }
            }
            head(x);
        }

        private String stem(long width) {
            emitter.setScope("stem");
            if (config.smallImageStem) {
                return relu(convBn(PIXEL_VALUES, "conv1", "bn1", config.inputChannels, width, 3,
                        config.smallStemStride));
            }
            String x = relu(convBn(PIXEL_VALUES, "conv1", "bn1", config.inputChannels, width, 7, 2));
            return emitter.node("MaxPool", List.of(x), OnnxAttribute.ofInts("kernel_shape", 3, 3),
                    OnnxAttribute.ofInts("strides", 2, 2), OnnxAttribute.ofInts("pads", 1, 1, 1, 1));
        }

        private String residualBlock(String x, String prefix, long width, int stride) {
            long out = bottleneck ? 4 * width : width;
            String y;
            if (bottleneck) {
                y = relu(convBn(x, prefix + "conv1", prefix + "bn1", channels, width, 1, 1));
                y = relu(convBn(y, prefix + "conv2", prefix + "bn2", width, width, 3, stride));
                y = convBn(y, prefix + "conv3", prefix + "bn3", width, out, 1, 1);
            } else {
                y = relu(convBn(x, prefix + "conv1", prefix + "bn1", channels, width, 3, stride));
                y = convBn(y, prefix + "conv2", prefix + "bn2", width, width, 3, 1);
            }
            String shortcut = x;
            if (stride != 1 || channels != out) {
                shortcut = convBn(x, prefix + "downsample.0", prefix + "downsample.1", channels,
                        out, 1, stride);
            }
            channels = out;
            return relu(emitter.node("Add", List.of(y, shortcut)));
        }

        private String convBn(String x, String conv, String bn, long in, long out, int kernel,
                int stride) {
            String weight = emitter.parameter(conv + ".weight", WeightInit.kaimingNormalFanOut(),
                    out, in, kernel, kernel);
            int pad = kernel / 2;
            String y = emitter.node("Conv", List.of(x, weight),
                    OnnxAttribute.ofInts("kernel_shape", kernel, kernel),
                    OnnxAttribute.ofInts("strides", stride, stride),
                    OnnxAttribute.ofInts("pads", pad, pad, pad, pad));
            return emitter.node("BatchNormalization", List.of(y,
                    emitter.parameter(bn + ".weight", WeightInit.ones(), out),
                    emitter.parameter(bn + ".bias", WeightInit.zeros(), out),
                    emitter.parameter(bn + ".running_mean", WeightInit.normal(0.1), out),
                    emitter.parameter(bn + ".running_var", WeightInit.uniform(0.5, 1.5), out)),
                    OnnxAttribute.ofFloat("epsilon", 1e-5f));
        }

        private String relu(String x) {
            return emitter.node("Relu", List.of(x));
        }

        private void head(String x) {
            emitter.setScope("head");
            String pooled = emitter.node("GlobalAveragePool", List.of(x));
            String flat = emitter.node("Flatten", List.of(pooled), OnnxAttribute.ofInt("axis", 1));
            double bound = 1 / Math.sqrt(channels);
            WeightInit init = WeightInit.uniform(-bound, bound);
            String weight = emitter.parameter("fc.weight", init, config.numClasses, channels);
            String bias = emitter.parameter("fc.bias", init, config.numClasses);
            emitter.nodeTo("Gemm", LOGITS, List.of(flat, weight, bias),
                    OnnxAttribute.ofInt("transB", 1));
        }
    }
}
