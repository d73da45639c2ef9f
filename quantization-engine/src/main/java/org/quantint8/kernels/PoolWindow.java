package org.quantint8.kernels;

/**
 * The window of a 2-D max pooling over NCHW planes: {@link Int8Kernels#maxPool} takes it. The
 * output size is the caller's (floor or ceiling mode); every output window must start inside the
 * padded input, and the padding is less than the kernel, so that each window has a tap.
 *
 * @param inH the input height
 * @param inW the input width
 * @param outH the output height
 * @param outW the output width
 * @param kernelH the kernel height
 * @param kernelW the kernel width
 * @param strideH the vertical stride
 * @param strideW the horizontal stride
 * @param padH the padding above (and below)
 * @param padW the padding left (and right)
 */
public record PoolWindow(
        int inH,
        int inW,
        int outH,
        int outW,
        int kernelH,
        int kernelW,
        int strideH,
        int strideW,
        int padH,
        int padW) {

    /** Validates the sizes: positive, padding below the kernel, every window with a tap. */
    public PoolWindow {
        int[] positive = {inH, inW, outH, outW, kernelH, kernelW, strideH, strideW};
        for (int v : positive) {
            if (v < 1) {
                throw new IllegalArgumentException("Pooling sizes must be positive, got " + this);
            }
        }
        if (padH < 0 || padW < 0 || padH >= kernelH || padW >= kernelW) {
            throw new IllegalArgumentException(
                    "Pooling padding must be at least 0 and less than the kernel, got " + this);
        }
        if ((long) (outH - 1) * strideH - padH >= inH
                || (long) (outW - 1) * strideW - padW >= inW) {
            throw new IllegalArgumentException(
                    "Pooling output " + outH + "x" + outW + " has windows past the input: " + this);
        }
    }

    /**
     * Returns the values of one input plane.
     *
     * @return {@code inH * inW}
     */
    public long inputPlane() {
        return (long) inH * inW;
    }

    /**
     * Returns the values of one output plane.
     *
     * @return {@code outH * outW}
     */
    public long outputPlane() {
        return (long) outH * outW;
    }

    /**
     * Returns the sizes in the order the native library takes them.
     *
     * @return inH, inW, outH, outW, kernelH, kernelW, strideH, strideW, padH, padW
     */
    public int[] toArray() {
        return new int[] {inH, inW, outH, outW, kernelH, kernelW, strideH, strideW, padH, padW};
    }
}
