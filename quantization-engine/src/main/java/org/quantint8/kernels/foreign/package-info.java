/**
 * The native INT8 kernels (C, AVX-512 VNNI / AVX2 / portable, built by Maven into the jar) and
 * their binding with {@code java.lang.foreign}: extraction and loading of the library ({@link
 * org.quantint8.kernels.foreign.NativeLibrary}), the downcall handles ({@link
 * org.quantint8.kernels.foreign.NativeBindings}), and the Java side that checks every argument,
 * stages memory the C code may not touch, and spreads tiles over threads.
 */
package org.quantint8.kernels.foreign;
