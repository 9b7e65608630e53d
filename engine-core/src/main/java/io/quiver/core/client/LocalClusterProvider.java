package io.quiver.core.client;

import io.quiver.Quiver;

/**
 * How {@code Quiver.connect("local[N]")} finds module {@code launcher}: a {@link java.util.ServiceLoader}
 * service that starts an embedded cluster and returns a connection that owns it.
 */
public interface LocalClusterProvider {
    /**
     * Starts N executors with one slot each, secured by {@code secret} ({@code ""}: none); closing
     * the returned Quiver stops the cluster.
     */
    Quiver startLocal(int executors, String secret);
}
