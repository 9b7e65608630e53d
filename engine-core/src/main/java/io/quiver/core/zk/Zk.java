package io.quiver.core.zk;

import io.quiver.ClusterUnavailableException;
import io.quiver.core.net.Secret;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.state.SessionConnectionStateErrorPolicy;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

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

    private static final java.util.concurrent.atomic.AtomicBoolean WARMING = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Starts initializing, on a daemon thread, what the first ZooKeeper client of this JVM would
     * initialize on its caller's thread: ZooKeeper's TLS defaults ({@code X509Util} asks the JDK for
     * its default {@code SSLContext}, which reads the JDK's CA certificates), 150-210 ms cold. A
     * process calls this first thing, so that the work overlaps the rest of its start. Idempotent,
     * and harmless if no client is ever made (a failure here is the client's to report).
     */
    public static void warmUpInBackground() {
        if (!WARMING.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> {
            try {
                Class.forName("org.apache.zookeeper.common.X509Util", true, Zk.class.getClassLoader());
            } catch (Throwable e) {
                // the first client initializes it again, and says what is wrong
            }
        }, "quiver-zk-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** Starts a client without a secret (open znodes), as {@link #start(ClusterUrl, Secret, long)}. */
    public static CuratorFramework start(ClusterUrl url, long waitMillis) {
        return start(url, Secret.NONE, waitMillis);
    }

    /** The ZooKeeper digest user every process of a cluster with a secret authenticates as. */
    public static final String DIGEST_USER = "quiver";

    /**
     * {@code user:password} of the cluster's ZooKeeper digest identity: the password is derived from
     * the secret, so anyone with the secret, and no one else, can read or write the cluster's znodes.
     */
    public static String digestCredentials(Secret secret) {
        return DIGEST_USER + ":" + Base64.getEncoder().encodeToString(secret.derive("zookeeper digest"));
    }

    /**
     * The ACL of every znode a process with this secret creates: all permissions for the
     * cluster's digest identity, none for anyone else.
     */
    public static List<ACL> acl(Secret secret) {
        try {
            // Not List.of: ZooKeeper checks acl.contains(null), which List.of answers with an NPE.
            return java.util.Collections.unmodifiableList(new java.util.ArrayList<>(List.of(new ACL(ZooDefs.Perms.ALL,
                    new Id("digest", DigestAuthenticationProvider.generateDigest(digestCredentials(secret)))))));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 unavailable for ZooKeeper digests", e);
        }
    }

    /**
     * With a secret, makes the builder's client authenticate with the cluster's digest identity
     * and give every znode it creates {@link #acl}; without one, leaves it as it is.
     */
    public static CuratorFrameworkFactory.Builder secured(CuratorFrameworkFactory.Builder builder, Secret secret) {
        if (secret.isSet()) {
            List<ACL> acl = acl(secret);
            builder.authorization("digest", digestCredentials(secret).getBytes(StandardCharsets.UTF_8))
                    .aclProvider(new ACLProvider() {
                        @Override
                        public List<ACL> getDefaultAcl() {
                            return acl;
                        }

                        @Override
                        public List<ACL> getAclForPath(String path) {
                            return acl;
                        }
                    });
        }
        return builder;
    }

    /**
     * Starts a client rooted at the cluster root and waits until it is connected. With a secret, it
     * authenticates with the cluster's digest identity and every znode it creates (the root
     * included) carries {@link #acl}: anonymous clients can neither read nor write them.
     */
    public static CuratorFramework start(ClusterUrl url, Secret secret, long waitMillis) {
        CuratorFramework client = secured(CuratorFrameworkFactory.builder(), secret)
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
        checkAllowed(client, url, secret);
        return client;
    }

    /**
     * What a process is told when ZooKeeper refuses it the cluster's znodes (their digest ACL is
     * for another secret).
     */
    public static ClusterUnavailableException refused(ClusterUrl url, Secret secret) {
        return new ClusterUnavailableException("ZooKeeper at " + url.connectString() + " refuses this process the"
                + " cluster " + url + ": its znodes are closed to anyone without the cluster secret, and this process"
                + " has " + (secret.isSet() ? "another one" : "none") + " (wrong or missing cluster secret); "
                + Secret.HOW_TO_SET);
    }

    /**
     * Reads the cluster root once, so that a process whose secret is wrong or missing hears it now,
     * in so many words, rather than finding every znode silently empty.
     */
    private static void checkAllowed(CuratorFramework client, ClusterUrl url, Secret secret) {
        try {
            client.getData().forPath("/");
        } catch (KeeperException.NoAuthException e) {
            client.close();
            throw refused(url, secret);
        } catch (Exception e) {
            // no root yet, or ZooKeeper busy: the process goes on and meets it later
        }
    }
}
