package org.quantint8.calibration;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Decides which layers are quantized from name patterns and operator types.
 *
 * <p>A layer is quantized when it matches no exclusion and either no inclusion is given or it
 * matches one. Name patterns follow {@link java.nio.file.FileSystem#getPathMatcher} syntax: {@code
 * "regex:..."} is a Java regular expression, {@code "glob:..."} or a plain pattern is a glob where
 * {@code *} matches any run of characters (dots included) and {@code ?} one character; a plain
 * name without wildcards therefore matches exactly. Operator types compare case-insensitively.
 */
public final class LayerFilter {

    private final List<Pattern> includedNames;
    private final List<Pattern> excludedNames;
    private final List<String> includedOpTypes;
    private final List<String> excludedOpTypes;

    LayerFilter(
            List<String> includedNames,
            List<String> excludedNames,
            List<String> includedOpTypes,
            List<String> excludedOpTypes) {
        this.includedNames = includedNames.stream().map(LayerFilter::compile).toList();
        this.excludedNames = excludedNames.stream().map(LayerFilter::compile).toList();
        this.includedOpTypes = includedOpTypes;
        this.excludedOpTypes = excludedOpTypes;
    }

    /**
     * Returns whether a layer should be quantized.
     *
     * @param layerName the layer name, for example {@code "encoder.0.attention.query"}
     * @param opType the operator type, for example {@code "Linear"}
     * @return {@code true} if the layer is selected and not excluded
     */
    public boolean accepts(String layerName, String opType) {
        if (matchesName(excludedNames, layerName) || matchesType(excludedOpTypes, opType)) {
            return false;
        }
        boolean nameSelected = includedNames.isEmpty() || matchesName(includedNames, layerName);
        boolean typeSelected = includedOpTypes.isEmpty() || matchesType(includedOpTypes, opType);
        return nameSelected && typeSelected;
    }

    private static boolean matchesName(List<Pattern> patterns, String name) {
        return patterns.stream().anyMatch(p -> p.matcher(name).matches());
    }

    private static boolean matchesType(List<String> types, String opType) {
        return types.stream().anyMatch(t -> t.equalsIgnoreCase(opType));
    }

    /**
     * Compiles a layer-name pattern.
     *
     * @param pattern {@code "regex:..."}, {@code "glob:..."} or a plain glob
     * @return the compiled pattern
     * @throws IllegalArgumentException naming the pattern if it is empty or invalid
     */
    static Pattern compile(String pattern) {
        if (pattern == null || pattern.isEmpty()) {
            throw new IllegalArgumentException("A layer pattern must not be empty");
        }
        try {
            if (pattern.startsWith("regex:")) {
                return Pattern.compile(pattern.substring("regex:".length()));
            }
            String glob = pattern.startsWith("glob:") ? pattern.substring("glob:".length()) : pattern;
            return Pattern.compile(globToRegex(glob));
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new IllegalArgumentException("Invalid layer pattern '" + pattern + "'", e);
        }
    }

    private static String globToRegex(String glob) {
        StringBuilder regex = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (char c : glob.toCharArray()) {
            if (c == '*' || c == '?') {
                regex.append(Pattern.quote(literal.toString()));
                literal.setLength(0);
                regex.append(c == '*' ? ".*" : ".");
            } else {
                literal.append(c);
            }
        }
        return regex.append(Pattern.quote(literal.toString())).toString();
    }
}
