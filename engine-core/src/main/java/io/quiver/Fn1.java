package io.quiver;

import java.io.Serializable;

/**
 * A function of one argument that runs on the cluster.
 * Follows Java serialization's rules: what it captures must be serializable.
 *
 * @param <A> the argument type
 * @param <R> the result type
 */
@FunctionalInterface
public interface Fn1<A, R> extends Serializable {
    /**
     * Runs the function.
     *
     * @param a the argument
     * @return the result
     * @throws Exception anything; it fails the task with a {@link TaskFailedException}
     */
    R apply(A a) throws Exception;
}
