/**
 * The DJL engine {@code QuantInt8}: its {@link ai.djl.engine.EngineProvider}, {@link
 * ai.djl.engine.Engine} and {@link ai.djl.Model}.
 */
package org.quantint8.engine;
