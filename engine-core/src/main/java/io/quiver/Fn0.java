package io.quiver;

import java.io.Serializable;

/** A function of no arguments that runs on the cluster. Follows Java serialization's rules. */
@FunctionalInterface
public interface Fn0<R> extends Serializable {
    R apply() throws Exception;
}
