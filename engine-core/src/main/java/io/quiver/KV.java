package io.quiver;

import java.io.Serializable;

/** A key and a value; the element type of {@link PairDataset}. Either may be null. */
public record KV<K, V>(K key, V value) implements Serializable {
    public static <K, V> KV<K, V> of(K key, V value) {
        return new KV<>(key, value);
    }
}
