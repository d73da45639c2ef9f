package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertFalse;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import org.testng.annotations.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The trained-parameters cache file: written and read back, and each damage named. */
public class TrainedParameterCacheTest {

    private static final int MAGIC = 0x54455354;

    @Test
    public void readsBackWhatWasWritten() throws IOException {
        Path file = written("k1", new byte[] {1, 2, 3});
        TrainedParameterCache.Entry entry = TrainedParameterCache.read(file, MAGIC, "k1");
        assertEquals(entry.payload(), new byte[] {1, 2, 3});
        assertEquals(entry.trainingSeconds(), 12.5);
        try (var files = Files.list(file.getParent())) {
            assertEquals(files.count(), 1L, "no temporary file is left behind");
        }
    }

    @Test
    public void rejectsAnotherConfigurationOrFamily() throws IOException {
        Path file = written("k1", new byte[] {1, 2, 3});
        IOException key = expectThrows(IOException.class,
                () -> TrainedParameterCache.read(file, MAGIC, "k2"));
        assertEquals(key.getMessage(), file + " was trained for k1, not k2");
        IOException magic = expectThrows(IOException.class,
                () -> TrainedParameterCache.read(file, MAGIC + 1, "k1"));
        assertTrue(magic.getMessage().contains("not a trained-parameters file"),
                magic.getMessage());
    }

    @Test
    public void rejectsADamagedOrTruncatedPayload() throws IOException {
        Path file = written("k1", new byte[] {1, 2, 3, 4});
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 1;
        Files.write(file, bytes);
        IOException flipped = expectThrows(IOException.class,
                () -> TrainedParameterCache.read(file, MAGIC, "k1"));
        assertEquals(flipped.getMessage(), file + ": SHA-256 mismatch");
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 1));
        IOException truncated = expectThrows(IOException.class,
                () -> TrainedParameterCache.read(file, MAGIC, "k1"));
        assertEquals(truncated.getMessage(), file + ": length differs from the header's 4 bytes");
    }

    @Test
    public void trainsOnceThenLoadsAndRetrainsOverADamagedFile() throws IOException {
        Path file = Files.createTempDirectory("trained-cache").resolve("linear.params");
        float[] trained = outcomeOf(file, true);
        assertEquals(outcomeOf(file, false), trained, "the second block loads the first's values");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 1;
        Files.write(file, bytes);
        assertEquals(outcomeOf(file, true), trained, "a damaged file is trained over");
    }

    @Test
    public void neverCachesParametersThatAreNotFinite() throws IOException {
        Path file = Files.createTempDirectory("trained-cache").resolve("linear.params");
        float[] diverging = {1, Float.NaN, 3, Float.NEGATIVE_INFINITY};
        IllegalStateException diverged = expectThrows(IllegalStateException.class,
                () -> outcomeOf(file, diverging, true));
        assertTrue(diverged.getMessage().startsWith("linear: parameter 'weight' (2, 2) holds 1"
                + " NaN and 1 infinite of 4 values, the first at flat index 1."),
                diverged.getMessage());
        assertFalse(Files.exists(file), "nothing is cached");
    }

    @Test
    public void trainsOverACachedFileWithANaN() throws IOException {
        Path file = Files.createTempDirectory("trained-cache").resolve("linear.params");
        // A file from before the check: written directly, bypassing loadOrTrain.
        try (Model model = Model.newInstance("linear", "PyTorch")) {
            Linear linear = Linear.builder().setUnits(2).optBias(false).build();
            linear.initialize(model.getNDManager(), DataType.FLOAT32, new Shape(1, 2));
            linear.getParameters().get("weight").getArray().set(new float[] {Float.NaN, 2, 3, 4});
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                linear.saveParameters(out);
            }
            TrainedParameterCache.write(file, MAGIC, "linear",
                    new TrainedParameterCache.Entry(1, bytes.toByteArray()));
        }
        assertEquals(outcomeOf(file, true), new float[] {1, 2, 3, 4});
        assertEquals(outcomeOf(file, false), new float[] {1, 2, 3, 4});
    }

    /** Runs loadOrTrain on a fresh Linear block; training sets its weight to 1, 2, 3, 4. */
    private static float[] outcomeOf(Path file, boolean expectTraining) throws IOException {
        return outcomeOf(file, new float[] {1, 2, 3, 4}, expectTraining);
    }

    /** Runs loadOrTrain on a fresh Linear block whose training sets the weight to the values. */
    private static float[] outcomeOf(Path file, float[] trainedValues, boolean expectTraining)
            throws IOException {
        try (Model model = Model.newInstance("linear", "PyTorch")) {
            Linear linear = Linear.builder().setUnits(2).optBias(false).build();
            model.setBlock(linear);
            boolean[] trainedNow = {false};
            TrainedParameterCache.Outcome outcome = TrainedParameterCache.loadOrTrain(file, MAGIC,
                    "linear", linear, model.getNDManager(), new Shape(1, 2), () -> {
                        // As DJL's trainer does, initialize only what holds nothing: training
                        // must not start from values a rejected file left behind.
                        assertFalse(linear.isInitialized(), "training starts from nothing");
                        linear.initialize(model.getNDManager(), DataType.FLOAT32,
                                new Shape(1, 2));
                        linear.getParameters().get("weight").getArray().set(trainedValues);
                        trainedNow[0] = true;
                    });
            assertEquals(outcome.fromCache(), !expectTraining);
            assertEquals(trainedNow[0], expectTraining);
            return linear.getParameters().get("weight").getArray().toFloatArray();
        }
    }

    private static Path written(String key, byte[] payload) throws IOException {
        Path file = Files.createTempDirectory("trained-cache").resolve("sub").resolve("x.params");
        TrainedParameterCache.write(file, MAGIC, key,
                new TrainedParameterCache.Entry(12.5, payload));
        return file;
    }
}
