package io.quiver;

import java.io.Serializable;

/** A function of three arguments that runs on the cluster. Follows Java serialization's rules. */
@FunctionalInterface
public interface Fn3<A, B, C, R> extends Serializable {
    R apply(A a, B b, C c) throws Exception;
}
