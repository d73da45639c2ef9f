package org.quantint8.zoo.cv;

import ai.djl.Model;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.translator.ImageClassificationTranslator;
import ai.djl.modality.cv.translator.ImageClassificationTranslatorFactory;
import ai.djl.translate.Translator;

import java.util.HashMap;
import java.util.Map;

/**
 * Creates DJL's {@link ImageClassificationTranslator} with the preprocessing ResNet was trained
 * with: the shorter side resized to 256 (bilinear), a 224 x 224 center crop, {@code [0, 1]}
 * scaling to CHW float ({@code ToTensor}), normalization by ImageNet's mean and standard
 * deviation, batched as {@code [N, 3, 224, 224]} ({@code pixel_values}); the logits go through a
 * softmax and the 5 most likely classes are reported by default.
 *
 * <p>DJL's translator and transforms already do all of this, so this factory only fixes their
 * arguments; any DJL argument given overrides the defaults ({@code width}, {@code height}, {@code
 * resizeShort}, {@code centerCrop}, {@code normalize}, {@code applySoftmax}, {@code topK}, {@code
 * synset}, {@code synsetFileName}...). Class names come from {@code synset.txt} in the model
 * folder unless {@code synset} (comma-separated) or {@code synsetFileName} says otherwise. Like
 * DJL's factory it also accepts {@code Path}, {@code URL}, {@code InputStream} and {@code String}
 * inputs.
 *
 * <p>The image transforms run on the alternative engine of the model's NDManager (PyTorch for
 * QuantInt8), so they work with both QuantInt8 and ONNX Runtime models.
 */
public class ResNetTranslatorFactory extends ImageClassificationTranslatorFactory {

    /** The crop side of ImageNet evaluation. */
    public static final int IMAGE_SIZE = 224;
    /** The shorter side an image is resized to before the crop. */
    public static final int RESIZE_SHORT = 256;

    /** {@inheritDoc} */
    @Override
    protected Translator<Image, Classifications> buildBaseTranslator(
            Model model, Map<String, ?> arguments) {
        return translatorBuilder(arguments).build();
    }

    /**
     * Returns DJL's builder configured for ResNet, for code that builds the translator itself.
     *
     * @param arguments DJL arguments overriding the defaults; may be empty
     * @return the builder
     */
    public static ImageClassificationTranslator.Builder translatorBuilder(
            Map<String, ?> arguments) {
        Map<String, Object> merged = new HashMap<>();
        merged.put("width", IMAGE_SIZE);
        merged.put("height", IMAGE_SIZE);
        merged.put("resizeShort", Integer.toString(RESIZE_SHORT));
        merged.put("centerCrop", "true");
        merged.put("normalize", "true");
        merged.put("applySoftmax", "true");
        merged.put("topK", 5);
        merged.putAll(arguments);
        return ImageClassificationTranslator.builder(merged);
    }
}
