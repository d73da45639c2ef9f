package org.quantint8.calibration;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import org.quantint8.ndarray.QuantizationParameters;

/** Renders a {@link QuantizationReport} as JSON. */
final class ReportJsonRenderer {

    private ReportJsonRenderer() {}

    static String render(QuantizationReport report) {
        JsonArray layers = new JsonArray();
        for (LayerReport layer : report.getLayers()) {
            layers.add(layer(layer));
        }
        JsonObject totals = new JsonObject();
        totals.addProperty("layers", report.getLayers().size());
        totals.addProperty("quantizedLayers", report.getQuantizedLayerCount());
        totals.addProperty("fp32WeightBytes", report.getFp32WeightBytes());
        totals.addProperty("deployedWeightBytes", report.getDeployedWeightBytes());
        JsonObject root = new JsonObject();
        root.add("layers", layers);
        root.add("totals", totals);
        return new GsonBuilder().setPrettyPrinting().serializeNulls().create().toJson(root);
    }

    private static JsonObject layer(LayerReport layer) {
        JsonObject json = new JsonObject();
        json.addProperty("name", layer.layerName());
        json.addProperty("opType", layer.opType());
        json.addProperty("precision", layer.quantized() ? "INT8" : "FP32");
        json.addProperty("reason", layer.reason());
        json.addProperty("observer", layer.observer());
        json.add("weights", parameters(layer.weightParameters()));
        json.add("activations", parameters(layer.activationParameters()));
        json.add("weightSqnrDb", number(layer.weightSqnrDb()));
        json.add("outputSqnrDb", number(layer.outputSqnrDb()));
        json.addProperty("fp32WeightBytes", layer.fp32WeightBytes());
        json.addProperty("deployedWeightBytes", layer.deployedWeightBytes());
        return json;
    }

    private static com.google.gson.JsonElement parameters(QuantizationParameters params) {
        if (params == null) {
            return JsonNull.INSTANCE;
        }
        JsonObject json = new JsonObject();
        json.addProperty("scheme", ReportFields.scheme(params));
        json.addProperty("dataType", params.getDataType().name());
        json.addProperty("axis", params.getAxis());
        json.addProperty("channels", params.getChannelCount());
        json.addProperty("scaleMin", ReportFields.minScale(params));
        json.addProperty("scaleMax", ReportFields.maxScale(params));
        json.addProperty("zeroPointMin", ReportFields.minZeroPoint(params));
        json.addProperty("zeroPointMax", ReportFields.maxZeroPoint(params));
        return json;
    }

    /** JSON has no NaN or infinity; unmeasured and exact values both become null. */
    private static com.google.gson.JsonElement number(double value) {
        return Double.isFinite(value) ? new JsonPrimitive(value) : JsonNull.INSTANCE;
    }
}
