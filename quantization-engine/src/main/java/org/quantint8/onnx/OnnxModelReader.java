package org.quantint8.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads ONNX models ({@code ModelProto}) from files or memory.
 *
 * <p>The file is memory-mapped and tensor data stays in the mapping: initializers are views, not
 * copies, so a model of a hundred megabytes costs little more than its structure on the heap.
 * Every size declared in the file is checked against the bytes actually present before it is
 * used, so a corrupt or hostile file fails with an {@link OnnxFormatException} instead of
 * exhausting memory. After decoding, the graph's data flow is validated (see {@link
 * #read(Path)}).
 *
 * <p>Not supported, and rejected with a clear message: sparse initializers and sparse, type and
 * reference attributes, segmented tensors, and files above 2 GiB (the protobuf limit; such models
 * keep their weights in external data, which is supported). Model-local functions and training
 * information are skipped.
 */
public final class OnnxModelReader {

    private OnnxModelReader() {}

    /**
     * Reads a model file, with its external data.
     *
     * <p>The model is rejected if any node reads a value that is not a graph input, an
     * initializer, an output of an earlier node, a value of an enclosing graph (for subgraphs) or
     * the empty name of an omitted optional input; if a value is produced twice; or if a graph
     * output is not produced.
     *
     * @param file the {@code .onnx} file; external data is looked up in its folder
     * @return the model; its tensors remain valid after this method returns
     * @throws IOException if the file cannot be opened or mapped
     * @throws OnnxFormatException if the content is malformed
     */
    public static OnnxModel read(Path file) throws IOException, OnnxFormatException {
        ByteBuffer bytes;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size > Integer.MAX_VALUE) {
                throw new OnnxFormatException(
                        file
                                + ": file of "
                                + size
                                + " bytes exceeds the 2 GiB protobuf limit; store large"
                                + " tensors as external data");
            }
            bytes = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
        }
        Path folder = file.toAbsolutePath().getParent();
        return decode(bytes, file.toString(), folder);
    }

    /**
     * Reads a model held in memory; it must not refer to external data.
     *
     * @param bytes the encoded model, from its position to its limit; the buffer is not modified
     *     but tensors of the model are views of it
     * @param sourceName a name for the model in error messages
     * @return the model
     * @throws OnnxFormatException if the content is malformed, or refers to external data
     */
    public static OnnxModel read(ByteBuffer bytes, String sourceName) throws OnnxFormatException {
        return decode(bytes, sourceName, null);
    }

    private static OnnxModel decode(ByteBuffer bytes, String sourceName, Path folder)
            throws OnnxFormatException {
        DecodeContext context = new DecodeContext(sourceName);
        ProtoReader in = new ProtoReader(bytes, context);
        OnnxModel model =
                new ModelDecoder(in, new ExternalDataResolver(folder, context)).decodeModel();
        new GraphValidator(context).validate(model.getGraph());
        return model;
    }
}
