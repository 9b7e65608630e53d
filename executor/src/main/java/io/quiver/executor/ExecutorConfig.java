package io.quiver.executor;

import static com.google.common.base.Preconditions.checkArgument;

import io.quiver.core.net.Secret;
import io.quiver.core.net.Tls;
import io.quiver.core.zk.ClusterUrl;
import java.nio.file.Path;

/**
 * How to start an executor.
 *
 * @param cluster the cluster's ZooKeeper url
 * @param id the executor's id, unique in the cluster
 * @param host the address its data server binds to and advertises
 * @param port the data server's port, 0 for any free one
 * @param slots how many tasks run at once
 * @param memoryLimit bytes the block store may hold in memory before spilling to {@code workDir}
 * @param workDir where blocks spill
 * @param secret the cluster secret, or {@link Secret#NONE}
 * @param classLoader loads user classes named in functions and values
 * @param metricsPort the port of its Prometheus {@code /metrics}, 0 for any free one
 * @param tls the TLS identity of its data server and of its connections, or {@link Tls#NONE}
 */
public record ExecutorConfig(ClusterUrl cluster, String id, String host, int port, int slots, long memoryLimit,
                             Path workDir, Secret secret, ClassLoader classLoader, int metricsPort, Tls tls) {
    /** A plaintext executor. */
    public ExecutorConfig(ClusterUrl cluster, String id, String host, int port, int slots, long memoryLimit,
                          Path workDir, Secret secret, ClassLoader classLoader, int metricsPort) {
        this(cluster, id, host, port, slots, memoryLimit, workDir, secret, classLoader, metricsPort, Tls.NONE);
    }

    /** A plaintext executor whose metrics port is any free one. */
    public ExecutorConfig(ClusterUrl cluster, String id, String host, int port, int slots, long memoryLimit,
                          Path workDir, Secret secret, ClassLoader classLoader) {
        this(cluster, id, host, port, slots, memoryLimit, workDir, secret, classLoader, 0);
    }

    public ExecutorConfig {
        checkArgument(tls != null, "tls is null; pass Tls.NONE for plaintext");
        checkArgument(id != null && id.matches("[A-Za-z0-9._-]+"), "executor id must be [A-Za-z0-9._-]+, got '%s'", id);
        checkArgument(slots > 0, "slots must be > 0, got %s", slots);
        checkArgument(memoryLimit > 0, "memory limit must be > 0 bytes, got %s", memoryLimit);
        checkArgument(port >= 0 && port < 65536, "port must be in [0, 65535], got %s", port);
        checkArgument(metricsPort >= 0 && metricsPort < 65536, "metrics port must be in [0, 65535], got %s", metricsPort);
    }
}
