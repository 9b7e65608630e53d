package io.quiver.core.zk;

import io.quiver.ClusterUnavailableException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.state.SessionConnectionStateErrorPolicy;
import org.apache.curator.retry.ExponentialBackoffRetry;

/** Curator clients as every Quiver process makes them. */
public final class Zk {
    /**
     * Sessions short enough that a dead process's ephemeral nodes go within seconds, long enough
     * that a busy 2-core machine does not expire live ones. Dead executors are usually noticed
     * sooner, by their connection to the leader.
     */
    public static final int SESSION_TIMEOUT_MILLIS = Integer.getInteger("quiver.zk.sessionTimeoutMs", 10_000);
    public static final int CONNECTION_TIMEOUT_MILLIS = 5_000;

    /**
     * Curator's "safe" callbacks (CuratorCache listeners) run here. Shared by every client of the
     * JVM, with threads that die when idle: Curator never shuts down the executor it would make per
     * client, which leaks a thread per closed client.
     */
    private static final ThreadPoolExecutor SAFE_CALLBACKS = safeCallbacks();

    private Zk() {}

    private static ThreadPoolExecutor safeCallbacks() {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "quiver-zk-callbacks");
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    /** Starts a client rooted at the cluster root and waits until it is connected. */
    public static CuratorFramework start(ClusterUrl url, long waitMillis) {
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(url.connectString())
                // A namespace rather than a connect-string chroot: Curator creates the root on first use.
                .namespace(url.root().substring(1))
                .sessionTimeoutMs(SESSION_TIMEOUT_MILLIS)
                .connectionTimeoutMs(CONNECTION_TIMEOUT_MILLIS)
                .retryPolicy(new ExponentialBackoffRetry(100, 10, 2_000))
                .runSafeService(SAFE_CALLBACKS)
                // Recipes (the leader latch) give up only when the session is lost, not on every
                // suspended connection: DESIGN.md's failover is driven by session expiry.
                .connectionStateErrorPolicy(new SessionConnectionStateErrorPolicy())
                .build();
        OutageLog outage = new OutageLog(url.connectString());
        client.getConnectionStateListenable().addListener(outage);
        client.getCuratorListenable().addListener((c, event) -> {
            if (event.getType() == org.apache.curator.framework.api.CuratorEventType.CLOSING) {
                outage.close();
            }
        });
        client.start();
        try {
            if (!client.blockUntilConnected((int) waitMillis, TimeUnit.MILLISECONDS)) {
                client.close();
                throw new ClusterUnavailableException("could not reach ZooKeeper at " + url.connectString()
                        + " within " + waitMillis + " ms; check that the ensemble is running and the url is right");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            client.close();
            throw new ClusterUnavailableException("interrupted while connecting to ZooKeeper at " + url.connectString());
        }
        return client;
    }
}
