package io.quiver.core.client.dataset;

import java.io.Serializable;

/**
 * Stands for a null element where an element becomes a shuffle key (distinct, subtract,
 * intersection, countByValue), since shuffle keys must be non-null. Its hash code is fixed, so
 * every JVM sends it to the same partition. Immutable.
 */
final class NullSafeKey implements Serializable {
    private static final long serialVersionUID = 1L;
    static final NullSafeKey NULL = new NullSafeKey();

    private NullSafeKey() {}

    static Object wrap(Object element) {
        return element == null ? NULL : element;
    }

    static Object unwrap(Object key) {
        return key instanceof NullSafeKey ? null : key;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NullSafeKey;
    }

    @Override
    public int hashCode() {
        return 0x6e756c6c;
    }

    @Override
    public String toString() {
        return "null";
    }
}
