package io.quiver.local;

import io.quiver.ClusterUnavailableException;
import io.quiver.QuiverException;
import io.quiver.core.net.Secret;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Zk;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;

/**
 * The launcher's ZooKeeper chores. Launcher-internal; not part of API.md.
 *
 * <p>Creates a cluster's root znode (the chroot of {@code zk://hosts/root}) when it is missing: every Quiver
 * process works inside the chroot, and ZooKeeper refuses paths under a chroot that does not exist.
 */
public final class ClusterRoot {
    private ClusterRoot() {}

    /** Makes sure {@code url.root()} exists, as {@link #ensureExists(ClusterUrl, Secret, long)} without a secret. */
    public static void ensureExists(ClusterUrl url, long waitMillis) {
        ensureExists(url, Secret.NONE, waitMillis);
    }

    /**
     * Makes sure {@code url.root()} exists, creating it and its parents if needed. With a secret, it
     * is created with the cluster's digest ACL ({@link Zk#acl}); a root left open by an earlier run
     * without a secret is closed now, so that anonymous clients cannot add znodes under it.
     */
    public static void ensureExists(ClusterUrl url, Secret secret, long waitMillis) {
        CuratorFramework client = connect(url.connectString(), secret, waitMillis); // no chroot: we make it
        try {
            ensureExists(client, url, secret);
        } finally {
            closeInBackground(client);
        }
    }

    /**
     * Closes {@code client} on a daemon thread of its own: ZooKeeper's close waits for its I/O
     * thread to end (0.1 s of each executor's start, in a profile), and nothing here needs the wait.
     */
    private static void closeInBackground(CuratorFramework client) {
        Thread closer = new Thread(client::close, "quiver-zk-root-close");
        closer.setDaemon(true);
        closer.start();
    }

    /**
     * As {@link #ensureExists(ClusterUrl, Secret, long)} through {@code client}, connected to
     * {@code url}'s servers without its chroot and left open: a caller that goes on working in the
     * cluster uses {@code client.usingNamespace(...)} instead of a second session.
     */
    public static void ensureExists(CuratorFramework client, ClusterUrl url, Secret secret) {
        try {
            try {
                client.create().creatingParentsIfNeeded().forPath(url.root());
            } catch (KeeperException.NodeExistsException e) {
                // someone else made it first; fine
            }
            if (secret.isSet()) {
                List<ACL> acl = client.getACL().forPath(url.root());
                if (acl.stream().anyMatch(a -> a.getId().equals(ZooDefs.Ids.ANYONE_ID_UNSAFE))) {
                    client.setACL().withACL(Zk.acl(secret)).forPath(url.root());
                }
            }
        } catch (KeeperException.NoAuthException e) {
            throw Zk.refused(url, secret);
        } catch (QuiverException e) {
            throw e;
        } catch (Exception e) {
            throw new QuiverException("cannot create cluster root " + url.root() + " in ZooKeeper at "
                    + url.connectString() + ": " + e.getMessage(), e);
        }
    }

    /**
     * A started Curator client, connected within {@code waitMillis}. Curator 5.9 never shuts down the
     * "SafeNotifyService" executor it makes for each client (apache/curator#1277), so each client gets
     * one here whose single thread ends after a second of idleness: closing the client leaves no thread.
     */
    static CuratorFramework connect(String connectString, Secret secret, long waitMillis) {
        ThreadPoolExecutor safeNotify = new ThreadPoolExecutor(0, 1, 1, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = new Thread(r, "Curator-SafeNotify-launcher");
                    t.setDaemon(true);
                    return t;
                });
        CuratorFramework client = Zk.secured(CuratorFrameworkFactory.builder(), secret)
                .connectString(connectString)
                .sessionTimeoutMs(Zk.SESSION_TIMEOUT_MILLIS)
                .connectionTimeoutMs(Zk.CONNECTION_TIMEOUT_MILLIS)
                .retryPolicy(new ExponentialBackoffRetry(100, 10, 2_000))
                .runSafeService(safeNotify)
                .build();
        client.start();
        try {
            if (!client.blockUntilConnected((int) Math.max(1, Math.min(Integer.MAX_VALUE, waitMillis)),
                    TimeUnit.MILLISECONDS)) {
                client.close();
                throw new ClusterUnavailableException("could not reach ZooKeeper at " + connectString + " within "
                        + waitMillis + " ms; check that it is running (e.g. quiver zookeeper) and that the url is right");
            }
            return client;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            client.close();
            throw new QuiverException("interrupted while connecting to ZooKeeper at " + connectString, e);
        }
    }
}
