package org.quantint8.onnx;

import static org.quantint8.onnx.OnnxMalformedModelTest.assertMessage;
import static org.quantint8.onnx.OnnxTestModels.modelWithInitializer;
import static org.quantint8.onnx.OnnxTestModels.tensorHeader;
import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;
import static org.testng.Assert.expectThrows;

import org.testng.annotations.AfterMethod;
import org.testng.annotations.BeforeMethod;
import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Tensors stored in side files: written, read back, and kept inside the model's folder. */
public class OnnxExternalDataTest {

    private static final float[] VALUES = {1, 2, 3, 4};

    private Path root;
    private Path modelFolder;
    private Path modelFile;

    @BeforeMethod
    public void createFolders() throws IOException {
        root = Files.createTempDirectory("onnx-external");
        modelFolder = Files.createDirectory(root.resolve("model"));
        modelFile = modelFolder.resolve("model.onnx");
        ByteBuffer data = OnnxTestModels.littleEndian(new byte[16]);
        data.asFloatBuffer().put(VALUES);
        Files.write(modelFolder.resolve("weights.bin"), data.array());
        Files.write(root.resolve("outside.bin"), data.array());
    }

    @AfterMethod(alwaysRun = true)
    public void deleteFolders() throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    @Test
    public void writerStoresLargeTensorsAlignedInASideFileAndReaderMapsThemBack() throws Exception {
        OnnxModel model = OnnxTestModels.sample();
        OnnxModelWriter.builder()
                .optExternalData("data/model.bin", 32)
                .build()
                .write(model, modelFile);
        Path side = modelFolder.resolve("data/model.bin");
        // W (64 bytes) at offset 0 and B (32 bytes) at the next page; cond (1 byte) stays inline.
        assertEquals(Files.size(side), ExternalDataWriter.ALIGNMENT + 32);
        OnnxModel read = OnnxModelReader.read(modelFile);
        for (OnnxTensor tensor : model.getGraph().getInitializers().values()) {
            assertEquals(
                    read.getGraph().getInitializer(tensor.getName()).toByteArray(),
                    tensor.toByteArray());
        }
        // Writing a model over the file its tensors are mapped from must not corrupt them.
        OnnxModelWriter.builder().build().write(read, modelFile);
        OnnxModel rewritten = OnnxModelReader.read(modelFile);
        assertEquals(
                rewritten.getGraph().getInitializer("B").toLongArray(), new long[] {1, 2, 3, 4});
        try (Stream<Path> leftovers = Files.list(modelFolder)) {
            assertTrue(leftovers.noneMatch(path -> path.toString().endsWith(".tmp")));
        }
    }

    @Test
    public void externalRegionIsReadAtItsOffset() throws Exception {
        writeModel("weights.bin", "4", "8", OnnxDataType.FLOAT, 2);
        assertEquals(read().toFloatArray(), new float[] {2, 3});
        writeModel("./sub/../weights.bin", null, null, OnnxDataType.FLOAT, 4);
        assertEquals(read().toFloatArray(), VALUES);
    }

    @Test
    public void locationsOutsideTheModelFolderAreRejected() throws Exception {
        writeModel("../outside.bin", null, null, OnnxDataType.FLOAT, 4);
        assertRejected(
                "initializer #0: tensor 't': external data location '../outside.bin' is outside the"
                        + " model's folder");
        writeModel(root.resolve("outside.bin").toString(), null, null, OnnxDataType.FLOAT, 4);
        assertRejected("is absolute");
        Files.createSymbolicLink(modelFolder.resolve("link.bin"), root.resolve("outside.bin"));
        writeModel("link.bin", null, null, OnnxDataType.FLOAT, 4);
        assertRejected("external data location 'link.bin' resolves outside the model's folder");
        writeModel("", null, null, OnnxDataType.FLOAT, 4);
        assertRejected("external data has no location");
        expectThrows(
                IllegalArgumentException.class,
                () -> OnnxModelWriter.builder().optExternalData("../x", 0));
    }

    @Test
    public void regionsBeyondTheFileOrOfTheWrongSizeAreRejected() throws Exception {
        writeModel("weights.bin", "100", null, OnnxDataType.FLOAT, 4);
        assertRejected(
                "external data region offset 100, length -1 exceeds the 16 bytes of 'weights.bin'");
        writeModel("weights.bin", "8", "16", OnnxDataType.FLOAT, 4);
        assertRejected("offset 8, length 16 exceeds the 16 bytes");
        writeModel("weights.bin", "0", "8", OnnxDataType.FLOAT, 4);
        assertRejected("external data holds 8 bytes, the tensor's type and shape need 16");
        writeModel("weights.bin", "-4", null, OnnxDataType.FLOAT, 4);
        assertRejected("external data offset '-4' is not a non-negative integer");
        writeModel("weights.bin", "0x10", null, OnnxDataType.FLOAT, 4);
        assertRejected("offset '0x10' is not");
        writeModel("missing.bin", null, null, OnnxDataType.FLOAT, 4);
        assertRejected("external data file 'missing.bin' does not exist");
        writeModel("weights.bin", null, null, OnnxDataType.FLOAT, 1L << 62);
        assertRejected("tensor 't': tensor data size overflows");
    }

    private void writeModel(
            String location, String offset, String length, OnnxDataType type, long dim)
            throws IOException {
        ProtoWriter tensor = tensorHeader(type, dim);
        new StringEntry(ExternalDataResolver.LOCATION, location)
                .write(tensor, OnnxFields.Tensor.EXTERNAL_DATA);
        if (offset != null) {
            new StringEntry(ExternalDataResolver.OFFSET, offset)
                    .write(tensor, OnnxFields.Tensor.EXTERNAL_DATA);
        }
        if (length != null) {
            new StringEntry(ExternalDataResolver.LENGTH, length)
                    .write(tensor, OnnxFields.Tensor.EXTERNAL_DATA);
        }
        tensor.writeVarintField(
                OnnxFields.Tensor.DATA_LOCATION, OnnxFields.Tensor.LOCATION_EXTERNAL);
        Files.write(modelFile, modelWithInitializer(tensor));
    }

    private OnnxTensor read() throws Exception {
        return OnnxModelReader.read(modelFile).getGraph().getInitializer("t");
    }

    private void assertRejected(String fragment) {
        OnnxFormatException e = expectThrows(OnnxFormatException.class, this::read);
        assertMessage(e, modelFile + ": ", fragment);
    }
}
