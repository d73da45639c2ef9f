package org.quantint8.it.onnx;

import static org.testng.Assert.assertEquals;
import static org.testng.Assert.assertTrue;

import org.testng.annotations.DataProvider;
import org.testng.annotations.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;

/**
 * The ONNX Runtime fallback and static calibration (which runs the FP32 graph on ONNX Runtime)
 * share the process's single ONNX Runtime environment with DJL's OnnxRuntime engine and with the
 * application, whichever creates it first. Each order runs in a
 * JVM of its own, since the environment cannot be destroyed and created again.
 */
public class CoexistenceTest {

    @DataProvider
    public Object[][] orders() {
        return new Object[][] {
            {"djl-first"}, {"quantint8-first"}, {"calibration-first"}, {"application-first"}
        };
    }

    @Test(dataProvider = "orders", timeOut = 180_000)
    public void bothRunWhateverTheCreationOrder(String order) throws Exception {
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        Process process =
                new ProcessBuilder(
                                java.toString(),
                                "-Dai.djl.offline=true",
                                "-cp",
                                System.getProperty("java.class.path"),
                                CoexistenceMain.class.getName(),
                                order)
                        .redirectErrorStream(true)
                        .start();
        String output = readAll(process);
        assertTrue(process.waitFor(150, TimeUnit.SECONDS), "timed out: " + output);
        assertEquals(process.exitValue(), 0, output);
        assertTrue(output.contains("OK " + order), output);
    }

    private static String readAll(Process process) throws IOException {
        return new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}
