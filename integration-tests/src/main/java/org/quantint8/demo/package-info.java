/** The README's main job, a runnable demonstration of the engine. */
package org.quantint8.demo;
