package org.quantint8.demo;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.Int8Kernels;
import org.quantint8.ndarray.Int8Ops;
import org.quantint8.ndarray.Int8Output;
import org.quantint8.ndarray.QuantInt8NDArray;

import java.util.Locale;

/**
 * The README's main job: quantizes a BERT-base-sized feed-forward layer (768 to 3072, seeded
 * random weights) to INT8 with per-channel weights and dynamically quantized activations, and
 * prints the weight sizes and the output error against FP32.
 */
public final class Main {

    private static final long SEED = 42;
    private static final int TOKENS = 128;
    private static final int IN = 768;
    private static final int OUT = 3072;

    private Main() {}

    /**
     * Runs the job.
     *
     * @param args unused
     */
    public static void main(String[] args) {
        Engine engine = Engine.getEngine("QuantInt8");
        try (NDManager manager = engine.newBaseManager()) {
            manager.getEngine().setRandomSeed((int) SEED);
            Engine.getEngine("PyTorch").setRandomSeed((int) SEED);
            // Weight scale like a trained BERT layer's (std about 0.04); unit-variance input.
            NDArray weight = manager.randomNormal(0f, 0.04f, new Shape(OUT, IN), DataType.FLOAT32);
            NDArray bias = manager.randomNormal(0f, 0.02f, new Shape(OUT), DataType.FLOAT32);
            NDArray input = manager.randomNormal(0f, 1f, new Shape(TOKENS, IN), DataType.FLOAT32);

            NDArray expected = input.matMul(weight.transpose()).add(bias);
            QuantInt8NDArray qWeight = Int8Ops.quantizePerChannel(weight, 0);
            NDArray actual = Int8Ops.linear(input, qWeight, bias, Int8Output.float32());

            long fp32Bytes = weight.getShape().size() * 4;
            long int8Bytes = qWeight.getShape().size() + OUT * (4L + 1L); // codes, scales, zeros
            Error error = Error.between(expected.toFloatArray(), actual.toFloatArray());

            System.out.println(engine + ", INT8 kernels: " + Int8Kernels.best().name());
            System.out.printf(Locale.ROOT, "linear layer %d -> %d, %d tokens, seed %d%n",
                    IN, OUT, TOKENS, SEED);
            System.out.printf(Locale.ROOT,
                    "weights: FP32 %,d bytes, INT8 %,d bytes (codes + per-channel scales and zero"
                            + " points): %.2fx smaller%n",
                    fp32Bytes, int8Bytes, (double) fp32Bytes / int8Bytes);
            System.out.printf(Locale.ROOT,
                    "output vs FP32 (PyTorch): SQNR %.1f dB, cosine %.6f, max |error| %.5f"
                            + " (%.3f%% of max |y|)%n",
                    error.sqnrDb, error.cosine, error.maxAbs, 100 * error.maxAbs / error.maxRef);
        }
    }

    /** Error statistics of an approximation against a reference. */
    private record Error(double sqnrDb, double cosine, double maxAbs, double maxRef) {

        static Error between(float[] reference, float[] approx) {
            double signal = 0;
            double noise = 0;
            double dot = 0;
            double approxNorm = 0;
            double maxAbs = 0;
            double maxRef = 0;
            for (int i = 0; i < reference.length; i++) {
                double r = reference[i];
                double a = approx[i];
                signal += r * r;
                noise += (r - a) * (r - a);
                dot += r * a;
                approxNorm += a * a;
                maxAbs = Math.max(maxAbs, Math.abs(r - a));
                maxRef = Math.max(maxRef, Math.abs(r));
            }
            double sqnr = 10 * Math.log10(signal / noise);
            return new Error(sqnr, dot / Math.sqrt(signal * approxNorm), maxAbs, maxRef);
        }
    }
}
