package org.quantint8.calibration;

import java.util.ArrayList;
import java.util.List;

/** Renders a {@link QuantizationReport} as an aligned text table. */
final class ReportTextRenderer {

    private static final String[] HEADER = {
        "Layer", "Op", "Precision", "Weights", "W scale", "W zp", "Activations", "A scale",
        "A zp", "Observer", "W SQNR dB", "Out SQNR dB", "FP32 B", "Deployed B", "Reason"
    };

    /** Columns holding numbers, right-aligned so that digits line up. */
    private static final boolean[] NUMERIC = {
        false, false, false, false, true, true, false, true, true, false, true, true, true, true,
        false
    };

    private ReportTextRenderer() {}

    static String render(QuantizationReport report) {
        List<String[]> rows = new ArrayList<>();
        rows.add(HEADER);
        for (LayerReport layer : report.getLayers()) {
            rows.add(row(layer));
        }
        int[] widths = new int[HEADER.length];
        for (String[] row : rows) {
            for (int c = 0; c < row.length; c++) {
                widths[c] = Math.max(widths[c], row[c].length());
            }
        }
        StringBuilder text = new StringBuilder();
        for (int r = 0; r < rows.size(); r++) {
            appendRow(text, rows.get(r), widths);
            if (r == 0) {
                appendRule(text, widths);
            }
        }
        long before = report.getFp32WeightBytes();
        long after = report.getDeployedWeightBytes();
        text.append(
                String.format(
                        "Total: %d of %d layers quantized, weights %d B -> %d B (%.2fx smaller)%n",
                        report.getQuantizedLayerCount(),
                        report.getLayers().size(),
                        before,
                        after,
                        after == 0 ? 1.0 : (double) before / after));
        return text.toString();
    }

    private static String[] row(LayerReport layer) {
        return new String[] {
            layer.layerName(),
            layer.opType(),
            layer.quantized() ? "INT8" : "FP32",
            ReportFields.scheme(layer.weightParameters()),
            ReportFields.scaleRange(layer.weightParameters()),
            ReportFields.zeroPointRange(layer.weightParameters()),
            ReportFields.scheme(layer.activationParameters()),
            ReportFields.scaleRange(layer.activationParameters()),
            ReportFields.zeroPointRange(layer.activationParameters()),
            layer.observer().isEmpty() ? "-" : layer.observer(),
            ReportFields.decibels(layer.weightSqnrDb()),
            ReportFields.decibels(layer.outputSqnrDb()),
            Long.toString(layer.fp32WeightBytes()),
            Long.toString(layer.deployedWeightBytes()),
            layer.reason()
        };
    }

    private static void appendRow(StringBuilder text, String[] cells, int[] widths) {
        StringBuilder line = new StringBuilder();
        for (int c = 0; c < cells.length; c++) {
            if (c > 0) {
                line.append("  ");
            }
            String format = NUMERIC[c] ? "%" + widths[c] + "s" : "%-" + widths[c] + "s";
            line.append(String.format(format, cells[c]));
        }
        text.append(line.toString().stripTrailing()).append(System.lineSeparator());
    }

    private static void appendRule(StringBuilder text, int[] widths) {
        int length = 2 * (widths.length - 1);
        for (int width : widths) {
            length += width;
        }
        text.append("-".repeat(length)).append(System.lineSeparator());
    }
}
