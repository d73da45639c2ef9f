package org.quantint8.it.accuracy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.translate.TranslateException;

import java.util.ArrayList;
import java.util.List;

/**
 * Masked-LM pseudo-perplexity of a BERT model with its MLM head: every token of every sentence
 * masked in turn (one batch per sentence, a row per masked position), exp of the mean negative
 * log-likelihood of the true tokens. {@code [CLS]} and {@code [SEP]} are not scored.
 */
final class PseudoPerplexity {

    /** {@code [MASK]} in the uncased BERT vocabulary. */
    static final long MASK = 103;

    private PseudoPerplexity() {}

    /**
     * Measures the pseudo-perplexity.
     *
     * @param model a model whose outputs include {@code logits} [batch, sequence, vocabulary]
     * @param tokenizer its tokenizer
     * @param sentences the text
     * @return the pseudo-perplexity
     * @throws TranslateException if the model fails
     */
    static double of(EngineEmbeddings model, HuggingFaceTokenizer tokenizer,
            List<String> sentences) throws TranslateException {
        double nll = 0;
        long tokens = 0;
        for (long[] ids : BertSamples.encode(tokenizer, sentences)) {
            List<long[]> batch = new ArrayList<>(ids.length - 2);
            for (int i = 1; i < ids.length - 1; i++) {
                long[] masked = ids.clone();
                masked[i] = MASK;
                batch.add(masked);
            }
            nll += model.run(batch, outputs -> {
                NDArray logits = outputs.get("logits");
                if (logits == null) {
                    throw new IllegalStateException("the model has no 'logits' output, only "
                            + outputs.getShapes());
                }
                NDArray logProbs = logits.logSoftmax(-1);
                double sum = 0;
                for (int row = 0; row < batch.size(); row++) {
                    sum -= logProbs.getFloat(row, row + 1, ids[row + 1]);
                }
                return sum;
            });
            tokens += batch.size();
        }
        return Math.exp(nll / tokens);
    }
}
