package io.quiver;

import java.io.Serializable;

/**
 * A key and a value; the element type of {@link PairDataset}. Either may be null.
 *
 * @param key the key
 * @param value the value
 * @param <K> the key type
 * @param <V> the value type
 * @serial exclude (its serial form is its two components, documented above; JDK 17's doclint cannot see
 *     record components documented this way and would warn)
 */
public record KV<K, V>(K key, V value) implements Serializable {
    /**
     * A pair.
     *
     * @param key the key
     * @param value the value
     * @param <K> the key type
     * @param <V> the value type
     * @return {@code new KV<>(key, value)}
     */
    public static <K, V> KV<K, V> of(K key, V value) {
        return new KV<>(key, value);
    }
}
