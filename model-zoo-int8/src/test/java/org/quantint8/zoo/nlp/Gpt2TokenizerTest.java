package org.quantint8.zoo.nlp;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertThrows;
import static org.testng.Assert.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;

import org.quantint8.zoo.architectures.Gpt2;
import org.testng.annotations.Test;

import java.nio.file.Path;

/** GPT-2's BPE, and text in, text out through a small random GPT-2 with the full vocabulary. */
public class Gpt2TokenizerTest {

    private final Gpt2Tokenizer tokenizer = Gpt2Tokenizer.getInstance();

    @Test
    public void encodesAsGpt2() {
        assertEquals(tokenizer.encode("Hello world"), new long[] {15496, 995});
        assertEquals(tokenizer.encode(""), new long[0]);
        String text = "Perplexity of naïve text — with ümlauts, 数字 and spaces  here.";
        assertEquals(tokenizer.decode(tokenizer.encode(text)), text);
    }

    @Test
    public void endOfTextIsNeverForgedByText() {
        long[] ids = tokenizer.encode("<|endoftext|>");
        assertTrue(ids.length > 1);
        for (long id : ids) {
            assertTrue(id != Gpt2Tokenizer.END_OF_TEXT);
        }
        assertEquals(tokenizer.decode(new long[] {Gpt2Tokenizer.END_OF_TEXT}), "<|endoftext|>");
    }

    @Test
    public void rejectsIdsOutsideTheVocabulary() {
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new long[] {50257}));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new long[] {-1}));
    }

    @Test
    public void generatesAndScoresText() throws Exception {
        Path folder = ModelFolders.write(Gpt2.builder().optNumLayers(1).optNumHeads(2)
                .optHiddenSize(8).optContextLength(32).optSeed(5).build());
        try (ZooModel<NDList, NDList> model = ModelFolders.load(folder, ModelFolders.QUANT_INT8,
                false, NDList.class, NDList.class, new NoopTranslator());
                Gpt2LanguageModel lm = Gpt2LanguageModel.builder().setModel(model)
                        .setCacheShape(1, 2, 4).optContextLength(32).build()) {
            GenerationConfig config = GenerationConfig.builder().optMaxNewTokens(5)
                    .optEndOfText(-1).build();
            String prompt = "The history of the United States";
            long[] tokens = lm.generate(tokenizer.encode(prompt), config);
            assertEquals(lm.generate(prompt, config), tokenizer.decode(tokens));
            double perplexity = lm.perplexity(prompt);
            assertEquals(perplexity, lm.perplexity(tokenizer.encode(prompt)));
            // Random weights of scale 0.02 predict almost uniformly over 50,257 tokens.
            assertTrue(perplexity > 10_000 && perplexity < 100_000, "perplexity " + perplexity);
            assertThrows(IllegalArgumentException.class, () -> lm.perplexity("Hello"));
        }
    }
}
