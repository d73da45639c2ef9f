package org.quantint8.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.quantint8.kernels.Activation;
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
     * Int8Kernels#positionsOnRows}, {@link #convByPositions}); both give the same bits. The input
     * and the residual may be channels-last ({@link QuantInt8NDArray#isChannelsLast}).
     */
    static NDArray conv2d(
            NDArray input,
            NDArray weight,
            NDArray bias,
            ConvGeometry geometry,
            Int8Output out) {
        try (Operands ops = new Operands("conv2d", input, weight).acceptingChannelsLast()) {
            QuantInt8NDArray w = GemmOps.weightOperand(ops, weight, 4);
            ConvGeometry.Sizes s = geometry.resolve(valueShape(input), w.getShape());
            MemorySegment b = GemmOps.biasOperand(ops, bias, s.outChannels(), out);
            GemmOps.checkPostStep(ops, out, s.outChannels());
            QuantInt8NDArray a = ops.activation("input", input);
            QuantInt8NDArray residual = residualOperand(ops, out, s.outputShape());
            GemmOps.Epilogue epilogue = new GemmOps.Epilogue(a, w, b, out);
            Int8Kernels kernels = Int8Kernels.best();
            ConvWindow window = s.window();
            int groupOut = s.outChannels() / s.groups();
            boolean staysLast = out.isChannelsLastAllowed() && s.groups() == 1
                    && (residual == null || residual.isChannelsLast());
            if (out.getDataType() == DataType.FLOAT32 && out.getQuantization() == null
                    && kernels.positionsOnRows(window, groupOut, staysLast)) {
                return ops.inEngineOf(input,
                        convByPositions(ops, kernels, a, w, s, epilogue, residual, staysLast));
            }
            a = channelsFirst(ops, kernels, a);
            MemorySegment shortcut = residual == null ? null
                    : channelsFirst(ops, kernels, residual).getDataSegment();
            QuantInt8NDArray result = ops.overwrittenResult(s.outputShape(), out.getDataType(),
                    out.getQuantization());
            convByChannels(ops, kernels, a, w, s, epilogue, shortcut, result);
            return ops.inEngineOf(input, result);
        }
    }

    /** The convolution with the output channels on the GEMM's rows, NCHW operands. */
    private static void convByChannels(Operands ops, Int8Kernels kernels, QuantInt8NDArray a,
            QuantInt8NDArray w, ConvGeometry.Sizes s, GemmOps.Epilogue epilogue,
            MemorySegment residual, QuantInt8NDArray result) {
        ConvWindow window = s.window();
        int positions = window.positions();
        int patchLength = window.patchLength();
        int groupOut = s.outChannels() / s.groups();
        Int8Output out = epilogue.out();
        QuantizationParameters q = out.getQuantization();
        // The GEMMs of all images and groups write every element of both (tiles cover C).
        QuantInt8NDArray real = q == null ? null
                : ops.overwrittenTemporary(new Shape(groupOut, positions), DataType.FLOAT32,
                        null);
        boolean signed = a.getDataType() == DataType.INT8;
        int zero = a.getQuantization().getZeroPoint(0);
        long bytes = out.getDataType().getNumOfBytes();
        for (int batch = 0; batch < s.batch(); batch++) {
            for (int g = 0; g < s.groups(); g++) {
                long in = inputOffset(s, batch, g);
                long first = outputOffset(s, batch, g);
                Int8Matrix weights = GemmOps.matrix(w, (long) g * groupOut * patchLength,
                        groupOut, patchLength, groupZeroPoints(w, g, groupOut));
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
                        requantize(real.getDataSegment(), (long) groupOut * positions, q, dst);
                    }
                }
            }
        }
    }

    /**
     * The FP32 convolution with the output positions on the GEMM's rows: {@code C[position]
     * [channel] = patches[position][k] x W[channel][k]}, the patches the left operand ({@link
     * Int8Kernels#patchRows}, K in tap-major order) and the weights the packed right one
     * (reordered alike and packed once, kept with them), the scale, bias and normalization per
     * column. C is the channels-last output: when it may stay so ({@code lastOut}: one group,
     * an output allowed to be channels-last, {@link Int8Output#withChannelsLastAllowed}, whose
     * residual is channels-last too or absent), the residual and activation join the epilogue
     * and C is the result, so convolutions that follow one another this way never transpose.
     * Otherwise {@link Int8Kernels#transposeOutput} writes the NCHW planes adding the residual
     * and activation. Every product and sum rounds as in the fused per-row epilogue, so either
     * output holds the same bits.
     */
    private static QuantInt8NDArray convByPositions(Operands ops, Int8Kernels kernels,
            QuantInt8NDArray a, QuantInt8NDArray w, ConvGeometry.Sizes s,
            GemmOps.Epilogue epilogue, QuantInt8NDArray residual, boolean lastOut) {
        ConvWindow window = s.window();
        int positions = window.positions();
        int patchLength = window.patchLength();
        int groupOut = s.outChannels() / s.groups();
        if (s.groups() != 1) {
            a = channelsFirst(ops, kernels, a); // a group's channels are not contiguous
        }
        MemorySegment shortcut = residual == null ? null
                : (lastOut ? residual : channelsFirst(ops, kernels, residual)).getDataSegment();
        QuantInt8NDArray result = ops.overwrittenResult(
                lastOut ? channelsLastShape(s.outputShape()) : s.outputShape(),
                DataType.FLOAT32, null);
        if (lastOut) {
            result.markChannelsLast();
        }
        PackedInt8Matrix[] weights = w.packed(kernels, s.groups(), g -> kernels.pack(
                new Int8Matrix(MemorySegment.ofArray(window.toTapMajor(w.getDataSegment()
                        .asSlice((long) g * groupOut * patchLength), groupOut)), groupOut,
                        patchLength, w.getDataType() == DataType.INT8,
                        groupZeroPoints(w, g, groupOut))));
        boolean signed = a.getDataType() == DataType.INT8;
        boolean inLast = a.isChannelsLast();
        int[] zero = {a.getQuantization().getZeroPoint(0)};
        // A 1x1, stride-1, unpadded window over a channels-last input: the input is the patches.
        boolean direct = inLast && window.isDirect();
        MemorySegment rows = direct ? null : ops.overwrittenTemporary(
                new Shape(positions, patchLength), a.getDataType(), a.getQuantization())
                .getDataSegment();
        MemorySegment byPosition = lastOut ? null : ops.overwrittenTemporary(
                new Shape(positions, groupOut), DataType.FLOAT32, null).getDataSegment();
        long planes = 4L * groupOut * positions;
        for (int batch = 0; batch < s.batch(); batch++) {
            for (int g = 0; g < s.groups(); g++) {
                MemorySegment image = a.getDataSegment().asSlice(inputOffset(s, batch, g),
                        window.inputBytes());
                if (!direct) {
                    kernels.patchRows(image, signed, zero[0], window, inLast, rows);
                }
                Int8Matrix patches = new Int8Matrix(direct ? image : rows, positions,
                        patchLength, signed, zero);
                long first = 4 * outputOffset(s, batch, g);
                MemorySegment added = shortcut == null ? null : shortcut.asSlice(first, planes);
                MemorySegment dst = result.getDataSegment().asSlice(first, planes);
                GemmEpilogue perChannel = epilogue.byPositions(g * groupOut, groupOut, lastOut,
                        added);
                if (lastOut) {
                    kernels.gemmF32(patches, weights[g], perChannel, dst);
                } else {
                    kernels.gemmF32(patches, weights[g], perChannel, byPosition);
                    kernels.transposeOutput(byPosition, positions, groupOut, added,
                            epilogue.out().getActivation(), dst);
                }
            }
        }
        return result;
    }

    /** The NCHW shape of the values of {@code x}, which may be channels-last. */
    static Shape valueShape(NDArray x) {
        Shape shape = x.getShape();
        boolean last = x instanceof QuantInt8NDArray q && q.isChannelsLast();
        return last ? new Shape(shape.get(0), shape.get(3), shape.get(1), shape.get(2)) : shape;
    }

    private static Shape channelsLastShape(Shape nchw) {
        return new Shape(nchw.get(0), nchw.get(2), nchw.get(3), nchw.get(1));
    }

    /**
     * {@code x} itself when it is NCHW, else its NCHW copy, closed with the call: 8-bit codes
     * (their quantization kept) or FP32 values, transposed image by image.
     */
    private static QuantInt8NDArray channelsFirst(Operands ops, Int8Kernels kernels,
            QuantInt8NDArray x) {
        if (!x.isChannelsLast()) {
            return x;
        }
        QuantInt8NDArray planes = ops.overwrittenTemporary(valueShape(x), x.getDataType(),
                x.getQuantization());
        toChannelsFirst(kernels, x, planes);
        return planes;
    }

    /** Writes the channels-last {@code x} as the NCHW planes of {@code planes}. */
    static void toChannelsFirst(Int8Kernels kernels, QuantInt8NDArray x,
            QuantInt8NDArray planes) {
        Shape shape = x.getShape();
        int pixels = Math.toIntExact(shape.get(1) * shape.get(2));
        int channels = Math.toIntExact(shape.get(3));
        long bytes = (long) pixels * channels * x.getDataType().getNumOfBytes();
        for (long batch = 0; batch < shape.get(0); batch++) {
            MemorySegment src = x.getDataSegment().asSlice(batch * bytes, bytes);
            MemorySegment dst = planes.getDataSegment().asSlice(batch * bytes, bytes);
            if (x.getDataType() == DataType.FLOAT32) {
                kernels.transposeOutput(src, pixels, channels, null, Activation.NONE, dst);
            } else {
                kernels.transposeBytes(src, pixels, channels, dst);
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

    private static QuantInt8NDArray residualOperand(Operands ops, Int8Output out, Shape shape) {
        NDArray residual = out.getResidual();
        if (residual == null) {
            return null;
        }
        if (residual.getDataType() != DataType.FLOAT32 || !valueShape(residual).equals(shape)) {
            throw new IllegalArgumentException(ops.op() + ": the residual must be FLOAT32 of the"
                    + " output shape " + shape + ", got " + residual.getDataType() + " "
                    + valueShape(residual));
        }
        return ops.own(residual);
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
