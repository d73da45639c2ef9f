package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.ConvWindow;
import org.quantint8.kernels.GemmEpilogue;
import org.quantint8.kernels.Int8Kernels;
import org.quantint8.kernels.Int8Matrix;
import org.quantint8.kernels.PackedInt8Matrix;
import org.quantint8.kernels.QuantMath;
import org.quantint8.kernels.QuantizedStorage;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The 2-D convolution as GEMMs, one per image and group, in either orientation: channels on the
 * GEMM's rows (the weights as stored times the packed patches) or positions on rows (the patches
 * times the packed weights, then a transposition), as the kernels choose; the operand checks and
 * the epilogue are {@link GemmOps}'s.
 */
final class ConvOps {

    private ConvOps() {}

    /**
     * The convolution as one GEMM per image and group, {@code C[channel][position] =
     * W[channel][k] x patches[position][k]}: the weights are the left operand as stored, the
     * patches the packed right one, so C's rows are the NCHW output planes and the epilogue is
     * per row (in the native kernels' registers for FP32 output); nothing is transposed after.
     * An FP32 convolution runs the other way round when the kernels find it faster ({@link
     * Int8Kernels#positionsOnRows}, {@link #convByPositions}); both give the same bits.
     */
    static NDArray conv2d(
            NDArray input,
            NDArray weight,
            NDArray bias,
            ConvGeometry geometry,
            Int8Output out) {
        try (Operands ops = new Operands("conv2d", input, weight)) {
            QuantInt8NDArray w = GemmOps.weightOperand(ops, weight, 4);
            ConvGeometry.Sizes s = geometry.resolve(input.getShape(), w.getShape());
            MemorySegment b = GemmOps.biasOperand(ops, bias, s.outChannels(), out);
            GemmOps.checkPostStep(ops, out, s.outChannels());
            QuantInt8NDArray a = ops.activation("input", input);
            ConvWindow window = s.window();
            int positions = window.positions();
            int patchLength = window.patchLength();
            int groupOut = s.outChannels() / s.groups();
            QuantizationParameters q = out.getQuantization();
            // The GEMMs of all images and groups write every element of both (tiles cover C).
            QuantInt8NDArray real = q == null ? null
                    : ops.overwrittenTemporary(new Shape(groupOut, positions), DataType.FLOAT32,
                            null);
            QuantInt8NDArray result = ops.overwrittenResult(s.outputShape(), out.getDataType(), q);
            GemmOps.Epilogue epilogue = new GemmOps.Epilogue(a, w, b, out);
            MemorySegment residual = residualOperand(ops, out, s.outputShape());
            Int8Kernels kernels = Int8Kernels.best();
            if (out.getDataType() == DataType.FLOAT32 && q == null
                    && kernels.positionsOnRows(window, groupOut)) {
                convByPositions(ops, kernels, a, w, s, epilogue, residual, result);
                return ops.inEngineOf(input, result);
            }
            boolean signed = a.getDataType() == DataType.INT8;
            int zero = a.getQuantization().getZeroPoint(0);
            for (int batch = 0; batch < s.batch(); batch++) {
                for (int g = 0; g < s.groups(); g++) {
                    long in = inputOffset(s, batch, g);
                    long first = outputOffset(s, batch, g);
                    Int8Matrix weights = GemmOps.matrix(w, (long) g * groupOut * patchLength,
                            groupOut, patchLength, groupZeroPoints(w, g, groupOut));
                    long bytes = out.getDataType().getNumOfBytes();
                    MemorySegment dst = result.getDataSegment()
                            .asSlice(first * bytes, (long) groupOut * positions * bytes);
                    MemorySegment shortcut = residual == null ? null
                            : residual.asSlice(4 * first, 4L * groupOut * positions);
                    try (PackedInt8Matrix patches = kernels.packPatches(a.getDataSegment()
                            .asSlice(in, window.inputBytes()), signed, zero, window)) {
                        if (out.getDataType() == DataType.INT32) {
                            kernels.gemm(weights, patches, dst);
                        } else if (q == null) {
                            kernels.gemmF32(weights, patches,
                                    epilogue.rows(g * groupOut, groupOut, shortcut), dst);
                        } else {
                            kernels.gemmF32(weights, patches,
                                    epilogue.rows(g * groupOut, groupOut, null),
                                    real.getDataSegment());
                            requantize(real.getDataSegment(), (long) groupOut * positions, q,
                                    dst);
                        }
                    }
                }
            }
            return ops.inEngineOf(input, result);
        }
    }

