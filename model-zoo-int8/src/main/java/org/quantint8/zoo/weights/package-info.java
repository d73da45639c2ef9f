/**
 * Weight importers that read checkpoint files without the framework that wrote them: TensorFlow
 * tensor bundles ({@link org.quantint8.zoo.weights.TensorBundleReader}), Hugging Face safetensors
 * ({@link org.quantint8.zoo.weights.SafetensorsReader}) and ONNX initializers ({@link
 * org.quantint8.zoo.weights.OnnxInitializerReader}), each returning {@link
 * org.quantint8.zoo.weights.CheckpointTensor}s by name; and the mappings of the original
 * checkpoints' names onto the architecture builders' ({@link
 * org.quantint8.zoo.weights.BertWeights}, {@link org.quantint8.zoo.weights.Gpt2Weights}, {@link
 * org.quantint8.zoo.weights.ResNetWeights}).
 *
 * <p>Readers check every size and offset against the file before allocating, verify the
 * checksums the format carries, and report problems as {@link
 * org.quantint8.zoo.weights.WeightFormatException}s naming the file and the tensor.
 */
package org.quantint8.zoo.weights;
