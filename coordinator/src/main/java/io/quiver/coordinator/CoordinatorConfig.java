package io.quiver.coordinator;

import static com.google.common.base.Preconditions.checkArgument;

import io.quiver.core.net.Secret;
import io.quiver.core.net.Tls;
import io.quiver.core.zk.ClusterUrl;

/**
 * How to start a coordinator.
 *
 * @param cluster the cluster's ZooKeeper url
 * @param id the coordinator's id, unique in the cluster
 * @param host the address its server binds to and advertises once it leads
 * @param port its port, 0 for any free one
 * @param secret the cluster secret, or {@link Secret#NONE}
 * @param httpPort the port of its status page, JSON API and metrics, 0 for any free one
 * @param tls the TLS identity of its server and of its connections, or {@link Tls#NONE}
 */
public record CoordinatorConfig(ClusterUrl cluster, String id, String host, int port, Secret secret, int httpPort,
                                Tls tls) {
    public CoordinatorConfig {
        checkArgument(tls != null, "tls is null; pass Tls.NONE for plaintext");
        checkArgument(id != null && id.matches("[A-Za-z0-9._-]+"), "coordinator id must be [A-Za-z0-9._-]+, got '%s'", id);
        checkArgument(port >= 0 && port < 65536, "port must be in [0, 65535], got %s", port);
        checkArgument(httpPort >= 0 && httpPort < 65536, "http port must be in [0, 65535], got %s", httpPort);
    }

    /** A plaintext coordinator. */
    public CoordinatorConfig(ClusterUrl cluster, String id, String host, int port, Secret secret, int httpPort) {
        this(cluster, id, host, port, secret, httpPort, Tls.NONE);
    }

    /** A plaintext coordinator whose HTTP port is any free one. */
    public CoordinatorConfig(ClusterUrl cluster, String id, String host, int port, Secret secret) {
        this(cluster, id, host, port, secret, 0);
    }
}