    /**
     * The FP32 convolution with the output positions on the GEMM's rows: {@code C[position]
     * [channel] = patches[position][k] x W[channel][k]}, the patches the left operand ({@link
     * Int8Kernels#patchRows}, K in tap-major order) and the weights the packed right one
     * (reordered alike and packed once, kept with them), the scale, bias and normalization per
     * column, then the transposition to NCHW planes with the residual and activation ({@link
     * Int8Kernels#transposeOutput}). Every product and sum rounds as in the fused per-row
     * epilogue, so the output is the same bits.
     */
    private static void convByPositions(Operands ops, Int8Kernels kernels, QuantInt8NDArray a,
            QuantInt8NDArray w, ConvGeometry.Sizes s, GemmOps.Epilogue epilogue,
            MemorySegment residual, QuantInt8NDArray result) {
        ConvWindow window = s.window();
        int positions = window.positions();
        int patchLength = window.patchLength();
        int groupOut = s.outChannels() / s.groups();
        PackedInt8Matrix[] weights = w.packed(kernels, s.groups(), g -> kernels.pack(
                new Int8Matrix(MemorySegment.ofArray(window.toTapMajor(w.getDataSegment()
                        .asSlice((long) g * groupOut * patchLength), groupOut)), groupOut,
                        patchLength, w.getDataType() == DataType.INT8,
                        groupZeroPoints(w, g, groupOut))));
        boolean signed = a.getDataType() == DataType.INT8;
        int zero = a.getQuantization().getZeroPoint(0);
        MemorySegment rows = ops.overwrittenTemporary(new Shape(positions, patchLength),
                a.getDataType(), a.getQuantization()).getDataSegment();
        MemorySegment byPosition = ops.overwrittenTemporary(new Shape(positions, groupOut),
                DataType.FLOAT32, null).getDataSegment();
        Int8Matrix patches = new Int8Matrix(rows, positions, patchLength, signed, new int[] {zero});
        long planes = 4L * groupOut * positions;
        for (int batch = 0; batch < s.batch(); batch++) {
            for (int g = 0; g < s.groups(); g++) {
                long in = inputOffset(s, batch, g);
                long first = 4 * outputOffset(s, batch, g);
                kernels.patchRows(a.getDataSegment().asSlice(in, window.inputBytes()), signed,
                        zero, window, rows);
                GemmEpilogue perChannel = epilogue.byPositions(g * groupOut, groupOut);
                kernels.gemmF32(patches, weights[g], perChannel, byPosition);
                kernels.transposeOutput(byPosition, positions, groupOut,
                        residual == null ? null : residual.asSlice(first, planes),
                        epilogue.out().getActivation(), result.getDataSegment().asSlice(first,
                                planes));
            }
        }
    }

    /** The first input element of an image's group: its planes are the GEMM's input. */
    private static long inputOffset(ConvGeometry.Sizes s, int batch, int group) {
        return ((long) batch * s.inChannels() + (long) group * s.groupInChannels()) * s.inH()
                * s.inW();
    }

    /** The first output element of an image's group: its planes are the GEMM's output. */
    private static long outputOffset(ConvGeometry.Sizes s, int batch, int group) {
        int groupOut = s.outChannels() / s.groups();
        return ((long) batch * s.outChannels() + (long) group * groupOut) * s.outH() * s.outW();
    }


    private static MemorySegment residualOperand(Operands ops, Int8Output out, Shape shape) {
        NDArray residual = out.getResidual();
        if (residual == null) {
            return null;
        }
        if (residual.getDataType() != DataType.FLOAT32 || !residual.getShape().equals(shape)) {
            throw new IllegalArgumentException(ops.op() + ": the residual must be FLOAT32 of the"
                    + " output shape " + shape + ", got " + residual.getDataType() + " "
                    + residual.getShape());
        }
        return ops.own(residual).getDataSegment();
    }

    /** Quantizes {@code count} FP32 values to the per-tensor 8-bit parameters {@code q}. */
    private static void requantize(MemorySegment real, long count, QuantizationParameters q,
            MemorySegment dst) {
        QuantizedStorage storage = Int8Ops.storage(q);
        for (long i = 0; i < count; i++) {
            float x = real.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            storage.set(dst, i, QuantMath.quantize(x, q.getScale(0), q.getZeroPoint(0),
                    storage.min(), storage.max()));
        }
    }

    private static int[] groupZeroPoints(QuantInt8NDArray w, int group, int groupOut) {
        int[] zeros = w.getQuantization().getZeroPoints();
        if (zeros.length == 1) {
            return zeros;
        }
        return Arrays.copyOfRange(zeros, group * groupOut, (group + 1) * groupOut);
    }
}
