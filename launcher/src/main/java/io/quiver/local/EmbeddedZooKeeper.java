package io.quiver.local;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import io.quiver.QuiverException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.zookeeper.server.NIOServerCnxnFactory;
import org.apache.zookeeper.server.ServerCnxn;
import org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.zookeeper.server.ZooKeeperServer;
import org.apache.zookeeper.server.persistence.FileTxnSnapLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real, single-node ZooKeeper server ({@link ZooKeeperServer} behind a {@link ServerCnxnFactory}) for
 * {@link LocalCluster} and {@code quiver zookeeper}. Not a test fixture: it runs the same server code as an
 * ensemble member in standalone mode.
 *
 * <p>{@link #start()} once, {@link #close()} any number of times; close stops every server thread and,
 * unless the data directory was given by the caller, deletes it. Thread-safe.
 */
public final class EmbeddedZooKeeper implements AutoCloseable {
    /** Tick for local clusters: sessions of dead processes expire within {@link #LOCAL_MAX_SESSION_MILLIS}. */
    public static final int LOCAL_TICK_MILLIS = 100;
    /** Upper bound on session timeouts in local clusters, so that a killed leader is noticed within seconds. */
    public static final int LOCAL_MAX_SESSION_MILLIS = 10_000;
    /** ZooKeeper's usual tick, for {@code quiver zookeeper}. */
    public static final int STANDARD_TICK_MILLIS = 2_000;

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedZooKeeper.class);

    private enum State { NEW, STARTED, CLOSED }

    private final InetAddress bindAddress;
    private final int requestedPort;
    private final Path givenDir;
    private final int tickMillis;
    private final int maxSessionMillis;

    private State state = State.NEW;
    private boolean jmx = true;
    private Path dataDir;
    private FileTxnSnapLog txnLog;
    private ZooKeeperServer server;
    private ServerCnxnFactory factory;
    private int port = -1;

    /**
     * @param bindAddress where the server listens
     * @param port its port, 0 for any free one
     * @param dataDir where snapshots and logs go, kept on close; {@code null} for a temp dir deleted on close
     * @param tickMillis ZooKeeper's tick; sessions may last 2 to 20 ticks
     * @param maxSessionMillis the longest session timeout granted, or 0 for 20 ticks
     */
    public EmbeddedZooKeeper(InetAddress bindAddress, int port, Path dataDir, int tickMillis, int maxSessionMillis) {
        checkArgument(bindAddress != null, "bind address is null; use InetAddress.getLoopbackAddress()");
        checkArgument(port >= 0 && port < 65536, "ZooKeeper port must be in [0, 65535] (0 for any free port), got %s", port);
        checkArgument(tickMillis > 0, "tick time must be > 0 ms, got %s", tickMillis);
        checkArgument(maxSessionMillis == 0 || maxSessionMillis >= 2 * tickMillis,
                "max session timeout must be 0 (20 ticks) or >= 2 ticks (%s ms), got %s", 2 * tickMillis, maxSessionMillis);
        this.bindAddress = bindAddress;
        this.requestedPort = port;
        this.givenDir = dataDir;
        this.tickMillis = tickMillis;
        this.maxSessionMillis = maxSessionMillis;
    }

    /** A server for a local cluster: loopback, a free port, a temp dir, a short tick. */
    public static EmbeddedZooKeeper forLocalCluster() {
        return new EmbeddedZooKeeper(InetAddress.getLoopbackAddress(), 0, null, LOCAL_TICK_MILLIS, LOCAL_MAX_SESSION_MILLIS)
                .withoutJmx();
    }

    /**
     * Does not register the server's JMX beans, nor one per client connection. ZooKeeper's first
     * registration creates the JVM's platform MBean server, about 0.1 s of a cold start (on the first
     * client's session, if not at start); a local cluster has no operator reading them.
     * {@code quiver zookeeper} keeps them, as a standalone ZooKeeper does.
     */
    public synchronized EmbeddedZooKeeper withoutJmx() {
        checkState(state == State.NEW, "JMX is chosen before start(); this ZooKeeper is %s", state);
        jmx = false;
        return this;
    }

    /** Starts the server; returns once it accepts connections. */
    public synchronized EmbeddedZooKeeper start() {
        checkState(state == State.NEW, "EmbeddedZooKeeper can be started once; it is %s", state);
        state = State.STARTED;
        try {
            dataDir = givenDir != null ? Files.createDirectories(givenDir) : Files.createTempDirectory("quiver-zk-");
            txnLog = new FileTxnSnapLog(dataDir.resolve("log").toFile(), dataDir.resolve("snap").toFile());
            int maxSession = maxSessionMillis == 0 ? 20 * tickMillis : maxSessionMillis;
            server = jmx ? new ZooKeeperServer(txnLog, tickMillis, 2 * tickMillis, maxSession, -1, null, "")
                    : new ServerWithoutJmx(txnLog, tickMillis, maxSession);
            factory = jmx ? ServerCnxnFactory.createFactory() : new FactoryWithoutJmx();
            // No per-address connection cap: every process of a local cluster connects from 127.0.0.1.
            factory.configure(new InetSocketAddress(bindAddress, requestedPort), 0, -1, false);
            factory.startup(server);
            port = factory.getLocalPort();
            LOG.info("ZooKeeper listening on {}:{} (data in {})", bindAddress.getHostAddress(), port, dataDir);
            return this;
        } catch (IOException e) {
            close();
            throw new QuiverException("cannot start ZooKeeper on " + bindAddress.getHostAddress() + ":" + requestedPort
                    + ": " + e.getMessage() + (requestedPort != 0 ? "; is the port in use? pick another with --port" : ""), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new QuiverException("interrupted while starting ZooKeeper", e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The port it listens on. */
    public synchronized int port() {
        checkState(state == State.STARTED, "ZooKeeper is %s, not started", state);
        return port;
    }

    /** {@code host:port} for ZooKeeper clients. */
    public String connectString() {
        String host = bindAddress.isAnyLocalAddress() ? "127.0.0.1" : bindAddress.getHostAddress();
        return host + ":" + port();
    }

    /** The data directory (snapshots and transaction logs). */
    public synchronized Path dataDir() {
        checkState(dataDir != null, "ZooKeeper is %s, not started", state);
        return dataDir;
    }

    /** Stops the server and all its threads; deletes the data directory unless it was given. Idempotent. */
    @Override
    public synchronized void close() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        closeQuietly();
    }

    private void closeQuietly() {
        if (factory != null) {
            factory.shutdown(); // closes connections, shuts the server down, joins its threads
            factory = null;
        }
        if (server != null) {
            server.shutdown();
            server = null;
        }
        if (txnLog != null) {
            try {
                txnLog.close();
            } catch (IOException e) {
                LOG.warn("cannot close ZooKeeper transaction log in {}: {}", dataDir, e.toString());
            }
            txnLog = null;
        }
        if (dataDir != null && givenDir == null) {
            Files2.deleteRecursively(dataDir);
        }
    }

    /** ZooKeeper's NIO connection factory minus a JMX bean per connection (see {@link #withoutJmx()}). */
    private static final class FactoryWithoutJmx extends NIOServerCnxnFactory {
        @Override
        public void registerConnection(ServerCnxn connection) {
        }

        @Override
        public void unregisterConnection(ServerCnxn connection) {
        }
    }

    /** ZooKeeper's standalone server minus its JMX beans (see {@link #withoutJmx()}). */
    private static final class ServerWithoutJmx extends ZooKeeperServer {
        ServerWithoutJmx(FileTxnSnapLog txnLog, int tickMillis, int maxSessionMillis) {
            super(txnLog, tickMillis, 2 * tickMillis, maxSessionMillis, -1, null, "");
        }

        @Override
        protected void registerJMX() {
        }

        @Override
        protected void unregisterJMX() {
        }
    }
}
