package io.quiver.local;

import io.quiver.Quiver;
import io.quiver.core.client.ForwardingQuiver;

/**
 * The Quiver of {@code Quiver.connect("local[N]")}: a connection that owns its {@link LocalCluster}. Closing
 * it closes the connection and then, whatever that did, the cluster. A {@code with(...)} view of it
 * is a view of the connection: closing the view closes nothing.
 */
final class OwningQuiver extends ForwardingQuiver {
    private final LocalCluster cluster;

    OwningQuiver(Quiver delegate, LocalCluster cluster) {
        super(delegate);
        this.cluster = cluster;
    }

    @Override
    public void close() {
        try {
            delegate().close();
        } finally {
            cluster.close();
        }
    }

    @Override
    public String toString() {
        return "Quiver[" + cluster + "]";
    }
}
