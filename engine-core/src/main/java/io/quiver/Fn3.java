package io.quiver;

import java.io.Serializable;

/**
 * A function of three arguments that runs on the cluster.
 * Follows Java serialization's rules: what it captures must be serializable.
 *
 * @param <A> the first argument's type
 * @param <B> the second argument's type
 * @param <C> the third argument's type
 * @param <R> the result type
 */
@FunctionalInterface
public interface Fn3<A, B, C, R> extends Serializable {
    /**
     * Runs the function.
     *
     * @param a the first argument
     * @param b the second argument
     * @param c the third argument
     * @return the result
     * @throws Exception anything; it fails the task with a {@link TaskFailedException}
     */
    R apply(A a, B b, C c) throws Exception;
}
