package io.quiver.core.plan;

import java.util.Objects;

/**
 * What the final stage of a job returns per partition.
 *
 * <ul>
 *   <li>{@link Kind#COLLECT}: the partition as an {@code ArrayList}, in order;
 *   <li>{@link Kind#COUNT}: a {@code Long};
 *   <li>{@link Kind#REDUCE}: an {@code Object[]}, empty for an empty partition, else holding the
 *       partition reduced with {@link #function()} (a serialized {@code Fn2<T,T,T>}). The client
 *       folds the partials in partition order.
 * </ul>
 */
public record Action(Kind kind, byte[] function) {
    public enum Kind {
        COLLECT(0),
        COUNT(1),
        REDUCE(2);

        /** The code in an encoded plan. */
        public final int code;

        Kind(int code) {
            this.code = code;
        }

        public static Kind of(int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown action code " + code + " in an encoded plan");
        }
    }

    public Action {
        Objects.requireNonNull(kind, "kind");
        if ((kind == Kind.REDUCE) != (function != null)) {
            throw new IllegalArgumentException("a REDUCE action, and only it, has a function");
        }
    }

    public static Action collect() {
        return new Action(Kind.COLLECT, null);
    }

    public static Action count() {
        return new Action(Kind.COUNT, null);
    }

    /** {@code function} is a {@code Fn2<T,T,T>} serialized with {@code JavaSerialization}. */
    public static Action reduce(byte[] function) {
        return new Action(Kind.REDUCE, Objects.requireNonNull(function, "function"));
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(java.util.Locale.ROOT);
    }
}
