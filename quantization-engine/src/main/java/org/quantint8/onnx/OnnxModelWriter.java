package org.quantint8.onnx;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes {@link OnnxModel}s as ONNX protobuf files, optionally with large tensors in an external
 * data file. Instances are immutable and can be shared.
 *
 * <pre>{@code
 * OnnxModelWriter.builder().optExternalData("model.onnx.data", 1024).build().write(model, file);
 * }</pre>
 *
 * <p>Files are written to a temporary and then moved into place, so that a model read from a file
 * (whose tensors are views of that file) can be written back over it.
 */
public final class OnnxModelWriter {

    /** Where numeric tensor data is stored inside the model file. */
    public enum TensorEncoding {
        /** In {@code raw_data}, the compact layout ONNX recommends. */
        RAW_DATA,
        /** In the typed fields ({@code float_data}, {@code int32_data}, ...), packed. */
        TYPED_FIELDS
    }

    private final TensorEncoding tensorEncoding;
    private final String externalDataLocation;
    private final long externalDataMinBytes;

    private OnnxModelWriter(Builder builder) {
        tensorEncoding = builder.tensorEncoding;
        externalDataLocation = builder.externalDataLocation;
        externalDataMinBytes = builder.externalDataMinBytes;
    }

    /**
     * Returns a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Writes a model file, and its external data file if configured.
     *
     * @param model the model
     * @param file the destination; external data goes next to it
     * @throws IOException if writing fails
     */
    public void write(OnnxModel model, Path file) throws IOException {
        Path folder = file.toAbsolutePath().getParent();
        Path temporary = Files.createTempFile(folder, ".onnx-", ".tmp");
        ExternalDataWriter externalData =
                externalDataLocation == null
                        ? null
                        : new ExternalDataWriter(
                                folder, externalDataLocation, externalDataMinBytes);
        try (externalData) {
            ProtoWriter encoded = new ModelEncoder(tensorEncoding, externalData).encodeModel(model);
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                encoded.writeTo(channel);
            }
            if (externalData != null) {
                externalData.commit();
            }
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /**
     * Encodes a model in memory.
     *
     * @param model the model
     * @return the {@code ModelProto} bytes
     * @throws IllegalStateException if this writer stores external data, which needs a file, or
     *     the model is larger than an array can hold
     */
    public byte[] toByteArray(OnnxModel model) {
        if (externalDataLocation != null) {
            throw new IllegalStateException("External data needs a file; use write(model, file)");
        }
        try {
            return new ModelEncoder(tensorEncoding, null).encodeModel(model).toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("No I/O happens without external data", e);
        }
    }

    /** Builds {@link OnnxModelWriter}s; every setting is optional. */
    public static final class Builder {

        private TensorEncoding tensorEncoding = TensorEncoding.RAW_DATA;
        private String externalDataLocation;
        private long externalDataMinBytes;

        Builder() {}

        /**
         * Sets where numeric tensor data is stored inside the model file.
         *
         * @param tensorEncoding the encoding; {@link TensorEncoding#RAW_DATA} by default
         * @return this builder
         */
        public Builder optTensorEncoding(TensorEncoding tensorEncoding) {
            this.tensorEncoding = tensorEncoding;
            return this;
        }

        /**
         * Stores the data of large tensors in a side file rather than in the model file.
         *
         * @param location the side file's path relative to the model's folder
         * @param minBytes the data size from which a tensor is stored in the side file
         * @return this builder
         * @throws IllegalArgumentException if the location is absolute or leaves the folder
         */
        public Builder optExternalData(String location, long minBytes) {
            String problem = ExternalDataResolver.checkRelative(location);
            if (problem != null) {
                throw new IllegalArgumentException(problem);
            }
            this.externalDataLocation = location;
            this.externalDataMinBytes = minBytes;
            return this;
        }

        /**
         * Builds the writer.
         *
         * @return the writer
         */
        public OnnxModelWriter build() {
            return new OnnxModelWriter(this);
        }
    }
}
