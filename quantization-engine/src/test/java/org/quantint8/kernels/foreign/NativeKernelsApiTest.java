package org.quantint8.kernels.foreign;

import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.JavaInt8Kernels;
import org.quantint8.kernels.PackedInt8Matrix;
import org.testng.Assert;
import org.testng.annotations.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Argument checks, kernel selection and library extraction of the native kernels. */
public class NativeKernelsApiTest {

    @Test
    public void bestIsNativeWhenTheLibraryLoads() {
        String expected = NativeInt8Kernels.load().map(Int8Kernels::name).orElse("java");
        if (System.getProperty("quantint8.kernels", "native").equals("java")) {
            expected = "java";
        }
        Assert.assertEquals(Int8Kernels.best().name(), expected);
    }

    @Test
    public void checksRejectBadCallsBeforeTheDowncall() {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(Isa.PORTABLE);
        try (Arena arena = Arena.ofConfined()) {
            Int8Matrix a = new Int8Matrix(arena.allocate(6), 2, 3, false, new int[] {0});
            Int8Matrix b = new Int8Matrix(arena.allocate(12), 4, 3, true, new int[] {0});
            Int8Matrix wrongK = new Int8Matrix(arena.allocate(8), 4, 2, true, new int[] {0});
            MemorySegment c = arena.allocate(32);
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.gemm(a, b, arena.allocate(31)));
            Assert.expectThrows(IllegalArgumentException.class, () -> kernels.gemm(a, wrongK, c));
            try (PackedInt8Matrix javaPacked = JavaInt8Kernels.INSTANCE.pack(b)) {
                Assert.expectThrows(IllegalArgumentException.class,
                        () -> kernels.gemm(a, javaPacked, c));
            }
            PackedInt8Matrix packed = kernels.pack(b);
            Assert.expectThrows(IllegalArgumentException.class,
                    () -> kernels.gemm(new Int8Matrix(arena.allocate(4), 2, 2, false,
                            new int[] {0}), packed, c));
            packed.close();
            packed.close(); // idempotent
            Assert.expectThrows(IllegalStateException.class, () -> kernels.gemm(a, packed, c));
            Assert.expectThrows(IllegalArgumentException.class, () -> kernels.gemvF32(
                    arena.allocate(8), b, new float[] {1f}, arena.allocate(16)));
            Assert.expectThrows(IllegalArgumentException.class, () -> kernels.gemvF32(
                    arena.allocate(12), b, new float[] {1f, 2f}, arena.allocate(16)));
        }
    }

    @Test
    public void forcedPathsNeverExceedTheCpu() {
        NativeInt8Kernels.load().ifPresent(best -> {
            for (Isa isa : Isa.values()) {
                Assert.assertEquals(NativeInt8Kernels.forIsa(isa).isPresent(),
                        isa.ordinal() <= best.isa().ordinal(), isa.name());
            }
        });
    }

    @Test
    public void extractionReusesAGoodCopyAndReplacesABadOne() throws IOException {
        Path folder = Files.createTempDirectory("qi8-native-test");
        byte[] library = new byte[1000];
        new Random(1).nextBytes(library);
        String hash = java.util.HexFormat.of().formatHex(sha256(library));
        Path first = NativeLibrary.extract(folder, library, hash);
        Assert.assertEquals(Files.readAllBytes(first), library);
        long stamp = Files.getLastModifiedTime(first).toMillis();
        Assert.assertEquals(NativeLibrary.extract(folder, library, hash), first);
        Assert.assertEquals(Files.getLastModifiedTime(first).toMillis(), stamp, "rewritten");
        Files.write(first, new byte[1000]); // same size, wrong content
        Assert.assertEquals(Files.readAllBytes(NativeLibrary.extract(folder, library, hash)),
                library);
        try (var files = Files.list(folder)) {
            Assert.assertEquals(files.count(), 1L, "a temporary file was left behind");
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void heapInputAndOutputAreStaged() {
        NativeInt8Kernels kernels = NativeGemmPropertyTest.kernels(Isa.PORTABLE);
        byte[] a = {1, 2, 3, 4, 5};
        byte[] b = {-1, 1, -1, 1, -1, 2, 2, 2, 2, 2};
        int[] c = new int[2];
        kernels.gemm(new Int8Matrix(MemorySegment.ofArray(a), 1, 5, false, new int[] {1}),
                new Int8Matrix(MemorySegment.ofArray(b), 2, 5, true, new int[] {0}),
                MemorySegment.ofArray(c));
        // A - zA = {0, 1, 2, 3, 4}: row 0 of B alternates -1, 1; row 1 is all 2.
        Assert.assertEquals(c, new int[] {-2, 20});
    }
}
