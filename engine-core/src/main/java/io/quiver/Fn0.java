package io.quiver;

import java.io.Serializable;

/**
 * A function of no arguments that runs on the cluster.
 * Follows Java serialization's rules: what it captures must be serializable.
 *
 * @param <R> the result type
 */
@FunctionalInterface
public interface Fn0<R> extends Serializable {
    /**
     * Runs the function.
     *
     * @return the result
     * @throws Exception anything; it fails the task with a {@link TaskFailedException}
     */
    R apply() throws Exception;
}
