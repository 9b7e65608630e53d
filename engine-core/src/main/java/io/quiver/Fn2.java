package io.quiver;

import java.io.Serializable;

/**
 * A function of two arguments that runs on the cluster.
 * Follows Java serialization's rules: what it captures must be serializable.
 *
 * @param <A> the first argument's type
 * @param <B> the second argument's type
 * @param <R> the result type
 */
@FunctionalInterface
public interface Fn2<A, B, R> extends Serializable {
    /**
     * Runs the function.
     *
     * @param a the first argument
     * @param b the second argument
     * @return the result
     * @throws Exception anything; it fails the task with a {@link TaskFailedException}
     */
    R apply(A a, B b) throws Exception;
}
