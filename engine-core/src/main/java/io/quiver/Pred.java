package io.quiver;

import java.io.Serializable;

/**
 * A predicate that runs on the cluster.
 * Follows Java serialization's rules: what it captures must be serializable.
 *
 * @param <T> the tested type
 */
@FunctionalInterface
public interface Pred<T> extends Serializable {
    /**
     * Tests an element.
     *
     * @param t the element
     * @return whether it passes
     * @throws Exception anything; it fails the task with a {@link TaskFailedException}
     */
    boolean test(T t) throws Exception;
}
