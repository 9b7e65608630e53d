package io.quiver;

import java.io.Serializable;

/** A function of one argument that runs on the cluster. Follows Java serialization's rules. */
@FunctionalInterface
public interface Fn1<A, R> extends Serializable {
    R apply(A a) throws Exception;
}
