package org.quantint8.demo;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/** The inputs of a BERT-family model for one tokenized sentence, named like the graph inputs. */
public final class BertInputs {

    private BertInputs() {}

    /**
     * Returns {@code input_ids}, {@code attention_mask} and {@code token_type_ids}, INT64 [1, n].
     *
     * @param manager the manager of the arrays
     * @param encoding the tokenized sentence
     * @return the named inputs
     */
    public static NDList of(NDManager manager, Encoding encoding) {
        Shape shape = new Shape(1, encoding.getIds().length);
        return new NDList(
                named(manager.create(encoding.getIds(), shape), "input_ids"),
                named(manager.create(encoding.getAttentionMask(), shape), "attention_mask"),
                named(manager.create(encoding.getTypeIds(), shape), "token_type_ids"));
    }

    private static NDArray named(NDArray array, String name) {
        array.setName(name);
        return array;
    }
}
