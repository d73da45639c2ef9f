/** JMH benchmarks; every figure is measured beside its peer in the same run. */
package org.quantint8.benchmarks;
