package io.quiver.local;

import io.quiver.ConnectOptions;
import io.quiver.Quiver;
import io.quiver.core.client.LocalClusterProvider;

/**
 * Behind {@code Quiver.connect("local[N]")} (found through {@link java.util.ServiceLoader}): starts a
 * {@link LocalCluster} of N in-process executors with one slot each, with the connection options' secret
 * and TLS files, and returns a connection that owns it, so that closing the connection stops the cluster.
 */
public final class LocalClusterService implements LocalClusterProvider {
    /** For {@link java.util.ServiceLoader}. */
    public LocalClusterService() {}

    @Override
    public Quiver startLocal(int executors, ConnectOptions connect) {
        LocalCluster.Options options = LocalCluster.options().executors(executors).slotsPerExecutor(1);
        connect.secret().filter(s -> !s.isBlank()).ifPresent(options::secret);
        connect.tls().ifPresent(f -> options.tls(f.cert(), f.key(), f.trust()));
        LocalCluster cluster = LocalCluster.start(options);
        try {
            return new OwningQuiver(cluster.connect(), cluster);
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }
}
