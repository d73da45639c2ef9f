package org.quantint8.it.accuracy;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import org.testng.annotations.Test;

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

    /** Runs loadOrTrain on a fresh Linear block; training sets its weight to 1, 2, 3, 4. */
    private static float[] outcomeOf(Path file, boolean expectTraining) throws IOException {
        try (Model model = Model.newInstance("linear", "PyTorch")) {
            Linear linear = Linear.builder().setUnits(2).optBias(false).build();
            model.setBlock(linear);
            boolean[] trainedNow = {false};
            TrainedParameterCache.Outcome outcome = TrainedParameterCache.loadOrTrain(file, MAGIC,
                    "linear", linear, model.getNDManager(), new Shape(1, 2), () -> {
                        linear.initialize(model.getNDManager(), DataType.FLOAT32,
                                new Shape(1, 2));
                        linear.getParameters().get("weight").getArray()
                                .set(new float[] {1, 2, 3, 4});
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
