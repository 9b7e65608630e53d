package io.quiver.local;

import io.quiver.Quiver;
import io.quiver.core.client.LocalClusterProvider;

/**
 * Behind {@code Quiver.connect("local[N]")} (found through {@link java.util.ServiceLoader}): starts a
 * {@link LocalCluster} of N in-process executors with one slot each and returns a connection that owns
 * it, so that closing the connection stops the cluster.
 */
public final class LocalClusterService implements LocalClusterProvider {
    /** For {@link java.util.ServiceLoader}. */
    public LocalClusterService() {}

    @Override
    public Quiver startLocal(int executors, String secret) {
        LocalCluster.Options options = LocalCluster.options().executors(executors).slotsPerExecutor(1);
        LocalCluster cluster = LocalCluster.start(secret.isEmpty() ? options : options.secret(secret));
        try {
            return new OwningQuiver(cluster.connect(), cluster);
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }
}
