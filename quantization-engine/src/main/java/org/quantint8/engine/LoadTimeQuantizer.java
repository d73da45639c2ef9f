package org.quantint8.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.util.ProgressBar;

import org.quantint8.calibration.QuantizationConfig;
import org.quantint8.calibration.QuantizationReport;
import org.quantint8.onnx.OnnxModel;
import org.quantint8.onnx.quantize.PostTrainingQuantizer;
import org.quantint8.onnx.quantize.QuantizedOnnxModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Quantization at load time: reuses the cached quantized model of the same source, settings and
 * calibration data, or quantizes and caches it.
 */
final class LoadTimeQuantizer {

    private static final Logger LOGGER = LoggerFactory.getLogger(LoadTimeQuantizer.class);

    private LoadTimeQuantizer() {}

    /**
     * Returns the quantized model.
     *
     * @param sourceFile the FP32 model file, part of the cache key
     * @param source the FP32 model
     * @param options the quantization options
     * @param config the configuration to quantize with
     * @param samples the calibration samples, possibly empty
     * @return the quantized model and its report
     * @throws IOException if the source file cannot be read for its key
     */
    static QuantizedModelCache.Entry quantize(Path sourceFile, OnnxModel source,
            QuantizationOptions options, QuantizationConfig config, List<NDList> samples)
            throws IOException {
        QuantizedModelCache cache = QuantizedModelCache.of(options);
        String key = null;
        if (options.isCacheEnabled()) {
            key = QuantizedModelCache.key(sourceFile, config.getMode() + ";" + options.fingerprint()
                    + ";samples=" + fingerprint(samples));
            QuantizedModelCache.Entry hit = cache.readEntry(key).orElse(null);
            if (hit != null) {
                LOGGER.info("QuantInt8: {} quantized ({} INT8, options {}), loaded from the cache {}",
                        sourceFile.getFileName(), config.getMode(), options, cache.modelFile(key));
                return hit;
            }
        }
        long start = System.nanoTime();
        ProgressBar progress = samples.isEmpty() ? null : new ProgressBar();
        QuantizedOnnxModel quantized =
                PostTrainingQuantizer.quantize(source, config, samples, progress);
        QuantizationReport report = quantized.report();
        for (String why : quantized.unsupported()) {
            LOGGER.debug("QuantInt8: kept in FP32: {}", why);
        }
        LOGGER.info("QuantInt8: {} quantized ({} INT8, options {}) in {} ms: {} of {} layers INT8,"
                        + " weights {} -> {} bytes",
                sourceFile.getFileName(), config.getMode(), options,
                (System.nanoTime() - start) / 1_000_000,
                report.getQuantizedLayerCount(), report.getLayers().size(),
                report.getFp32WeightBytes(), report.getDeployedWeightBytes());
        QuantizedModelCache.Entry entry =
                new QuantizedModelCache.Entry(quantized.model(), report.toText(), report.toJson());
        if (key != null) {
            cache.writeEntry(key, entry);
        }
        return entry;
    }

    /** A digest of the calibration samples: names, types, shapes and bytes. */
    private static String fingerprint(List<NDList> samples) {
        if (samples.isEmpty()) {
            return "none";
        }
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        for (NDList sample : samples) {
            for (NDArray array : sample) {
                String header = array.getName() + ':' + array.getDataType() + ':' + array.getShape();
                digest.update(header.getBytes(StandardCharsets.UTF_8));
                ByteBuffer bytes = array.toByteBuffer();
                digest.update(bytes);
            }
        }
        return HexFormat.of().formatHex(digest.digest(), 0, 16);
    }
}
