package org.quantint8.calibration;

import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * A chain of small square linear layers over calibration samples. A quantized layer fake-quantizes
 * its input (UINT8 per tensor, min-max per call) and its weights (INT8 per output channel).
 * Layer "fc2" is made sensitive: every row of its weights holds an outlier 400 times larger than
 * the rest on an input channel that fc1 keeps nearly silent, so the outlier hardly affects the FP32
 * output but sets every row's INT8 scale, flattening the weights that matter.
 */
final class ToyModel implements LayerwiseQuantizableModel {

    static final int WIDTH = 16;
    static final List<String> LAYERS = List.of("fc0", "fc1", "fc2", "fc3");

    private final List<float[]> weights = new ArrayList<>();
    private final List<float[]> samples = new ArrayList<>();
    private final double outputNoise;
    private final Random noise = new Random(99);

    ToyModel(Random random, int sampleCount, double outputNoise) {
        this.outputNoise = outputNoise;
        for (String layer : LAYERS) {
            float[] w = SyntheticData.gaussian(random, WIDTH * WIDTH, 1 / Math.sqrt(WIDTH));
            if (layer.equals("fc1")) {
                // Output channel 0 of fc1 (input channel 0 of fc2) is nearly silent...
                for (int i = 0; i < WIDTH; i++) {
                    w[i] *= 1e-3f;
                }
            }
            if (layer.equals("fc2")) {
                // ...so fc2's huge weights on it barely matter in FP32 but set every row's scale.
                for (int row = 0; row < WIDTH; row++) {
                    w[row * WIDTH] = 100f;
                }
            }
            weights.add(w);
        }
        for (int s = 0; s < sampleCount; s++) {
            samples.add(SyntheticData.gaussian(random, WIDTH, 1));
        }
    }

    float[] weight(String layer) {
        return weights.get(LAYERS.indexOf(layer));
    }

    @Override
    public List<String> getQuantizableLayers() {
        return LAYERS;
    }

    @Override
    public List<float[]> run(Set<String> quantizedLayers) {
        List<float[]> outputs = new ArrayList<>();
        for (float[] sample : samples) {
            float[] x = sample;
            for (int l = 0; l < LAYERS.size(); l++) {
                float[] w = weights.get(l);
                if (quantizedLayers.contains(LAYERS.get(l))) {
                    x = fakeQuantizeActivation(x);
                    w = fakeQuantizeWeight(w);
                }
                x = multiply(x, w);
            }
            for (int i = 0; i < x.length && outputNoise > 0; i++) {
                x[i] += (float) (noise.nextGaussian() * outputNoise);
            }
            outputs.add(x);
        }
        return outputs;
    }

    static float[] fakeQuantizeWeight(float[] w) {
        PerChannelObserver observer =
                new PerChannelObserver("w", QuantizationScheme.SYMMETRIC_INT8, 0, ObserverFactory.minMax());
        observer.observe(w, new Shape(WIDTH, WIDTH));
        return QuantizationError.fakeQuantize(w, new Shape(WIDTH, WIDTH), observer.computeParameters());
    }

    private static float[] fakeQuantizeActivation(float[] x) {
        Observer observer = ObserverFactory.minMax().create("x", QuantizationScheme.ASYMMETRIC_UINT8);
        observer.observe(x);
        return QuantizationError.fakeQuantize(x, observer.computeParameters());
    }

    private static float[] multiply(float[] x, float[] w) {
        float[] y = new float[WIDTH];
        for (int o = 0; o < WIDTH; o++) {
            double sum = 0;
            for (int i = 0; i < WIDTH; i++) {
                sum += (double) x[i] * w[o * WIDTH + i];
            }
            y[o] = (float) sum;
        }
        return y;
    }
}
