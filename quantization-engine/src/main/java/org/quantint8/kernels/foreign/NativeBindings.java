package org.quantint8.kernels.foreign;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The downcall handles of the C functions (see {@code src/main/c/qi8_api.c} for their contracts).
 * Only argument-checked callers in this package use them: the C code trusts its arguments.
 */
final class NativeBindings {

    /** The C interface version this Java code was written against. */
    static final int ABI_VERSION = 11;

    final MethodHandle abiVersion;
    final MethodHandle bestIsa;
    final MethodHandle packedSize;
    final MethodHandle pack;
    final MethodHandle gemmTile;
    final MethodHandle gemmTileF32;
    final MethodHandle packPatches;
    final MethodHandle patchRows;
    final MethodHandle transposeOutputF32;
    final MethodHandle transposeBytes;
    final MethodHandle gemvF32;
    final MethodHandle rangeF32;
    final MethodHandle quantizeF32;
    final MethodHandle layerNormF32;
    final MethodHandle attentionF32;
    final MethodHandle maxPoolF32;
    final MethodHandle probeAddChain;
    final MethodHandle probeVnni;
    final MethodHandle mapWeights;
    final MethodHandle unmapWeights;
    /** The huge-page mappings packed weights are placed in. */
    final WeightMemory weightMemory;

    private NativeBindings(SymbolLookup lookup) {
        Linker linker = Linker.nativeLinker();
        abiVersion = bind(linker, lookup, "qi8_abi_version", FunctionDescriptor.of(JAVA_INT));
        bestIsa = bind(linker, lookup, "qi8_best_isa", FunctionDescriptor.of(JAVA_INT));
        packedSize = bind(linker, lookup, "qi8_packed_size",
                FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_INT));
        pack = bind(linker, lookup, "qi8_pack", FunctionDescriptor.of(
                JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        gemmTile = bind(linker, lookup, "qi8_gemm_tile", FunctionDescriptor.of(
                JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG));
        gemmTileF32 = bind(linker, lookup, "qi8_gemm_tile_f32", FunctionDescriptor.of(
                JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_FLOAT, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT));
        packPatches = bind(linker, lookup, "qi8_pack_patches", FunctionDescriptor.of(
                JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        patchRows = bind(linker, lookup, "qi8_patch_rows", FunctionDescriptor.of(
                JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        transposeBytes = bind(linker, lookup, "qi8_transpose_bytes", FunctionDescriptor.of(
                JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        transposeOutputF32 = bind(linker, lookup, "qi8_transpose_output_f32",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG,
                        JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS));
        gemvF32 = bind(linker, lookup, "qi8_gemv_f32", FunctionDescriptor.of(
                JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                JAVA_INT, JAVA_INT, ADDRESS));
        rangeF32 = bind(linker, lookup, "qi8_range_f32",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        quantizeF32 = bind(linker, lookup, "qi8_quantize_f32", FunctionDescriptor.of(JAVA_INT,
                JAVA_INT, ADDRESS, JAVA_LONG, JAVA_FLOAT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                ADDRESS));
        layerNormF32 = bind(linker, lookup, "qi8_layer_norm_f32", FunctionDescriptor.of(JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS,
                ADDRESS, JAVA_FLOAT));
        attentionF32 = bind(linker, lookup, "qi8_attention_f32", FunctionDescriptor.of(JAVA_INT,
                JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, JAVA_FLOAT, JAVA_FLOAT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        maxPoolF32 = bind(linker, lookup, "qi8_max_pool_f32", FunctionDescriptor.of(JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
        probeAddChain = bind(linker, lookup, "qi8_probe_add_chain",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        probeVnni = bind(linker, lookup, "qi8_probe_vnni", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        mapWeights = bind(linker, lookup, "qi8_map_weights",
                FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        unmapWeights = bind(linker, lookup, "qi8_unmap_weights",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        weightMemory = new WeightMemory(this);
    }

    /**
     * Returns the bindings of the library, loading it on first use.
     *
     * @return the bindings, or null if the library could not be loaded (see {@link #loadFailure})
     */
    static NativeBindings loaded() {
        return Loaded.BINDINGS;
    }

    /**
     * Returns why the library could not be loaded.
     *
     * @return the reason, or null if it was loaded
     */
    static String loadFailure() {
        return Loaded.FAILURE;
    }

    /**
     * Binds the library's functions and checks that it speaks this code's interface version.
     *
     * @param lookup the loaded library
     * @return the bindings
     * @throws IllegalStateException if the library is of another interface version
     */
    static NativeBindings bind(SymbolLookup lookup) {
        NativeBindings bindings = new NativeBindings(lookup);
        int version = bindings.call(() -> (int) bindings.abiVersion.invokeExact());
        if (version != ABI_VERSION) {
            throw new IllegalStateException("native library has interface version " + version
                    + ", this code needs " + ABI_VERSION);
        }
        return bindings;
    }

    /**
     * Invokes a downcall, turning the checked {@code Throwable} of {@code invokeExact} into an
     * unchecked exception.
     *
     * @param call the call
     * @return its result
     */
    int call(IntCall call) {
        try {
            return call.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("native call failed", t);
        }
    }

    /**
     * Invokes a downcall that returns a C error code, throwing on a non-zero code.
     *
     * @param what the operation, for the message
     * @param call the call
     */
    void check(String what, IntCall call) {
        int code = call(call);
        if (code != 0) {
            throw new IllegalStateException(what + ": native kernel returned error " + code
                    + (code == -1 ? " (instruction set not supported)" : code == -3
                            ? " (out of memory)" : " (bad arguments)"));
        }
    }

    /** A downcall returning an int. */
    @FunctionalInterface
    interface IntCall {
        /**
         * Runs the call.
         *
         * @return its result
         * @throws Throwable whatever {@code invokeExact} throws
         */
        int invoke() throws Throwable;
    }

    @SuppressWarnings("restricted") // native access is the point; the JVM warns once without the flag
    private static MethodHandle bind(
            Linker linker, SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = lookup.find(name).orElseThrow(
                () -> new IllegalStateException("native library lacks " + name));
        return linker.downcallHandle(symbol, descriptor);
    }

    /** Loads the library once, on first use, and remembers why if it could not. */
    private static final class Loaded {
        static final NativeBindings BINDINGS;
        static final String FAILURE;

        static {
            NativeBindings bindings = null;
            String failure = null;
            try {
                bindings = bind(NativeLibrary.load());
            } catch (Exception | LinkageError e) {
                failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            BINDINGS = bindings;
            FAILURE = failure;
        }
    }
}
