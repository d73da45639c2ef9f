/**
 * Builders of standard ONNX graphs for the zoo's architectures: {@link
 * org.quantint8.zoo.architectures.Bert}, {@link org.quantint8.zoo.architectures.Gpt2} and {@link
 * org.quantint8.zoo.architectures.ResNet}, shaped like the PyTorch / Hugging Face exports of the
 * original models (opset 17), with seeded random weights initialized as the originals are, or with
 * imported weights named as in the original checkpoints (see {@code org.quantint8.zoo.weights}).
 *
 * <p>Every graph is made of parameters (initializers) and literal constants ({@code Constant}
 * nodes), so {@link org.quantint8.zoo.architectures.ParameterCount} counts exactly what PyTorch
 * counts.
 */
package org.quantint8.zoo.architectures;
