package org.quantint8.onnx.interpreter;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The table from ONNX operator type (domain and name) to its implementation: which operators the
 * interpreter runs itself lives here, not in a chain of conditions. A node whose operator is not
 * registered runs on ONNX Runtime.
 */
public final class OperatorRegistry {

    private final Map<String, OnnxOperator> operators = new ConcurrentHashMap<>();

    /** Creates an empty registry. */
    public OperatorRegistry() {}

    /**
     * Returns a registry with every built-in operator: the standard FP32 and integer operators and
     * the quantized ones.
     *
     * @return a new registry
     */
    public static OperatorRegistry builtIn() {
        OperatorRegistry registry = new OperatorRegistry();
        StandardOperators.registerAll(registry);
        QuantizedOperators.registerAll(registry);
        return registry;
    }

    /**
     * Registers an operator, replacing any earlier one of the same type.
     *
     * @param domain the operator domain; {@code ""} and {@code "ai.onnx"} are the same
     * @param opType the operator type, for example {@code "MatMul"}
     * @param operator the implementation
     * @return this registry
     */
    public OperatorRegistry register(String domain, String opType, OnnxOperator operator) {
        operators.put(key(domain, opType), operator);
        return this;
    }

    /**
     * Finds the implementation of an operator type.
     *
     * @param domain the operator domain
     * @param opType the operator type
     * @return the implementation, or empty if the interpreter does not run this operator
     */
    public Optional<OnnxOperator> find(String domain, String opType) {
        return Optional.ofNullable(operators.get(key(domain, opType)));
    }

    private static String key(String domain, String opType) {
        String d = domain == null || domain.equals("ai.onnx") ? "" : domain;
        return d + ':' + opType;
    }
}
