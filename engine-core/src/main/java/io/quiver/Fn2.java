package io.quiver;

import java.io.Serializable;

/** A function of two arguments that runs on the cluster. Follows Java serialization's rules. */
@FunctionalInterface
public interface Fn2<A, B, R> extends Serializable {
    R apply(A a, B b) throws Exception;
}
