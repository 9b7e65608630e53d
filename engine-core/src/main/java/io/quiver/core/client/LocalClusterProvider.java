package io.quiver.core.client;

import io.quiver.ConnectOptions;
import io.quiver.Quiver;

/**
 * How {@code Quiver.connect("local[N]")} finds module {@code launcher}: a {@link java.util.ServiceLoader}
 * service that starts an embedded cluster and returns a connection that owns it.
 */
public interface LocalClusterProvider {
    /**
     * Starts N executors with one slot each, secured by the options' secret and TLS files (if set,
     * every connection of the cluster uses them too); closing the returned Quiver stops the cluster.
     */
    Quiver startLocal(int executors, ConnectOptions options);
}
