/**
 * The kernels at the bottom of the engine: the {@link org.quantint8.kernels.Int8Kernels}
 * interface, its pure-Java references {@link org.quantint8.kernels.JavaInt8Kernels} and {@link
 * org.quantint8.kernels.FloatKernels} (the FP32 transformer loops), and the scalar and
 * element-wise quantization arithmetic shared by all layers above.
 *
 * <p>Kernels work on {@link java.lang.foreign.MemorySegment}s and plain numbers only; they know
 * nothing of NDArrays.
 */
package org.quantint8.kernels;
