package org.quantint8.onnx;

/**
 * An operator set a model imports ({@code OperatorSetIdProto}): the operators of a domain at a
 * version.
 *
 * @param domain the operator domain; {@code ""} (or {@code "ai.onnx"}) is the default ONNX domain
 * @param version the operator set version
 */
public record OnnxOpsetImport(String domain, long version) {

    /** The name by which some exporters spell the default domain. */
    public static final String AI_ONNX = "ai.onnx";

    /**
     * Checks the components.
     *
     * @param domain the operator domain, not null
     * @param version the operator set version
     */
    public OnnxOpsetImport {
        if (domain == null) {
            throw new IllegalArgumentException("An opset import needs a domain; use \"\"");
        }
    }

    /**
     * Tells whether this import is of the default ONNX domain.
     *
     * @return {@code true} for the domains {@code ""} and {@code "ai.onnx"}
     */
    public boolean isDefaultDomain() {
        return isDefaultDomain(domain);
    }

    /**
     * Tells whether a domain name denotes the default ONNX domain.
     *
     * @param domain a domain name
     * @return {@code true} for {@code ""} and {@code "ai.onnx"}
     */
    public static boolean isDefaultDomain(String domain) {
        return domain.isEmpty() || AI_ONNX.equals(domain);
    }
}
