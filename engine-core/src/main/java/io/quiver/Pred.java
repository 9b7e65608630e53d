package io.quiver;

import java.io.Serializable;

/** A predicate that runs on the cluster. Follows Java serialization's rules. */
@FunctionalInterface
public interface Pred<T> extends Serializable {
    boolean test(T t) throws Exception;
}
