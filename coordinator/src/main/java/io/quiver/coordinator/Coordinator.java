package io.quiver.coordinator;

import io.netty.channel.Channel;
import io.quiver.QuiverException;
import io.quiver.coordinator.sched.Link;
import io.quiver.coordinator.sched.Scheduler;
import io.quiver.coordinator.sched.SchedulerEvent;
import io.quiver.coordinator.sched.WireEvents;
import io.quiver.coordinator.sched.JobPlanning;
import io.quiver.core.loop.EventLoop;
import java.util.ArrayList;
import java.util.List;
import org.apache.curator.framework.api.transaction.CuratorOp;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.Records.ExecutorRecord;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.coordinator.http.LeaderMetrics;
import io.quiver.coordinator.http.StatusServer;
import io.quiver.coordinator.sched.ClusterSnapshot;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
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

    private enum State { NEW, STARTED, CLOSED }

    private final CoordinatorConfig config;
    /**
     * Abdicating closes the term (and its loop), so it never runs on the scheduler loop itself; putting
     * {@code /leader} back runs here too, off Curator's callback thread.
     */
    private final java.util.concurrent.ExecutorService abdications = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "quiver-coordinator-abdicate");
        t.setDaemon(true);
        return t;
    });
    private State state = State.NEW;
    private CuratorFramework zk;
    /** Written on start and on re-election; read by the HTTP thread for the standbys list. */
    private volatile LeaderLatch latch;
    private volatile Term term;
    private final LeaderMetrics metrics = new LeaderMetrics(this::currentSnapshot);
    private StatusServer http;
    /** Watches {@code /leader} the whole time, so that a new term can tell who led before it. */
    private CuratorCache leaderWatch;
    /** The last other leader seen in {@code /leader}; written on Curator's cache thread. */
    private volatile LeaderRecord previousLeader;
    /** When (System.nanoTime) {@link #previousLeader}'s node went, or -1 while it is there. */
    private volatile long previousLeaderGoneNanos = -1;

    public Coordinator(CoordinatorConfig config) {
        this.config = config;
    }

    /** Connects to ZooKeeper and joins the election. Returns at once; see {@link #isLeader()}. */
    public synchronized void start() {
        if (state != State.NEW) {
            throw new IllegalStateException("coordinator " + config.id() + " is " + state);
        }
        Pipelines.checkBindAllowed(config.host(), config.secret());
        http = new StatusServer(config.host(), config.httpPort(), new HttpSource(), metrics);
        http.start();
        zk = Zk.start(config.cluster(), config.secret(), 15_000);
        zk.getConnectionStateListenable().addListener((client, newState) -> {
            Term t = term;
            if (newState == ConnectionState.LOST) {
                // The session is gone, so is our latch node: someone else may lead now.
                endTerm("ZooKeeper session lost");
            } else if (newState == ConnectionState.SUSPENDED && t != null) {
                // We may be deposed already without knowing: start nothing new until we know.
                log.info("coordinator {}: ZooKeeper connection suspended; epoch {} issues no new work", config.id(), t.epoch);
                t.post(new SchedulerEvent.ZooKeeperSuspended());
            } else if (newState == ConnectionState.RECONNECTED && t != null) {
                log.info("coordinator {}: ZooKeeper reconnected within the session; epoch {} goes on", config.id(), t.epoch);
                t.post(new SchedulerEvent.ZooKeeperReconnected());
            }
        });
        leaderWatch = CuratorCache.build(zk, ZkPaths.LEADER, CuratorCache.Options.SINGLE_NODE_CACHE);
        leaderWatch.listenable().addListener(CuratorCacheListener.builder()
                .forCreatesAndChanges((before, now) -> sawLeader(now.getData(), false))
                .forDeletes(gone -> sawLeader(gone.getData(), true))
                .build());
        leaderWatch.start();
        latch = newLatch();
        try {
            latch.start();
        } catch (Exception e) {
            throw new QuiverException("coordinator " + config.id() + " could not join the election: " + e, e);
        }
        state = State.STARTED;
    }

    /** On Curator's cache thread: remembers the other leader, and when its node went. */
    private void sawLeader(byte[] data, boolean gone) {
        LeaderRecord r;
        try {
            r = LeaderRecord.parse(data);
        } catch (RuntimeException e) {
            return;
        }
        if (r.id().equals(config.id())) {
            return;
        }
        previousLeader = r;
        previousLeaderGoneNanos = gone ? System.nanoTime() : -1;
    }

    /**
     * What a new term can tell of the one before it, for the event line: the previous leader's id
     * and epoch and when its node went, if this coordinator saw it; else only that earlier epochs were.
     */
    private SchedulerEvent.Noted previousTerm(long epoch) {
        LeaderRecord prev = previousLeader;
        long gone = previousLeaderGoneNanos;
        long now = System.nanoTime();
        if (prev != null && prev.epoch() < epoch) {
            String skipped = prev.epoch() < epoch - 1
                    ? "; epochs " + (prev.epoch() + 1) + ".." + (epoch - 1) + " came and went unseen" : "";
            return new SchedulerEvent.Noted("leader", "leader " + prev.id() + " (epoch " + prev.epoch() + ") "
                    + (gone >= 0 ? "ended: its ZooKeeper node was removed" : "ended") + skipped,
                    gone >= 0 ? gone : now);
        }
        return epoch > 1 ? new SchedulerEvent.Noted("leader", "epochs 1.." + (epoch - 1) + " led before this term"
                + " (not seen by " + config.id() + ")", now) : null;
    }

    private LeaderLatch newLatch() {
        LeaderLatch l = new LeaderLatch(zk, ZkPaths.LEADER_LATCH, config.id());
        l.addListener(new LeaderLatchListener() {
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
        return l;
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

    /** The port of this coordinator's status page, JSON API and metrics (served while leading, redirected on a standby). */
    public int httpPort() {
        return http == null ? -1 : http.port();
    }

    /**
     * The executors this coordinator's scheduler places work on, as of its last batch (registered,
     * connected, their ZooKeeper node present); empty while standing by. Safe from any thread.
     */
    public List<String> liveExecutors() {
        Term t = term;
        return t == null ? List.of() : t.scheduler.view().executors();
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
        abdications.shutdownNow();
        endTerm("killed");
        if (http != null) {
            http.close();
        }
        if (leaderWatch != null) {
            leaderWatch.close();
        }
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
        abdications.shutdownNow();
        if (latch != null) {
            try {
                latch.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
            } catch (Exception e) {
                log.debug("closing leader latch", e);
            }
        }
        endTerm("closed");
        if (http != null) {
            http.close();
        }
        if (leaderWatch != null) {
            leaderWatch.close();
        }
        if (zk != null) {
            zk.close();
        }
    }

    private synchronized void beginTerm() throws Exception {
        if (state == State.CLOSED || term != null) {
            return;
        }
        Stat epochStat = new Stat();
        long epoch = bumpEpoch(epochStat);
        Term t = new Term(epoch);
        t.start();
        term = t;
        // The term starts on the loop before /leader names it: clients and executors find this leader
        // only through /leader, so what they send comes after TermStarted. (A client's held refs
        // handled before TermStarted would be settled without waiting for the executors' inventories.)
        SchedulerEvent.Noted before = previousTerm(epoch);
        if (before != null) {
            t.post(before);
        }
        t.started(expectedExecutors());
        byte[] record = new LeaderRecord(config.id(), config.host(), t.port, http.port(), epoch).toBytes();
        try {
            publish(record, epochStat.getVersion());
        } catch (KeeperException.BadVersionException e) {
            endTerm("a newer leader bumped " + ZkPaths.EPOCH + " before this one published itself");
            return;
        }
        t.watchLeaderNode(record, epochStat.getVersion());
        log.info("coordinator {} leads with epoch {} on {}:{}; status page {}", config.id(), epoch, config.host(), t.port,
                http.url());
    }

    /**
     * Writes {@code /leader} in one transaction with a check that {@code /epoch} is still the
     * version this leader set (Kafka's fencing of controller writes): a leader that was deposed
     * while it got here cannot publish itself over its successor. The previous leader's node may
     * outlive it until its session ends; the transaction replaces it.
     */
    private void publish(byte[] record, int epochVersion) throws Exception {
        for (int attempt = 0; ; attempt++) {
            List<CuratorOp> ops = new ArrayList<>(3);
            ops.add(zk.transactionOp().check().withVersion(epochVersion).forPath(ZkPaths.EPOCH));
            Stat old = zk.checkExists().forPath(ZkPaths.LEADER);
            if (old != null) {
                ops.add(zk.transactionOp().delete().withVersion(old.getVersion()).forPath(ZkPaths.LEADER));
            }
            ops.add(zk.transactionOp().create().withMode(CreateMode.EPHEMERAL).forPath(ZkPaths.LEADER, record));
            try {
                zk.transaction().forOperations(ops);
                return;
            } catch (KeeperException.NodeExistsException | KeeperException.NoNodeException raced) {
                if (attempt > 20) {
                    throw raced;
                }
            } catch (KeeperException.BadVersionException e) {
                Stat now = zk.checkExists().forPath(ZkPaths.EPOCH);
                if (now == null || now.getVersion() != epochVersion) {
                    throw e; // the epoch moved on: we are deposed
                }
                if (attempt > 20) {
                    throw e; // the old /leader changed under us again and again
                }
            }
        }
    }

    private List<String> expectedExecutors() {
        try {
            return zk.getChildren().forPath(ZkPaths.EXECUTORS);
        } catch (KeeperException.NoNodeException e) {
            return List.of();
        } catch (Exception e) {
            log.warn("coordinator {} could not list {}: {}; not waiting for executors to re-register", config.id(),
                    ZkPaths.EXECUTORS, e.toString());
            return List.of();
        }
    }

    /** Compare-and-set on {@code /epoch}: every new leader gets a strictly larger fencing token. */
    private long bumpEpoch(Stat stat) throws Exception {
        while (true) {
            try {
                byte[] data = zk.getData().storingStatIn(stat).forPath(ZkPaths.EPOCH);
                long next = Long.parseLong(new String(data, StandardCharsets.UTF_8).trim()) + 1;
                Stat set = zk.setData().withVersion(stat.getVersion()).forPath(ZkPaths.EPOCH,
                        Long.toString(next).getBytes(StandardCharsets.UTF_8));
                stat.setVersion(set.getVersion());
                return next;
            } catch (KeeperException.NoNodeException e) {
                try {
                    zk.create().creatingParentsIfNeeded().storingStatIn(stat).forPath(ZkPaths.EPOCH,
                            "1".getBytes(StandardCharsets.UTF_8));
                    return 1;
                } catch (KeeperException.NodeExistsException raced) {
                    // another leader created it first; read it again
                }
            } catch (KeeperException.BadVersionException raced) {
                // someone else bumped it; read it again
            }
        }
    }

    /**
     * Gives leadership up and stands for election again: after an event that failed half-applied,
     * or when a newer epoch shows this leader is stale. Runs off the scheduler loop.
     */
    private void abdicate(String why) {
        try {
            abdications.execute(() -> abdicateNow(why));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile: nothing to hand over
        }
    }

    private void abdicateNow(String why) {
        synchronized (this) {
            if (state != State.STARTED) {
                return;
            }
            endTerm(why);
            try {
                latch.close(LeaderLatch.CloseMode.SILENT);
            } catch (Exception e) {
                log.debug("closing leader latch", e);
            }
            latch = newLatch();
            try {
                latch.start();
            } catch (Exception e) {
                log.error("coordinator {} could not rejoin the election after abdicating", config.id(), e);
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
            metrics.termEnded(t.latest);
            if (zk != null && zk.getZookeeperClient().isConnected()) {
                try {
                    Stat stat = new Stat();
                    byte[] data = zk.getData().storingStatIn(stat).forPath(ZkPaths.LEADER);
                    if (LeaderRecord.parse(data).epoch() == t.epoch) {
                        zk.delete().withVersion(stat.getVersion()).forPath(ZkPaths.LEADER);
                    }
                } catch (Exception e) {
                    log.debug("could not remove /leader", e);
                }
            }
        }
    }

    /** One leadership term: the server, the scheduler loop and the ZooKeeper watches. */
    private final class Term implements Endpoint {
        final long epoch;
        final AtomicLong sessions = new AtomicLong();
        final EventLoop loop;
        final Scheduler scheduler;
        Transport transport;
        Channel server;
        CuratorCache executorsCache;
        CuratorCache epochCache;
        CuratorCache leaderCache;
        int port;
        /** The last copy of the scheduler's state taken for HTTP readers; written on the loop. */
        volatile ClusterSnapshot latest;
        final AtomicReference<CompletableFuture<ClusterSnapshot>> copying = new AtomicReference<>();

        Term(long epoch) {
            this.epoch = epoch;
            this.loop = new EventLoop("quiver-scheduler-" + config.id());
            this.scheduler = new Scheduler(config.id(), epoch, System::nanoTime,
                    (delay, event) -> loop.schedule(() -> scheduler().handle(event), delay, TimeUnit.NANOSECONDS));
        }

        private Scheduler scheduler() {
            return scheduler;
        }

        /**
         * The latest copy if younger than {@link #SNAPSHOT_MAX_AGE_MILLIS}, else a fresh one taken on
         * the loop (one at a time, however many readers wait). On an HTTP thread; never blocks the loop.
         */
        ClusterSnapshot snapshot() {
            ClusterSnapshot s = latest;
            if (s != null && System.currentTimeMillis() - s.takenAtMillis() < SNAPSHOT_MAX_AGE_MILLIS) {
                return s;
            }
            CompletableFuture<ClusterSnapshot> mine = new CompletableFuture<>();
            CompletableFuture<ClusterSnapshot> f = copying.compareAndExchange(null, mine);
            if (f == null) {
                f = mine;
                try {
                    loop.execute(() -> {
                        try {
                            ClusterSnapshot n = scheduler.snapshot(System.currentTimeMillis());
                            latest = n;
                            mine.complete(n);
                        } catch (RuntimeException e) {
                            log.warn("coordinator {}: could not copy the scheduler's state for the status page", config.id(), e);
                            mine.complete(latest);
                        } finally {
                            copying.set(null);
                        }
                    });
                } catch (RuntimeException closed) {
                    copying.set(null);
                    return s;
                }
            }
            try {
                ClusterSnapshot n = f.get(2, TimeUnit.SECONDS);
                return n != null ? n : s != null ? s : ClusterSnapshot.empty(config.id(), epoch, System.currentTimeMillis());
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                return s != null ? s : ClusterSnapshot.empty(config.id(), epoch, System.currentTimeMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return s;
            }
        }

        void post(SchedulerEvent event) {
            loop.execute(() -> scheduler.handle(event));
        }

        void start() {
            loop.onFailure(e -> {
                log.error("coordinator {}: a scheduler event failed; handing leadership over rather than going on"
                        + " with half-applied state", config.id(), e);
                abdicate("a scheduler event failed: " + e);
            });
            loop.start(scheduler::afterBatch);
            transport = new Transport("quiver-leader-" + config.id(), Math.max(2, Runtime.getRuntime().availableProcessors()),
                    config.tls());
            Pipelines.ServerSpec spec = new Pipelines.ServerSpec(config.id(), config.secret(), MessageCodec.DEFAULT_MAX_FRAME,
                    () -> epoch, () -> (epoch << 32) | sessions.incrementAndGet());
            server = transport.bind(config.host(), config.port(), Pipelines.server(spec, this));
            port = ((java.net.InetSocketAddress) server.localAddress()).getPort();
            executorsCache = CuratorCache.build(zk, ZkPaths.EXECUTORS);
            executorsCache.listenable().addListener(CuratorCacheListener.builder()
                    .forCreatesAndChanges((old, node) -> {
                        executorNode(node.getPath(), true);
                        executorData(node.getPath(), node.getData());
                    })
                    .forDeletes(node -> executorNode(node.getPath(), false))
                    .build());
            executorsCache.start();
            epochCache = CuratorCache.build(zk, ZkPaths.EPOCH, CuratorCache.Options.SINGLE_NODE_CACHE);
            epochCache.listenable().addListener(CuratorCacheListener.builder()
                    .forCreatesAndChanges((old, node) -> {
                        long seen = parseEpoch(node.getData());
                        if (seen > epoch) {
                            abdicate("epoch " + seen + " is newer than this leader's " + epoch);
                        }
                    })
                    .build());
            epochCache.start();
        }

        /** Published in ZooKeeper: from now on executors and clients come. */
        void started(List<String> expected) {
            post(new SchedulerEvent.TermStarted(expected));
        }

        private void executorData(String path, byte[] data) {
            if (path.startsWith(ZkPaths.EXECUTORS + "/") && data != null && data.length > 0) {
                try {
                    ExecutorRecord r = ExecutorRecord.parse(data);
                    post(new SchedulerEvent.ExecutorNodeData(r.id(), r.metricsPort(), r.leaving()));
                } catch (RuntimeException e) {
                    log.debug("unreadable executor record at {}: {}", path, e.toString());
                }
            }
        }

        private void executorNode(String path, boolean present) {
            if (path.startsWith(ZkPaths.EXECUTORS + "/")) {
                String id = path.substring(ZkPaths.EXECUTORS.length() + 1);
                post(present ? new SchedulerEvent.ExecutorNodeSeen(id) : new SchedulerEvent.ExecutorNodeGone(id));
            }
        }

        @Override
        public void onOpen(Connection c) {
            Link link = new ConnectionLink(c);
            c.attach(link);
            if (c.peerRole() == Role.EXECUTOR && c.peerEpoch() > epoch) {
                // The executor has seen a newer leader: this one is stale and must stand down.
                log.warn("closing {}: it has seen epoch {}, newer than ours ({})", c, c.peerEpoch(), epoch);
                c.close();
                abdicate("executor " + c.peerId() + " has seen epoch " + c.peerEpoch());
                return;
            }
            if (c.peerRole() == Role.CLIENT) {
                post(new SchedulerEvent.ClientConnected(c.peerId(), link));
            }
        }

        /** On the connection's event loop: turns a wire message into a scheduler event (or answers it). */
        @Override
        public void onMessage(Connection c, Message m) {
            if (m instanceof Message.DataMessage d) {
                d.data().release();
                log.warn("closing {}: bulk data sent to the leader; data goes to executors", c);
                c.close();
                return;
            }
            Link link = c.attachment();
            String peer = c.peerId();
            SchedulerEvent event = c.peerRole() == Role.EXECUTOR ? fromExecutor(peer, link, m) : fromClient(c, peer, m);
            if (event != null) {
                // The event's bytes count against the connection's inbound budget until the loop has
                // handled it: a peer that sends faster than the loop keeps up is read no further.
                long kept = c.keepInput();
                loop.execute(() -> {
                    try {
                        scheduler.handle(event);
                    } finally {
                        c.releaseInput(kept);
                    }
                });
            }
        }

        private SchedulerEvent fromExecutor(String peer, Link link, Message m) {
            SchedulerEvent e = WireEvents.fromExecutor(peer, link, m);
            if (e == null) {
                log.warn("closing executor {}: unexpected {}", peer, m.type());
                link.close();
            }
            return e;
        }

        private SchedulerEvent fromClient(Connection c, String peer, Message m) {
            if (m instanceof Message.SubmitJob j) {
                return planJob(c, peer, j);
            }
            SchedulerEvent e = WireEvents.fromClient(peer, m);
            if (e == null) {
                log.warn("closing client {}: unexpected {}", peer, m.type());
                c.close();
            }
            return e;
        }

        /** Plans a job off the scheduler loop, on this connection's event loop (see {@link JobPlanning}). */
        private SchedulerEvent planJob(Connection c, String peer, Message.SubmitJob job) {
            JobPlanning.Planned planned = JobPlanning.plan(peer, job, scheduler.view());
            if (planned.reply() != null) {
                c.send(planned.reply());
            }
            return planned.event();
        }

        @Override
        public void onClose(Connection c) {
            Link link = c.attachment();
            if (link == null) {
                return;
            }
            String peer = c.peerId();
            post(c.peerRole() == Role.EXECUTOR ? new SchedulerEvent.ExecutorLinkClosed(peer, link)
                    : new SchedulerEvent.ClientLinkClosed(peer, link));
        }

        /**
         * Puts {@code /leader} back whenever someone overwrites it while this term lasts:
         * someone who could write ZooKeeper but has no cluster secret must not send executors and
         * clients elsewhere for long (they would refuse an impostor anyway, see {@code Pipelines}).
         * The rewrite is the same fenced transaction as {@link #publish}, so it never overwrites a
         * successor that bumped {@code /epoch}.
         */
        void watchLeaderNode(byte[] record, int epochVersion) {
            leaderCache = CuratorCache.build(zk, ZkPaths.LEADER, CuratorCache.Options.SINGLE_NODE_CACHE);
            long session = sessionId();
            Runnable check = () -> {
                synchronized (Coordinator.this) {
                    if (term != this || !zk.getZookeeperClient().isConnected()) {
                        return;
                    }
                }
                if (sessionId() != session) {
                    return; // the session that made this term is gone: the term ends, nothing to repair
                }
                try {
                    byte[] now = zk.getData().forPath(ZkPaths.LEADER);
                    if (java.util.Arrays.equals(now, record)) {
                        return;
                    }
                    log.warn("coordinator {} leads epoch {} but {} no longer names it; publishing it again",
                            config.id(), epoch, ZkPaths.LEADER);
                } catch (org.apache.zookeeper.KeeperException.NoNodeException deleted) {
                    // Deleted by someone while our session lives (a lost session would have changed
                    // the session id): clients and executors must not be left without a leader.
                    log.warn("coordinator {} leads epoch {} but {} was deleted; publishing it again", config.id(),
                            epoch, ZkPaths.LEADER);
                } catch (Exception e) {
                    log.debug("coordinator {} could not read {}", config.id(), ZkPaths.LEADER, e);
                    return;
                }
                try {
                    publish(record, epochVersion);
                } catch (Exception e) {
                    log.warn("coordinator {} could not publish {} again: {}", config.id(), ZkPaths.LEADER, e.toString());
                }
            };
            Runnable later = () -> {
                try {
                    abdications.execute(check);
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    // closed meanwhile
                }
            };
            // The check does ZooKeeper calls, so it runs off Curator's callback thread. A node that
            // vanished with a lost session is not repaired: the session id tells them apart.
            leaderCache.listenable().addListener(CuratorCacheListener.builder()
                    .forCreatesAndChanges((old, node) -> {
                        if (!java.util.Arrays.equals(node.getData(), record)) {
                            later.run();
                        }
                    })
                    .forDeletes(node -> later.run())
                    .build());
            leaderCache.start();
        }

        private long sessionId() {
            try {
                return zk.getZookeeperClient().getZooKeeper().getSessionId();
            } catch (Exception e) {
                return -1;
            }
        }

        void close() {
            if (leaderCache != null) {
                leaderCache.close();
            }
            if (epochCache != null) {
                epochCache.close();
            }
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

    /** How old a copy of the scheduler's state HTTP readers may get: the loop copies at most this often. */
    static final long SNAPSHOT_MAX_AGE_MILLIS = 250;

    /** For metrics: the state the last HTTP request saw (the handler refreshes it first), null on a standby. */
    private ClusterSnapshot currentSnapshot() {
        Term t = term;
        return t == null ? null : t.latest;
    }

    /** What the HTTP threads read: snapshots of the term, and ZooKeeper for a standby's redirect. */
    private final class HttpSource implements StatusServer.Source {
        @Override
        public ClusterSnapshot snapshot() {
            Term t = term;
            return t == null ? null : t.snapshot();
        }

        @Override
        public String leaderUrl() {
            try {
                LeaderRecord r = LeaderRecord.parse(zk.getData().forPath(ZkPaths.LEADER));
                return r.httpPort() <= 0 || r.id().equals(config.id()) ? null
                        : "http://" + r.host() + ":" + r.httpPort() + "/";
            } catch (Exception e) {
                return null;
            }
        }

        @Override
        public List<String> standbys() {
            LeaderLatch l = latch;
            List<String> out = new ArrayList<>();
            try {
                for (org.apache.curator.framework.recipes.leader.Participant p : l.getParticipants()) {
                    if (!p.isLeader() && !p.getId().equals(config.id())) {
                        out.add(p.getId());
                    }
                }
            } catch (Exception e) {
                log.debug("could not list the election's participants: {}", e.toString());
            }
            return out;
        }
    }

    private static long parseEpoch(byte[] data) {
        try {
            return Long.parseLong(new String(data, StandardCharsets.UTF_8).trim());
        } catch (RuntimeException e) {
            return -1;
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
