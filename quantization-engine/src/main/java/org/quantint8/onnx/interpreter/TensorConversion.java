package org.quantint8.onnx.interpreter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import org.quantint8.onnx.OnnxDataType;
import org.quantint8.onnx.OnnxTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Turns ONNX constant tensors into NDArrays. */
final class TensorConversion {

    private TensorConversion() {}

    /**
     * Copies a constant tensor into a new array of a manager.
     *
     * <p>The data is copied into memory of its own, so that the array does not depend on the
     * model file's mapping and is aligned.
     *
     * @param manager the manager of the new array
     * @param tensor the tensor, of a type DJL has
     * @return the array, attached to the manager
     * @throws IllegalArgumentException if DJL has no type for the tensor's
     */
    static NDArray toNDArray(NDManager manager, OnnxTensor tensor) {
        OnnxDataType onnxType = tensor.getDataType();
        DataType type = onnxType.toDjl();
        if (type == null
                || type == DataType.UNKNOWN
                || type == DataType.STRING
                || onnxType.getBits() < 8) {
            throw new IllegalArgumentException(
                    "tensor '" + tensor.getName() + "' of type " + onnxType + " is not supported");
        }
        ByteBuffer data = tensor.getData();
        ByteBuffer copy = ByteBuffer.allocateDirect(data.remaining()).order(ByteOrder.nativeOrder());
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("big-endian platforms are not supported");
        }
        copy.put(data.duplicate()).flip();
        return owned(manager.create(copy, tensor.getShape(), type));
    }

    /**
     * Returns a copy whose memory belongs to the engine.
     *
     * <p>PyTorch wraps the direct buffer an array is created from without copying it, and only
     * that array keeps the buffer reachable: a view of it (a reshape, say) that outlives it would
     * read freed memory once the buffer is collected. Every array the interpreter makes from
     * Java data therefore goes through this method.
     *
     * @param wrapped an array just created from Java data; it is closed
     * @return an array with memory of its own, attached to the same manager
     */
    static NDArray owned(NDArray wrapped) {
        try (wrapped) {
            return wrapped.duplicate();
        }
    }

    /**
     * Returns a copy of the given type whose memory belongs to the engine; see {@link
     * #owned(NDArray)}.
     *
     * <p>{@code toType(type, true)} is not enough: DJL's PyTorch engine returns an alias of the
     * same memory, not a copy, when the type does not change.
     *
     * @param wrapped an array just created from Java data; it is closed
     * @param type the type of the copy
     * @return an array with memory of its own, attached to the same manager
     */
    static NDArray owned(NDArray wrapped, DataType type) {
        if (wrapped.getDataType() == type) {
            return owned(wrapped);
        }
        try (wrapped) {
            return wrapped.toType(type, true);
        }
    }
}
