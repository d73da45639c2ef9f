package org.quantint8.it.onnx;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import org.quantint8.it.TestAssets;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Tokenized BERT inputs of the acceptance tests: {@code input_ids}, {@code attention_mask} and
 * {@code token_type_ids}, int64 {@code [batch, seq]}, padded with zeros (mask 0 on pads).
 *
 * @param ids the token ids, row-major
 * @param mask the attention mask
 * @param types the token types
 * @param batch the batch size
 * @param length the padded sequence length
 */
record BertBatches(long[] ids, long[] mask, long[] types, int batch, int length) {

    /**
     * Picks sentences spanning short to long: the set sorted by length, taken at even steps.
     *
     * @param count how many
     * @return the sentences, shortest first
     */
    static List<String> sentencesByLength(int count) {
        List<String> all =
                new ArrayList<>(
                        TestAssets.sentiment("amazon").stream()
                                .map(TestAssets.LabelledSentence::text)
                                .toList());
        all.sort(Comparator.comparingInt(String::length).thenComparing(Comparator.naturalOrder()));
        List<String> picked = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            picked.add(all.get((int) ((long) i * (all.size() - 1) / (count - 1))));
        }
        return picked;
    }

    /**
     * Returns a tokenizer of a model folder.
     *
     * @param modelDir the folder of {@code <name>.onnx} and {@code <name>-tokenizer.json}
     * @param name the model name
     * @return the tokenizer
     * @throws IOException if the tokenizer file cannot be read
     */
    static HuggingFaceTokenizer tokenizer(Path modelDir, String name) throws IOException {
        return HuggingFaceTokenizer.newInstance(modelDir.resolve(name + "-tokenizer.json"));
    }

    /**
     * Tokenizes and pads a batch.
     *
     * @param tokenizer the tokenizer
     * @param sentences the sentences of the batch
     * @return the inputs
     */
    static BertBatches encode(HuggingFaceTokenizer tokenizer, List<String> sentences) {
        List<Encoding> encodings = new ArrayList<>();
        int length = 0;
        for (String sentence : sentences) {
            Encoding encoding = tokenizer.encode(sentence);
            encodings.add(encoding);
            length = Math.max(length, encoding.getIds().length);
        }
        int batch = sentences.size();
        long[] ids = new long[batch * length];
        long[] mask = new long[batch * length];
        long[] types = new long[batch * length];
        for (int b = 0; b < batch; b++) {
            Encoding e = encodings.get(b);
            for (int t = 0; t < e.getIds().length; t++) {
                ids[b * length + t] = e.getIds()[t];
                mask[b * length + t] = e.getAttentionMask()[t];
                types[b * length + t] = e.getTypeIds()[t];
            }
        }
        return new BertBatches(ids, mask, types, batch, length);
    }
}
