package io.quiver.coordinator;

import io.netty.channel.Channel;
import io.quiver.QuiverException;
import io.quiver.coordinator.sched.Link;
import io.quiver.coordinator.sched.Scheduler;
import io.quiver.coordinator.sched.SchedulerLoop;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A coordinator process component: joins the leader election; the winner bumps {@code /epoch},
 * serves clients and executors and runs the {@link Scheduler} on its loop; a standby waits. When
 * leadership is lost, it stops acting at once (its epoch would be refused anyway).
 *
 * <p>Lifecycle: {@code NEW -> STARTED -> CLOSED}; {@link #close()} is idempotent. Election
 * callbacks run on Curator's thread and only start or stop the leader term.
 */
public final class Coordinator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Coordinator.class);
    /** How long an executor's connection may stay down before its work moves elsewhere. */
    static final long EXECUTOR_GRACE_MILLIS = Long.getLong("quiver.executorGraceMs", 2_000);

    private enum State { NEW, STARTED, CLOSED }

    private final CoordinatorConfig config;
    private State state = State.NEW;
    private CuratorFramework zk;
    private LeaderLatch latch;
    private volatile Term term;

    public Coordinator(CoordinatorConfig config) {
        this.config = config;
    }

    /** Connects to ZooKeeper and joins the election. Returns at once; see {@link #isLeader()}. */
    public synchronized void start() {
        if (state != State.NEW) {
            throw new IllegalStateException("coordinator " + config.id() + " is " + state);
        }
        Pipelines.checkBindAllowed(config.host(), config.secret());
        zk = Zk.start(config.cluster(), 15_000);
        zk.getConnectionStateListenable().addListener((client, newState) -> {
            if (newState == ConnectionState.LOST) {
                // The session is gone, so is our latch node: someone else may lead now.
                endTerm("ZooKeeper session lost");
            }
        });
        latch = new LeaderLatch(zk, ZkPaths.LEADER_LATCH, config.id());
        latch.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                try {
                    beginTerm();
                } catch (Exception e) {
                    log.error("coordinator {} won the election but could not start leading", config.id(), e);
                    endTerm("failed to start: " + e);
                }
            }

            @Override
            public void notLeader() {
                endTerm("lost leadership");
            }
        });
        try {
            latch.start();
        } catch (Exception e) {
            throw new QuiverException("coordinator " + config.id() + " could not join the election: " + e, e);
        }
        state = State.STARTED;
    }

    public String id() {
        return config.id();
    }

    public boolean isLeader() {
        return term != null;
    }

    /** The port the leader serves on, or -1 while standing by. */
    public int port() {
        Term t = term;
        return t == null ? -1 : t.port;
    }

    /** The epoch of the current term, or -1 while standing by. */
    public long epoch() {
        Term t = term;
        return t == null ? -1 : t.epoch;
    }

    /** Simulated crash: the ZooKeeper session and every socket go away without a goodbye. */
    public synchronized void kill() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        endTerm("killed");
        if (zk != null) {
            zk.close(); // the session ends: ephemeral /leader and the latch node vanish
        }
    }

    @Override
    public synchronized void close() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        if (latch != null) {
            try {
                latch.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
            } catch (Exception e) {
                log.debug("closing leader latch", e);
            }
        }
        endTerm("closed");
        if (zk != null) {
            zk.close();
        }
    }

    private synchronized void beginTerm() throws Exception {
        if (state == State.CLOSED || term != null) {
            return;
        }
        long epoch = bumpEpoch();
        Term t = new Term(epoch);
        t.start();
        term = t;
        byte[] record = new LeaderRecord(config.id(), config.host(), t.port, 0, epoch).toBytes();
        for (int attempt = 0; ; attempt++) {
            try {
                zk.create().withMode(CreateMode.EPHEMERAL).forPath(ZkPaths.LEADER, record);
                break;
            } catch (KeeperException.NodeExistsException e) {
                // The previous leader's node outlives it until its session is gone; replace it.
                try {
                    zk.delete().forPath(ZkPaths.LEADER);
                } catch (KeeperException.NoNodeException ignored) {
                    // raced away
                }
                if (attempt > 20) {
                    throw e;
                }
            }
        }
        log.info("coordinator {} leads with epoch {} on {}:{}", config.id(), epoch, config.host(), t.port);
    }

    /** Compare-and-set on {@code /epoch}: every new leader gets a strictly larger fencing token. */
    private long bumpEpoch() throws Exception {
        while (true) {
            Stat stat = new Stat();
            try {
                byte[] data = zk.getData().storingStatIn(stat).forPath(ZkPaths.EPOCH);
                long next = Long.parseLong(new String(data, StandardCharsets.UTF_8).trim()) + 1;
                zk.setData().withVersion(stat.getVersion()).forPath(ZkPaths.EPOCH,
                        Long.toString(next).getBytes(StandardCharsets.UTF_8));
                return next;
            } catch (KeeperException.NoNodeException e) {
                try {
                    zk.create().creatingParentsIfNeeded().forPath(ZkPaths.EPOCH, "1".getBytes(StandardCharsets.UTF_8));
                    return 1;
                } catch (KeeperException.NodeExistsException raced) {
                    // another leader created it first; read it again
                }
            } catch (KeeperException.BadVersionException raced) {
                // someone else bumped it; read it again
            }
        }
    }

    private void endTerm(String why) {
        Term t;
        synchronized (this) {
            t = term;
            term = null;
        }
        if (t != null) {
            log.info("coordinator {} stops leading epoch {}: {}", config.id(), t.epoch, why);
            t.close();
            if (zk != null && zk.getZookeeperClient().isConnected()) {
                try {
                    byte[] data = zk.getData().forPath(ZkPaths.LEADER);
                    if (LeaderRecord.parse(data).epoch() == t.epoch) {
                        zk.delete().forPath(ZkPaths.LEADER);
                    }
                } catch (Exception e) {
                    log.debug("could not remove /leader", e);
                }
            }
        }
    }

    /** One leadership term: the server, the scheduler loop and the executor watch. */
    private final class Term implements Endpoint {
        final long epoch;
        final AtomicLong sessions = new AtomicLong();
        final SchedulerLoop loop;
        final Scheduler scheduler;
        Transport transport;
        Channel server;
        CuratorCache executorsCache;
        int port;

        Term(long epoch) {
            this.epoch = epoch;
            this.loop = new SchedulerLoop("quiver-scheduler-" + config.id());
            this.scheduler = new Scheduler(config.id(), epoch, System::nanoTime);
        }

        void start() {
            loop.start(scheduler::afterBatch);
            transport = new Transport("quiver-leader-" + config.id(), Math.max(2, Runtime.getRuntime().availableProcessors()));
            Pipelines.ServerSpec spec = new Pipelines.ServerSpec(config.id(), config.secret(), MessageCodec.DEFAULT_MAX_FRAME,
                    () -> epoch, () -> (epoch << 32) | sessions.incrementAndGet());
            server = transport.bind(config.host(), config.port(), Pipelines.server(spec, this));
            port = ((java.net.InetSocketAddress) server.localAddress()).getPort();
            executorsCache = CuratorCache.build(zk, ZkPaths.EXECUTORS);
            executorsCache.listenable().addListener(CuratorCacheListener.builder()
                    .forDeletes(node -> {
                        String path = node.getPath();
                        if (path.startsWith(ZkPaths.EXECUTORS + "/")) {
                            String id = path.substring(ZkPaths.EXECUTORS.length() + 1);
                            loop.post(() -> scheduler.onExecutorLost(id, "its ZooKeeper node went away"));
                        }
                    })
                    .build());
            executorsCache.start();
        }

        @Override
        public void onOpen(Connection c) {
            Link link = new ConnectionLink(c);
            c.attach(link);
        }

        @Override
        public void onMessage(Connection c, Message m) {
            if (m instanceof Message.DataMessage d) {
                d.data().release();
                log.warn("closing {}: bulk data sent to the leader; data goes to executors", c);
                c.close();
                return;
            }
            if (c.peerRole() == Role.EXECUTOR && c.peerEpoch() > epoch) {
                log.warn("closing {}: it has seen epoch {}, newer than ours ({})", c, c.peerEpoch(), epoch);
                c.close();
                return;
            }
            Link link = c.attachment();
            String peer = c.peerId();
            loop.post(() -> scheduler.onMessage(link, peer, m));
        }

        @Override
        public void onClose(Connection c) {
            Link link = c.attachment();
            if (link == null) {
                return;
            }
            String peer = c.peerId();
            if (c.peerRole() == Role.EXECUTOR) {
                loop.post(() -> scheduler.onExecutorLinkClosed(peer, link));
                loop.postLater(() -> scheduler.onExecutorGraceExpired(peer), EXECUTOR_GRACE_MILLIS, TimeUnit.MILLISECONDS);
            } else {
                loop.post(() -> scheduler.onClientGone(link));
            }
        }

        void close() {
            if (executorsCache != null) {
                executorsCache.close();
            }
            if (server != null) {
                server.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
            }
            loop.close();
            if (transport != null) {
                transport.close();
            }
        }
    }

    private record ConnectionLink(Connection connection) implements Link {
        @Override
        public void send(Message message) {
            connection.send(message);
        }

        @Override
        public void close() {
            connection.close();
        }
    }
}
