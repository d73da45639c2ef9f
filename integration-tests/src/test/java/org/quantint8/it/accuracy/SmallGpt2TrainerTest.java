package org.quantint8.it.accuracy;

import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import ai.djl.ndarray.index.NDIndex;

import org.testng.annotations.Test;

import java.util.Random;

/**
 * A training step whose loss turns NaN stops the training with a diagnosis: the parameter that
 * holds it and the step of the forward pass that first produces one.
 */
public class SmallGpt2TrainerTest {

    private static final SmallGpt2Trainer.Config TINY =
            new SmallGpt2Trainer.Config(1, 16, 2, 8, 29, 6, 2, 1e-3f, 7);

    @Test
    public void aLossThatTurnsNonFiniteStopsTrainingWithADiagnosis() {
        try (SmallGpt2Trainer trainer = new SmallGpt2Trainer(TINY)) {
            trainer.setStepHook((network, step) -> {
                if (step == 2) {
                    network.getParameters().get("ln_f.weight").getArray()
                            .set(new NDIndex(0), Float.NaN);
                }
            });
            IllegalStateException failure =
                    expectThrows(IllegalStateException.class, () -> trainer.train(tokens()));
            String message = failure.getMessage();
            assertTrue(message.contains("the loss of step 3 of 6 is NaN"), message);
            assertTrue(message.contains("ln_f.weight: 1 of 16 non-finite"), message);
            assertTrue(message.contains("first non-finite at 'ln_f'"), message);
            assertTrue(message.contains(AccuracyReport.cpuSignature()), message);
        }
    }

    @Test
    public void aHealthyTrainingEndsWithAFiniteLoss() {
        try (SmallGpt2Trainer trainer = new SmallGpt2Trainer(TINY)) {
            trainer.train(tokens());
            assertTrue(Float.isFinite(trainer.finalLoss()), "loss " + trainer.finalLoss());
        }
    }

    private static long[] tokens() {
        Random random = new Random(11);
        long[] tokens = new long[200];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(TINY.vocabSize());
        }
        return tokens;
    }
}
