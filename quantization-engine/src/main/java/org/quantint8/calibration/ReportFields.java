package org.quantint8.calibration;

import org.quantint8.ndarray.QuantizationParameters;

/** The per-layer values both report renderers show, formatted once. */
final class ReportFields {

    private ReportFields() {}

    static String scheme(QuantizationParameters params) {
        if (params == null) {
            return "-";
        }
        boolean symmetric = minZeroPoint(params) == 0 && maxZeroPoint(params) == 0;
        String kind = params.getDataType() + (symmetric ? " sym" : " asym");
        return params.isPerChannel()
                ? kind + " per-channel(axis " + params.getAxis() + ")"
                : kind + " per-tensor";
    }

    static float minScale(QuantizationParameters params) {
        float min = Float.MAX_VALUE;
        for (float s : params.getScales()) {
            min = Math.min(min, s);
        }
        return min;
    }

    static float maxScale(QuantizationParameters params) {
        float max = 0;
        for (float s : params.getScales()) {
            max = Math.max(max, s);
        }
        return max;
    }

    static int minZeroPoint(QuantizationParameters params) {
        int min = Integer.MAX_VALUE;
        for (int z : params.getZeroPoints()) {
            min = Math.min(min, z);
        }
        return min;
    }

    static int maxZeroPoint(QuantizationParameters params) {
        int max = Integer.MIN_VALUE;
        for (int z : params.getZeroPoints()) {
            max = Math.max(max, z);
        }
        return max;
    }

    static String scaleRange(QuantizationParameters params) {
        if (params == null) {
            return "-";
        }
        float min = minScale(params);
        float max = maxScale(params);
        return min == max
                ? String.format("%.4g", min)
                : String.format("%.4g..%.4g", min, max);
    }

    static String zeroPointRange(QuantizationParameters params) {
        if (params == null) {
            return "-";
        }
        int min = minZeroPoint(params);
        int max = maxZeroPoint(params);
        return min == max ? Integer.toString(min) : min + ".." + max;
    }

    static String decibels(double value) {
        if (Double.isNaN(value)) {
            return "-";
        }
        return Double.isInfinite(value) ? (value > 0 ? "inf" : "-inf") : String.format("%.1f", value);
    }
}
