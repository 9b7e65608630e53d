package io.quiver.local;

import io.quiver.ClusterUnavailableException;
import io.quiver.QuiverException;
import io.quiver.core.zk.ClusterUrl;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.KeeperException;

/**
 * Creates a cluster's root znode (the chroot of {@code zk://hosts/root}) when it is missing: every Quiver
 * process works inside the chroot, and ZooKeeper refuses paths under a chroot that does not exist.
 * Launcher-internal; not part of API.md.
 */
public final class ClusterRoot {
    private ClusterRoot() {}

    /** Makes sure {@code url.root()} exists, creating it and its parents if needed. */
    public static void ensureExists(ClusterUrl url, long waitMillis) {
        try (CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(url.connectString()) // no chroot: the chroot is what we create
                .connectionTimeoutMs((int) Math.min(Integer.MAX_VALUE, Math.max(1, waitMillis)))
                .retryPolicy(new ExponentialBackoffRetry(100, 5, 1_000))
                .build()) {
            client.start();
            if (!client.blockUntilConnected((int) Math.max(1, waitMillis), TimeUnit.MILLISECONDS)) {
                throw new ClusterUnavailableException("could not reach ZooKeeper at " + url.connectString() + " within "
                        + waitMillis + " ms; check that it is running (quiver zookeeper) and that the url is right");
            }
            try {
                client.create().creatingParentsIfNeeded().forPath(url.root());
            } catch (KeeperException.NodeExistsException e) {
                // someone else made it first; fine
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted while creating cluster root " + url, e);
        } catch (QuiverException e) {
            throw e;
        } catch (Exception e) {
            throw new QuiverException("cannot create cluster root " + url.root() + " in ZooKeeper at "
                    + url.connectString() + ": " + e.getMessage(), e);
        }
    }
}
