package org.quantint8.demo;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * Mean-pooled sentence embeddings from a BERT-family ONNX model run by ONNX Runtime (one intra-op
 * thread unless told otherwise), one sentence at a time (batch 1, no padding): the reference every QuantInt8 figure is
 * compared with.
 */
public final class EmbeddingRunner implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final OrtSession session;

    /**
     * Opens a model.
     *
     * @param modelFile the .onnx file
     * @param tokenizerFile the tokenizer.json file
     * @throws IOException if the tokenizer cannot be read
     * @throws OrtException if ONNX Runtime rejects the model
     */
    public EmbeddingRunner(Path modelFile, Path tokenizerFile) throws IOException, OrtException {
        this(modelFile.toString(), null, tokenizerFile, 1);
    }

    /**
     * Opens a model with a number of intra-op threads.
     *
     * @param modelFile the .onnx file
     * @param tokenizerFile the tokenizer.json file
     * @param threads ONNX Runtime's intra-op threads
     * @throws IOException if the tokenizer cannot be read
     * @throws OrtException if ONNX Runtime rejects the model
     */
    public EmbeddingRunner(Path modelFile, Path tokenizerFile, int threads)
            throws IOException, OrtException {
        this(modelFile.toString(), null, tokenizerFile, threads);
    }

    /**
     * Opens a model held in memory.
     *
     * @param modelBytes the serialized model
     * @param tokenizerFile the tokenizer.json file
     * @throws IOException if the tokenizer cannot be read
     * @throws OrtException if ONNX Runtime rejects the model
     */
    public EmbeddingRunner(byte[] modelBytes, Path tokenizerFile) throws IOException, OrtException {
        this(null, modelBytes, tokenizerFile, 1);
    }

    private EmbeddingRunner(String file, byte[] bytes, Path tokenizerFile, int threads)
            throws IOException, OrtException {
        tokenizer = HuggingFaceTokenizer.newInstance(tokenizerFile, Map.of("maxLength", "512"));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        session = file != null ? env.createSession(file, options) : env.createSession(bytes, options);
    }

    /**
     * Returns the mean of the last hidden state over the sentence's tokens.
     *
     * @param sentence the text
     * @return the embedding
     * @throws OrtException if the run fails
     */
    public float[] embed(String sentence) throws OrtException {
        return embed(tokenizer.encode(sentence));
    }

    /**
     * Returns the mean of the last hidden state over the tokens of an encoded sentence.
     *
     * @param encoding the tokenized sentence
     * @return the embedding
     * @throws OrtException if the run fails
     */
    public float[] embed(Encoding encoding) throws OrtException {
        return meanOverTokens(lastHiddenState(session, encoding), encoding.getIds().length);
    }

    /**
     * Runs a BERT-family session on one encoded sentence (batch 1).
     *
     * @param session a session with inputs {@code input_ids}, {@code attention_mask} and {@code
     *     token_type_ids} and the last hidden state as its first output
     * @param encoding the tokenized sentence
     * @return the last hidden state [1, tokens, hidden], row-major
     * @throws OrtException if the run fails
     */
    public static float[] lastHiddenState(OrtSession session, Encoding encoding)
            throws OrtException {
        long[] shape = {1, encoding.getIds().length};
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OnnxTensor inputIds = OnnxTensor.createTensor(
                        env, LongBuffer.wrap(encoding.getIds()), shape);
                OnnxTensor mask = OnnxTensor.createTensor(
                        env, LongBuffer.wrap(encoding.getAttentionMask()), shape);
                OnnxTensor types = OnnxTensor.createTensor(
                        env, LongBuffer.wrap(encoding.getTypeIds()), shape);
                OrtSession.Result result = session.run(Map.of(
                        "input_ids", inputIds, "attention_mask", mask, "token_type_ids", types))) {
            return ((OnnxTensor) result.get(0)).getFloatBuffer().array();
        }
    }

    /**
     * Returns the mean over the tokens of a hidden state of batch 1.
     *
     * @param hidden the hidden state [1, tokens, hidden], row-major
     * @param tokens the number of tokens
     * @return the mean, of the hidden size
     */
    public static float[] meanOverTokens(float[] hidden, int tokens) {
        float[] mean = new float[hidden.length / tokens];
        for (int i = 0; i < hidden.length; i++) {
            mean[i % mean.length] += hidden[i] / tokens;
        }
        return mean;
    }

    /**
     * Returns the cosine similarity of two vectors.
     *
     * @param a a vector
     * @param b a vector of the same length
     * @return the cosine
     */
    public static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** {@inheritDoc} */
    @Override
    public void close() throws OrtException {
        session.close();
        tokenizer.close();
    }
}
