package io.quiver.core.plan;

import java.io.Serializable;

/**
 * A shuffle bucket of key-value pairs as parallel arrays (compact under Java serialization: no
 * per-entry objects). For {@code reduceByKey} the keys are distinct (map-side combined); for
 * {@code groupByKey} and {@code join} they are the pairs in input order.
 */
public record KeyedBucket(Object[] keys, Object[] values) implements Serializable {
    public int size() {
        return keys.length;
    }
}
