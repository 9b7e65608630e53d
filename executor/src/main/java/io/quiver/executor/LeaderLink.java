package io.quiver.executor;

import io.quiver.QuiverException;
import io.quiver.core.net.Connection;
import io.quiver.core.net.HandshakeRefusedException;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.net.UnprovenPeerException;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.BlockFailure;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Drop;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.Replicate;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.Message.Status;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.ZkPaths;
import io.quiver.executor.block.BlockStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor's connection to the leader. Watches {@code /leader}; connects to whoever it names
 * (retrying with backoff while nobody answers), registers with the block inventory, and again
 * after every leader change or drop. Admits {@link Launch}, {@link Drop} and {@link Replicate}
 * only through the {@link EpochFence}. Results are queued and sent in batches: all results that finish while a
 * report is pending go out in one {@link TaskResults}, drained by one task on the connection's
 * event loop; results queued while no leader is connected go to the next one after it registers.
 *
 * <p>Connecting and registering run on this link's own thread; Endpoint callbacks run on event
 * loops and only post.
 */
final class LeaderLink implements Endpoint, Reports, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LeaderLink.class);
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;
    private static final long MAX_BACKOFF_MILLIS = 2_000;
    /** Keeps a TaskResults frame well under the largest frame. */
    private static final int MAX_BATCH_BYTES = 8 << 20;

    private final ExecutorConfig config;
    private final IntSupplier dataPort;
    private final Transport transport;
    private final EpochFence fence;
    private final BlockStore store;
    private final IntSupplier queued;
    private final Consumer<Launch> onLaunch;
    private final Consumer<Drop> onDrop;
    private final Consumer<Replicate> onReplicate;
    private final Consumer<Message.CancelTasks> onCancel;
    private final java.util.function.Supplier<TaskSlots.Snapshot> activity;
    private final ScheduledExecutorService thread;
    private final ConcurrentLinkedQueue<TaskResult> results = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicInteger registrations = new AtomicInteger();
    private final CompletableFuture<QuiverException> refused = new CompletableFuture<>();
    private volatile LeaderRecord target;
    private volatile Connection leader;
    private volatile boolean closed;
    @SuppressWarnings("deprecation")
    private org.apache.curator.framework.recipes.cache.NodeCache cache;
    // confined to the link thread
    private LeaderRecord connectedTo;
    private long backoffMillis = 50;
    private boolean retryScheduled;
    private boolean reportedUnreachable;
    private LeaderRecord reportedImpostor;

    LeaderLink(ExecutorConfig config, IntSupplier dataPort, Transport transport, EpochFence fence, BlockStore store,
               IntSupplier queued, Consumer<Launch> onLaunch, Consumer<Drop> onDrop, Consumer<Replicate> onReplicate,
               Consumer<Message.CancelTasks> onCancel, java.util.function.Supplier<TaskSlots.Snapshot> activity) {
        this.config = config;
        this.dataPort = dataPort;
        this.transport = transport;
        this.fence = fence;
        this.store = store;
        this.queued = queued;
        this.onLaunch = onLaunch;
        this.onDrop = onDrop;
        this.onReplicate = onReplicate;
        this.onCancel = onCancel;
        this.activity = activity;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "quiver-" + config.id() + "-leader");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts watching {@code /leader}; connecting happens in the background.
     *
     * <p>A NodeCache rather than a CuratorCache: CuratorCache calls its listeners through
     * Curator's "run safe" executor, which Curator never shuts down, so every closed executor
     * would leave a thread behind. NodeCache calls them on the ZooKeeper event thread, which
     * suits a listener that only posts.
     */
    @SuppressWarnings("deprecation")
    void start(CuratorFramework zk) {
        org.apache.curator.framework.recipes.cache.NodeCache c =
                new org.apache.curator.framework.recipes.cache.NodeCache(zk, ZkPaths.LEADER);
        cache = c;
        c.getListenable().addListener(() -> leaderNode(c.getCurrentData()));
        try {
            c.start(false); // the listener sees the node once loaded
        } catch (Exception e) {
            throw new io.quiver.QuiverException("executor " + config.id() + " could not watch " + ZkPaths.LEADER + ": " + e, e);
        }
        thread.scheduleWithFixedDelay(this::status, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * Completes once a leader refused this executor's handshake (a wrong or missing secret); the
     * link then stops trying that leader. Never completes otherwise.
     */
    CompletableFuture<QuiverException> refusal() {
        return refused;
    }

    /** How many times this executor registered with a leader. */
    int registrations() {
        return registrations.get();
    }

    /** The current leader connection, or null. */
    Connection connection() {
        return leader;
    }

    private void leaderNode(ChildData node) {
        if (node == null || node.getData() == null) {
            return;
        }
        LeaderRecord rec;
        try {
            rec = LeaderRecord.parse(node.getData());
        } catch (RuntimeException e) {
            log.warn("ignoring unreadable {} node: {}", ZkPaths.LEADER, e.toString());
            return;
        }
        // Not fence.observe(rec.epoch()): anyone who can write ZooKeeper could name any epoch, and an
        // executor that believed it would refuse its real leader (or make it abdicate). Only an epoch
        // a leader proved in its handshake moves the fence.
        target = rec;
        post(this::reconcile);
    }

    private void post(Runnable r) {
        if (!closed) {
            try {
                thread.execute(r);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing
            }
        }
    }

    /** On the link thread: makes the connection match what {@code /leader} names. */
    private void reconcile() {
        if (closed) {
            return;
        }
        LeaderRecord rec = target;
        Connection current = leader;
        if (rec == null) {
            return; // no leader yet: the cache calls again when one appears
        }
        if (current != null && current.isOpen() && rec.equals(connectedTo)) {
            return;
        }
        // Make before break: the current leader stays until the one /leader names has proven the
        // cluster secret, so a "leader" published by someone without the secret changes nothing.
        boolean trusted = current != null && current.isOpen();
        Connection c;
        try {
            c = Pipelines.connect(transport, rec.host(), rec.port(), config.secret(), Role.EXECUTOR, config.id(),
                    fence.newest(), MessageCodec.DEFAULT_MAX_FRAME, CONNECT_TIMEOUT_MILLIS, this);
        } catch (RuntimeException e) {
            if (e.getCause() instanceof HandshakeRefusedException refusal && !trusted) {
                // The same secret will be refused again: stop and let the process say so.
                String message = "executor " + config.id() + " was refused by leader " + rec.id() + " at " + rec.host()
                        + ":" + rec.port() + ": " + refusal.reason() + "; " + Secret.HOW_TO_SET;
                log.error("{}", message);
                refused.complete(new QuiverException(message)); // the message has the reason; no cause to repeat it
                return;
            }
            if (e.getCause() instanceof UnprovenPeerException || e.getCause() instanceof HandshakeRefusedException) {
                if (!rec.equals(reportedImpostor)) {
                    reportedImpostor = rec;
                    log.warn("executor {} does not trust leader {} at {}:{} named by {}: {}{}", config.id(), rec.id(),
                            rec.host(), rec.port(), ZkPaths.LEADER, e.getMessage(),
                            trusted ? "; it stays with leader " + current.peerId() : "; retrying");
                }
            } else if (!reportedUnreachable) {
                log.info("executor {} cannot reach leader {} at {}:{} yet: {}; retrying", config.id(), rec.id(),
                        rec.host(), rec.port(), e.getMessage());
                reportedUnreachable = true;
            }
            retryLater();
            return;
        }
        if (current != null) {
            leader = null;
            current.close();
        }
        fence.observe(c.peerEpoch());
        connectedTo = rec;
        reportedUnreachable = false;
        backoffMillis = 50;
        // What runs here goes on running; the new leader adopts it instead of starting it again.
        TaskSlots.Snapshot doing = activity.get();
        c.send(new Register(config.host(), dataPort.getAsInt(), config.slots(), config.memoryLimit(), store.memoryUsed(),
                store.inventory(), doing.active(), doing.failed()));
        leader = c;
        registrations.incrementAndGet();
        log.info("executor {} registered with leader {} (epoch {})", config.id(), rec.id(), c.peerEpoch());
        scheduleDrain(c);
        if (!c.isOpen()) {
            retryLater();
        }
    }

    private void retryLater() {
        if (retryScheduled || closed) {
            return;
        }
        retryScheduled = true;
        long delay = backoffMillis;
        backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
        try {
            thread.schedule(() -> {
                retryScheduled = false;
                reconcile();
            }, delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    // ------------------------------------------------------------------ inbound (event loop)

    @Override
    public void onMessage(Connection c, Message m) {
        if (m instanceof Launch launch) {
            if (fence.admit(launch.epoch())) {
                onLaunch.accept(launch);
            } else {
                log.warn("refusing a Launch of {} tasks from {}: its epoch {} is older than the newest seen, {}",
                        launch.tasks().size(), c, launch.epoch(), fence.newest());
            }
        } else if (m instanceof Drop drop) {
            if (fence.admit(drop.epoch())) {
                onDrop.accept(drop);
            } else {
                log.warn("refusing a Drop of {} blocks from {}: its epoch {} is older than the newest seen, {}",
                        drop.refs().size(), c, drop.epoch(), fence.newest());
            }
        } else if (m instanceof Message.CancelTasks cancel) {
            if (fence.admit(cancel.epoch())) {
                onCancel.accept(cancel);
            } else {
                log.warn("refusing a CancelTasks of {} tasks from {}: its epoch {} is older than the newest seen, {}",
                        cancel.tasks().size(), c, cancel.epoch(), fence.newest());
            }
        } else if (m instanceof Replicate replicate) {
            if (fence.admit(replicate.epoch())) {
                onReplicate.accept(replicate);
            } else {
                log.warn("refusing a Replicate of {} blocks from {}: its epoch {} is older than the newest seen, {}",
                        replicate.copies().size(), c, replicate.epoch(), fence.newest());
            }
        } else {
            if (m instanceof Message.DataMessage d) {
                d.data().release();
            }
            log.warn("ignoring unexpected {} from leader {}", m.getClass().getSimpleName(), c);
        }
    }

    @Override
    public void onClose(Connection c) {
        if (!closed) {
            log.info("executor {} lost its connection to leader {}", config.id(), c.peerId());
            post(this::retryLater);
        }
    }

    // ------------------------------------------------------------------ reports (any thread)

    @Override
    public void taskResult(TaskResult result) {
        results.add(result);
        Connection c = leader;
        if (c != null) {
            scheduleDrain(c);
        }
    }

    private void scheduleDrain(Connection c) {
        if (drainScheduled.compareAndSet(false, true)) {
            c.channel().eventLoop().execute(() -> drain(c, false));
        }
    }

    /** On the leader connection's event loop: everything queued goes out now, in as few frames as fit. */
    private void drain(Connection c, boolean closing) {
        drainScheduled.set(false);
        if ((c != leader && !closing) || !c.isOpen()) {
            return; // kept for the next leader
        }
        List<TaskResult> batch = new ArrayList<>();
        long bytes = 0;
        TaskResult r;
        while ((r = results.poll()) != null) {
            batch.add(r);
            bytes += 64 + (r.inline() == null ? 0 : r.inline().length)
                    + (r.failure() == null ? 0 : r.failure().stack().length() + 256);
            if (bytes > MAX_BATCH_BYTES) {
                c.channel().write(new TaskResults(batch, store.memoryUsed()), c.channel().voidPromise());
                batch = new ArrayList<>();
                bytes = 0;
            }
        }
        if (!batch.isEmpty()) {
            c.channel().write(new TaskResults(batch, store.memoryUsed()), c.channel().voidPromise());
        }
        c.channel().flush();
    }

    @Override
    public void stored(BlockInfo block) {
        Connection c = leader;
        if (c != null) {
            c.send(new StoredBlocks(List.of(block), List.of(), store.memoryUsed()));
        }
    }

    @Override
    public void blockFailed(BlockFailure failure) {
        Connection c = leader;
        if (c != null) {
            c.send(new StoredBlocks(List.of(), List.of(failure), store.memoryUsed()));
        }
    }

    @Override
    public void status() {
        Connection c = leader;
        if (c != null) {
            c.send(new Status(store.memoryUsed(), queued.getAsInt()));
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /** Graceful: sends what is queued, then closes the connection. */
    @Override
    public void close() {
        stop(true);
    }

    /** A crash: no goodbye, nothing more is sent. */
    void kill() {
        stop(false);
    }

    private void stop(boolean graceful) {
        closed = true;
        if (cache != null) {
            try {
                cache.close();
            } catch (java.io.IOException e) {
                log.debug("closing the /leader watch: {}", e.toString());
            }
        }
        thread.shutdownNow();
        Connection c = leader;
        leader = null;
        if (c != null) {
            if (graceful && c.isOpen()) {
                c.channel().eventLoop().execute(() -> {
                    drain(c, true);
                    c.send(new io.quiver.core.protocol.Message.Goodbye()); // a departure, not a crash
                    c.close();
                });
                c.channel().closeFuture().awaitUninterruptibly(1_000);
            } else {
                c.close();
            }
        }
        try {
            thread.awaitTermination(CONNECT_TIMEOUT_MILLIS + 1000L, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
