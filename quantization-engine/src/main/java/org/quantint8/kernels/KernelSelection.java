package org.quantint8.kernels;

import org.quantint8.kernels.foreign.NativeInt8Kernels;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;

/**
 * Chooses the kernels of this JVM once, on first use, from the system property {@code
 * quantint8.kernels} ({@code java} or {@code native}; default: native when the library loads) and
 * logs the choice once.
 */
final class KernelSelection {

    /** The system property that selects the implementation. */
    static final String PROPERTY = "quantint8.kernels";

    private static final Logger LOG = LoggerFactory.getLogger(KernelSelection.class);

    private KernelSelection() {}

    /**
     * Returns the selected kernels.
     *
     * @return the kernels
     */
    static Int8Kernels best() {
        return Holder.BEST;
    }

    /** Initialization-on-demand holder: the choice is made once, thread-safely, on first use. */
    private static final class Holder {
        static final Int8Kernels BEST = choose();
    }

    private static Int8Kernels choose() {
        String wanted = System.getProperty(PROPERTY, "native").trim().toLowerCase();
        if (wanted.equals("java")) {
            LOG.info("QuantInt8 uses the Java kernels ({}=java)", PROPERTY);
            return JavaInt8Kernels.INSTANCE;
        }
        if (!wanted.equals("native")) {
            LOG.warn("Unknown {}={}, expected java or native; trying native", PROPERTY, wanted);
        }
        Optional<NativeInt8Kernels> kernels = NativeInt8Kernels.load();
        if (kernels.isPresent()) {
            LOG.info("QuantInt8 uses the native kernels ({})", kernels.get().name());
            return kernels.get();
        }
        LOG.info("QuantInt8 uses the Java kernels: {}", NativeInt8Kernels.unavailableReason());
        return JavaInt8Kernels.INSTANCE;
    }
}
