package org.quantint8.it.accuracy;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;

import org.quantint8.zoo.architectures.Gpt2;

import java.nio.file.Path;

/**
 * The inputs of a {@link Gpt2} graph for one window scored from scratch, and that graph's logits
 * on ONNX Runtime, the reference its DJL training twin is checked against.
 *
 * @param numLayers the number of blocks
 * @param numHeads the number of heads
 * @param headDim the hidden size over the number of heads
 */
record Gpt2Inputs(int numLayers, int numHeads, int headDim) {

    /**
     * Returns the graph's inputs: the ids {@code [1, length]} and an empty key/value cache
     * {@code [1, heads, 0, headDim]} per layer, keys then values.
     *
     * @param manager where the arrays live
     * @param ids the window's token ids
     * @return the inputs, in the graph's order
     */
    NDList of(NDManager manager, long[] ids) {
        NDList inputs = new NDList(manager.create(ids, new Shape(1, ids.length)));
        for (int i = 0; i < 2 * numLayers; i++) {
            inputs.add(manager.create(new float[0], new Shape(1, numHeads, 0, headDim)));
        }
        return inputs;
    }

    /**
     * Runs one window on ONNX Runtime.
     *
     * @param onnx the model file
     * @param ids the window's token ids
     * @return the logits, {@code ids.length * vocab} values
     * @throws Exception if loading or running fails
     */
    float[] onnxRuntimeLogits(Path onnx, long[] ids) throws Exception {
        Criteria<NDList, NDList> criteria = Criteria.builder().setTypes(NDList.class, NDList.class)
                .optEngine("OnnxRuntime").optModelPath(onnx).build();
        try (ZooModel<NDList, NDList> model = criteria.loadModel();
                Predictor<NDList, NDList> predictor = model.newPredictor();
                NDManager manager = model.getNDManager().newSubManager()) {
            return predictor.predict(of(manager, ids)).get(0).toFloatArray();
        }
    }
}
