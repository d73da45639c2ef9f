/**
 * The INT8 kernels at the bottom of the engine: the {@link org.quantint8.kernels.Int8Kernels}
 * interface, its pure-Java reference {@link org.quantint8.kernels.JavaInt8Kernels}, and the
 * scalar and element-wise quantization arithmetic shared by all layers above.
 *
 * <p>Kernels work on {@link java.lang.foreign.MemorySegment}s and plain numbers only; they know
 * nothing of NDArrays.
 */
package org.quantint8.kernels;
