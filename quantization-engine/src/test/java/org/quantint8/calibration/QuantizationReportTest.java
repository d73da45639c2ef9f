package org.quantint8.calibration;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import ai.djl.ndarray.types.Shape;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.quantint8.ndarray.QuantizationParameters;
import org.testng.annotations.Test;

import java.util.List;
import java.util.Random;
import java.util.Set;

/** The report built from a real mixed-precision plan renders as aligned text and valid JSON. */
public class QuantizationReportTest {

    private static QuantizationReport buildReport() {
        ToyModel model = new ToyModel(new Random(31), 16, 0);
        List<float[]> reference = model.run(Set.of());
        double budget = QuantizationError.sqnrDb(reference, model.run(Set.of("fc0", "fc1", "fc3"))) - 1;
        MixedPrecisionPlan plan = MixedPrecisionPlanner.plan(model, AccuracyBudget.minSqnrDb(budget));
        Shape shape = new Shape(ToyModel.WIDTH, ToyModel.WIDTH);
        List<LayerReport> layers =
                ToyModel.LAYERS.stream()
                        .map(
                                name -> {
                                    float[] w = model.weight(name);
                                    boolean quantized = plan.quantizedLayers().contains(name);
                                    PerChannelObserver observer =
                                            new PerChannelObserver(name, QuantizationScheme.SYMMETRIC_INT8, 0, ObserverFactory.minMax());
                                    observer.observe(w, shape);
                                    QuantizationParameters params = observer.computeParameters();
                                    double weightSqnr =
                                            QuantizationError.sqnrDb(w, QuantizationError.fakeQuantize(w, shape, params));
                                    double outputSqnr =
                                            plan.sensitivities().stream()
                                                    .filter(s -> s.layerName().equals(name))
                                                    .findFirst().orElseThrow().score();
                                    return new LayerReport(
                                            name, "Linear", quantized,
                                            quantized ? "selected" : plan.reasonFor(name),
                                            "min-max (dynamic)",
                                            quantized ? params : null,
                                            quantized ? QuantizationParameters.perTensor(0.02f, 128, ai.djl.ndarray.types.DataType.UINT8) : null,
                                            weightSqnr, outputSqnr, w.length);
                                })
                        .toList();
        return new QuantizationReport(layers);
    }

    @Test
    public void textTableIsAlignedWithTotals() {
        QuantizationReport report = buildReport();
        String text = report.toText();
        System.out.println(text);
        String[] lines = text.split(System.lineSeparator());
        assertEquals(lines.length, 1 + 1 + 4 + 1, "header, rule, 4 layers, totals");
        int precisionColumn = lines[0].indexOf("Precision");
        for (int i = 2; i < 6; i++) {
            String cell = lines[i].substring(precisionColumn, precisionColumn + 4);
            assertTrue(cell.equals("INT8") || cell.equals("FP32"), lines[i]);
        }
        assertTrue(lines[6].contains("3 of 4 layers quantized"), lines[6]);
        assertTrue(text.contains("sensitivity rank 1"));
    }

    @Test
    public void jsonParsesBackWithTotals() {
        QuantizationReport report = buildReport();
        JsonObject root = JsonParser.parseString(report.toJson()).getAsJsonObject();
        assertEquals(root.getAsJsonArray("layers").size(), 4);
        JsonObject totals = root.getAsJsonObject("totals");
        long fp32 = 4L * 4 * ToyModel.WIDTH * ToyModel.WIDTH;
        // Three INT8 layers (1 byte per weight, 5 bytes per channel) and one FP32 layer.
        long deployed = 3L * (ToyModel.WIDTH * ToyModel.WIDTH + 5 * ToyModel.WIDTH) + 4L * ToyModel.WIDTH * ToyModel.WIDTH;
        assertEquals(totals.get("fp32WeightBytes").getAsLong(), fp32);
        assertEquals(totals.get("deployedWeightBytes").getAsLong(), deployed);
        assertEquals(totals.get("quantizedLayers").getAsInt(), 3);
        JsonObject fc2 = root.getAsJsonArray("layers").get(2).getAsJsonObject();
        assertEquals(fc2.get("precision").getAsString(), "FP32");
        assertTrue(fc2.get("weights").isJsonNull());
        JsonObject fc0 = root.getAsJsonArray("layers").get(0).getAsJsonObject();
        assertEquals(fc0.getAsJsonObject("weights").get("channels").getAsInt(), ToyModel.WIDTH);
        assertEquals(fc0.getAsJsonObject("activations").get("zeroPointMin").getAsInt(), 128);
    }
}
