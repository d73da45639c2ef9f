package org.quantint8.it.accuracy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST (Zalando, 2017) as the Debian package {@code dataset-fashion-mnist} installs it
 * (integration-tests/fetch-data.sh does): gzipped IDX files, 60,000 training and 10,000 test
 * images of 28 x 28 unsigned bytes, labels 0 to 9. The folder is {@value #DEFAULT_DIR} unless
 * {@code -Dquantint8.it.fashionMnist=<folder>} says otherwise.
 *
 * <p>IDX: a big-endian magic number {@code 0x00 0x00 type rank} (type {@code 0x08} for unsigned
 * bytes), {@code rank} big-endian 32-bit dimensions, then the data, row-major. Everything is
 * checked: the magic, the dimensions against the expected ones and against the file's length,
 * and the label range.
 */
final class FashionMnist {

    /** Where the Debian package puts the files. */
    static final String DEFAULT_DIR = "/usr/share/datasets/fashion-mnist";
    /** Image height and width. */
    static final int SIDE = 28;
    /** Pixels per image. */
    static final int PIXELS = SIDE * SIDE;
    /** Number of classes. */
    static final int CLASSES = 10;

    private static final int UNSIGNED_BYTE = 0x08;

    private FashionMnist() {}

    /**
     * Images and their labels.
     *
     * @param pixels {@code count * 784} bytes, row-major, unsigned
     * @param labels {@code count} labels, 0 to 9
     */
    record Split(byte[] pixels, byte[] labels) {

        /**
         * Returns the number of images.
         *
         * @return the count
         */
        int size() {
            return labels.length;
        }

        /**
         * Returns the label of one image.
         *
         * @param index the image
         * @return the class, 0 to 9
         */
        int label(int index) {
            return labels[index];
        }

        /**
         * Returns images as floats, normalized as {@code (pixel / 255 - mean) / std}.
         *
         * @param from the first image
         * @param count how many
         * @param mean the mean to subtract, in the 0..1 scale
         * @param std the standard deviation to divide by, in the 0..1 scale
         * @return {@code count * 784} floats, row-major
         */
        float[] normalized(int from, int count, float mean, float std) {
            float[] values = new float[count * PIXELS];
            int offset = from * PIXELS;
            for (int i = 0; i < values.length; i++) {
                values[i] = ((pixels[offset + i] & 0xFF) / 255f - mean) / std;
            }
            return values;
        }

        /**
         * Returns the mean and standard deviation of all pixels, in the 0..1 scale.
         *
         * @return {@code {mean, std}}
         */
        float[] pixelMoments() {
            double sum = 0;
            double squares = 0;
            for (byte b : pixels) {
                double v = (b & 0xFF) / 255.0;
                sum += v;
                squares += v * v;
            }
            double mean = sum / pixels.length;
            return new float[] {(float) mean, (float) Math.sqrt(squares / pixels.length - mean * mean)};
        }
    }

    /**
     * Reads the 60,000 training images.
     *
     * @return the split
     * @throws IOException if a file is missing (the message says how to fetch it) or malformed
     */
    static Split train() throws IOException {
        return read("train", 60_000);
    }

    /**
     * Reads the 10,000 test images.
     *
     * @return the split
     * @throws IOException if a file is missing (the message says how to fetch it) or malformed
     */
    static Split test() throws IOException {
        return read("t10k", 10_000);
    }

    private static Split read(String prefix, int count) throws IOException {
        Path dir = Paths.get(System.getProperty("quantint8.it.fashionMnist", DEFAULT_DIR));
        byte[] pixels = readIdx(dir.resolve(prefix + "-images-idx3-ubyte.gz"), count, SIDE, SIDE);
        Path labelFile = dir.resolve(prefix + "-labels-idx1-ubyte.gz");
        byte[] labels = readIdx(labelFile, count);
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= CLASSES) {
                throw new IOException(labelFile + ": label " + i + " is " + (labels[i] & 0xFF)
                        + ", outside 0.." + (CLASSES - 1));
            }
        }
        return new Split(pixels, labels);
    }

    /**
     * Reads a gzipped IDX file of unsigned bytes with the given dimensions.
     *
     * @param file the file
     * @param dims the expected dimensions
     * @return the data
     * @throws IOException if the file is missing, is not gzip, or its header or length disagree
     *     with the expected dimensions
     */
    static byte[] readIdx(Path file, int... dims) throws IOException {
        byte[] bytes;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            bytes = out.toByteArray();
        } catch (NoSuchFileException e) {
            throw new IOException(file + " is missing: run integration-tests/fetch-data.sh (it"
                    + " installs the Debian package dataset-fashion-mnist) or set"
                    + " -Dquantint8.it.fashionMnist to the folder holding the files", e);
        }
        int header = 4 + 4 * dims.length;
        if (bytes.length < header) {
            throw new IOException(file + ": " + bytes.length + " bytes, shorter than the IDX header");
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        int magic = buffer.getInt();
        int expectedMagic = (UNSIGNED_BYTE << 8) | dims.length;
        if (magic != expectedMagic) {
            throw new IOException(String.format("%s: IDX magic 0x%08x, expected 0x%08x (unsigned"
                    + " bytes, %d dimensions)", file, magic, expectedMagic, dims.length));
        }
        long elements = 1;
        for (int i = 0; i < dims.length; i++) {
            int dim = buffer.getInt();
            if (dim != dims[i]) {
                throw new IOException(file + ": dimension " + i + " is " + dim + ", expected "
                        + dims[i]);
            }
            elements *= dim;
        }
        if (bytes.length - header != elements) {
            throw new IOException(file + ": " + (bytes.length - header) + " bytes of data, the"
                    + " header's dimensions need " + elements);
        }
        byte[] data = new byte[(int) elements];
        buffer.get(data);
        return data;
    }
}
