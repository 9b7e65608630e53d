package io.quiver.core.client;

import static com.google.common.base.Preconditions.checkState;

import io.quiver.ClusterUnavailableException;
import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.loop.EventLoop;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Batches;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Goodbye;
import io.quiver.core.protocol.Message.Hold;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.HoldPins;
import io.quiver.core.protocol.Message.InfoReply;
import io.quiver.core.protocol.Message.JobReply;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Release;
import io.quiver.core.protocol.Message.RequestFailed;
import io.quiver.core.protocol.Message.Resume;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.Message.ScatterPlan;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.SubmitJob;
import io.quiver.core.protocol.Message.TaskSpec;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.ZkPaths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Confined to its own {@link EventLoop}; public methods post to it and return (or, for calls that
 * need an answer, block the calling user thread, never the loop). The client's session with the
 * leader: the current connection and the leader record it belongs to, submits and releases batched
 * per loop turn (flushed in the loop's afterBatch hook), requests awaiting their answer, and the
 * {@link Lineage} that lets a new leader session resume.
 *
 * <pre>
 *   CONNECTED --connection drops--> WAITING --a leader answers--> CONNECTED (resume)
 *   CONNECTED --/leader names a newer epoch--> CONNECTED to it (resume), the old connection closed
 *   WAITING past failoverTimeout: every pending ref and call fails with ClusterUnavailableException
 *   any --close()--> CLOSED (Goodbye sent)
 * </pre>
 *
 * Discovery: {@code /leader} is watched; a newly published record (higher epoch) is connected to at
 * once, even while the old connection is still open (a frozen leader keeps its socket). A record
 * whose connection dropped, or that could not be reached, is tried once more after a short delay;
 * after that it is dead and only a different record is tried.
 */
final class LeaderSession implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LeaderSession.class);
    private static final long RETRY_DELAY_MILLIS = 200;
    /** A connection that stayed up this long and then dropped earns a fresh retry. */
    private static final long STABLE_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final int HANDSHAKE_TIMEOUT_MILLIS = 5_000;
    private static final int MAX_SEEN = 8;

    /** The most tasks one Submit frame carries ({@link #submits}). */
    static final int SUBMIT_TASKS = Batches.MAX_ITEMS;

    /**
     * About the most bytes one Submit frame carries, far below the largest frame a peer accepts
     * ({@link io.quiver.core.protocol.MessageCodec#DEFAULT_MAX_FRAME}): a map of many items, each
     * small enough to travel inline, must not add up to a frame the leader refuses.
     */
    static final long SUBMIT_BYTES = Batches.MAX_BYTES;

    /** What a ref adds to a Release, at most. */
    private static final long REF_BYTES = 16;

    enum State { CONNECTED, WAITING, CLOSED }

    private record Pending(Message message, CompletableFuture<Message> reply) {}

    private final ClusterUrl url;
    private final Secret secret;
    private final String clientId;
    private final Duration failoverTimeout;
    private final Transport transport;
    private final RefTable refs;
    private final EventLoop loop = new EventLoop("quiver-client-session");
    private final ExecutorService connector = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "quiver-client-connect");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong requestIds = new AtomicLong();
    private final CompletableFuture<Long> firstSession = new CompletableFuture<>();
    private volatile String lastProblem;
    /** The leader of the last session, for {@link #statusUrl()}; written on the loop, read anywhere. */
    private volatile LeaderRecord statusLeader;
    private CuratorCache leaderCache;
    private CuratorFramework zk;
    /** How often a client waiting for a leader reads {@code /leader} itself (see {@link #rereadLeader}). */
    private static final long REREAD_MILLIS = 1_000;
    /** The current chain of {@link #rereadLeader} reads (loop only): a newer wait ends the older chain. */
    private long rereads;

    // ---- confined to the loop
    private State state = State.WAITING;
    private Connection connection;
    private LeaderRecord connectedTo;
    private long connectedAtNanos;
    /** The last leader this client had a session with. */
    private LeaderRecord lastLeader;
    /** What /leader names now (null: no node). */
    private LeaderRecord published;
    private LeaderRecord connecting;
    /** The record given its one retry; it is dead if that fails too. */
    private LeaderRecord retried;
    /** A record whose retry is scheduled and not due yet. */
    private LeaderRecord retryDue;
    private final Set<LeaderRecord> dead = new HashSet<>();
    private long lostAtNanos;
    private ScheduledFuture<?> failoverTimer;
    private final Set<String> seen = new LinkedHashSet<>();
    /** Set once the failover timeout passed with no leader: new work fails at once with it. */
    private ClusterUnavailableException unavailable;
    private final Lineage lineage = new Lineage();
    private final Map<Long, Pending> pending = new LinkedHashMap<>();
    private List<FnDef> batchFns = new ArrayList<>();
    private List<TaskSpec> batchTasks = new ArrayList<>();
    private List<RefId> batchReleases = new ArrayList<>();

    LeaderSession(ClusterUrl url, Secret secret, String clientId, Duration failoverTimeout, Transport transport,
                  RefTable refs) {
        this.url = url;
        this.secret = secret;
        this.clientId = clientId;
        this.failoverTimeout = failoverTimeout;
        this.transport = transport;
        this.refs = refs;
        this.lastProblem = "no leader has published itself at " + url + ZkPaths.LEADER;
    }

    /** Starts the loop and the watch on {@code /leader}; connecting happens in the background. */
    void start(CuratorFramework zk) {
        this.zk = zk;
        loop.start(this::flush);
        leaderCache = CuratorCache.build(zk, ZkPaths.LEADER, CuratorCache.Options.SINGLE_NODE_CACHE);
        // Called on Zk's shared callback pool: parse, post, return.
        leaderCache.listenable().addListener(CuratorCacheListener.builder()
                .forCreatesAndChanges((before, now) -> leaderNode(now))
                .forDeletes(before -> loop.execute(() -> onLeaderNode(null)))
                .build());
        leaderCache.start();
    }

    /**
     * Waits for the first leader session, whose id becomes the owner of every ref this client mints.
     *
     * @throws ClusterUnavailableException saying what was tried, past {@code timeout} or if refused
     */
    void awaitFirstSession(Duration timeout) {
        try {
            firstSession.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw (RuntimeException) e.getCause();
        } catch (TimeoutException e) {
            throw new ClusterUnavailableException("no leader reachable through " + url + " within "
                    + timeout.toMillis() + " ms (" + lastProblem + "); start a coordinator with"
                    + " `quiver coordinator --zk " + url + "`");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterUnavailableException("interrupted while connecting to " + url);
        }
    }

    // ------------------------------------------------------------------ called from user threads

    /** Queues functions and tasks: one Submit per loop turn, or on resume if no leader is connected. */
    void submit(List<FnDef> fns, List<TaskSpec> tasks) {
        loop.execute(() -> onSubmit(fns, tasks));
    }

    /** Asks for more copies of a finished value; returns once the leader took the request. */
    void replicate(RefId ref, int copies) {
        Message m = call(reqId -> new Message.ReplicateRequest(reqId, ref, copies), "replicate");
        if (m instanceof RequestFailed f) {
            throw new QuiverException(f.message());
        }
    }

    /** Asks the leader to cancel a task (best effort: one that finishes first stays finished). */
    void cancel(RefId ref) {
        loop.execute(() -> {
            if (state == State.CONNECTED && connection != null) {
                connection.send(new Message.Cancel(List.of(ref)));
            }
        });
    }

    void release(RefId ref) {
        loop.execute(() -> {
            lineage.released(ref);
            batchReleases.add(ref);
        });
    }

    /**
     * Sends a request and waits for its answer, across leader changes: a request no leader has
     * answered is sent again to the next one.
     */
    Message call(LongFunction<Message> request, String what) {
        return call(request.apply(requestIds.incrementAndGet()), null, what);
    }

    /**
     * Sends a dataset job. The refs it reads as pinned inputs stay in the lineage while the job
     * is live, even if the user releases them meanwhile: a new leader it is sent again to must
     * know them (as a pending task's released inputs).
     */
    Message callJob(LongFunction<SubmitJob> request, List<RefId> pinned, String what) {
        SubmitJob job = request.apply(requestIds.incrementAndGet());
        return call(job, job.explainOnly() || pinned.isEmpty() ? null : () -> lineage.jobPinned(job.job(), pinned),
                what);
    }

    /**
     * The longest a call waits for the leader's answer: past the failover timeout, so that a
     * failover in between is waited out, but never forever.
     */
    Duration callTimeout() {
        return failoverTimeout.plusSeconds(30);
    }

    /** Asks where a scatter goes; from now on, a resume holds the ref once its plan arrived. */
    Message scatter(LongFunction<ScatterRequest> request, byte kind) {
        ScatterRequest r = request.apply(requestIds.incrementAndGet());
        List<String> pinnedOn = r.mode() == io.quiver.core.protocol.Message.ScatterRequest.ON ? r.on() : List.of();
        return call(r, () -> lineage.held(r.ref(), kind, r.size(), pinnedOn), "scatter");
    }

    private Message call(Message request, Runnable before, String what) {
        checkState(!loop.inLoop(), "a call that waits must not run on the session loop");
        long reqId = reqId(request);
        CompletableFuture<Message> reply = new CompletableFuture<>();
        loop.execute(() -> {
            if (before != null) {
                before.run();
            }
            onRequest(reqId, new Pending(request, reply));
        });
        // A leader that holds its connection open but never answers is bounded here.
        long bound = callTimeout().toMillis();
        try {
            return reply.get(bound, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new QuiverException(what + " failed", e.getCause());
        } catch (TimeoutException e) {
            loop.execute(() -> dropPending(reqId));
            throw new ClusterUnavailableException("leader " + describe(lastLeader) + " did not answer " + what
                    + " within " + bound + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            loop.execute(() -> dropPending(reqId));
            throw new QuiverException("interrupted during " + what);
        }
    }

    private static long reqId(Message m) {
        if (m instanceof ScatterRequest r) {
            return r.reqId();
        } else if (m instanceof Message.InfoRequest r) {
            return r.reqId();
        } else if (m instanceof SubmitJob r) {
            return r.reqId();
        } else if (m instanceof Message.ReplicateRequest r) {
            return r.reqId();
        }
        throw new IllegalArgumentException("not a request: " + m.type());
    }

    /**
     * Sends Goodbye and closes the connection (the leader releases everything at once); fails
     * pending calls. Idempotent; waits briefly for the goodbye to go out.
     */
    @Override
    public void close() {
        if (leaderCache == null) { // never started
            connector.shutdownNow();
            loop.close();
            return;
        }
        CompletableFuture<Connection> last = new CompletableFuture<>();
        loop.execute(() -> last.complete(shutdown()));
        try {
            Connection c = last.get(2, TimeUnit.SECONDS);
            if (c != null) {
                c.channel().closeFuture().awaitUninterruptibly(2, TimeUnit.SECONDS);
            }
        } catch (ExecutionException | TimeoutException e) {
            log.debug("session loop did not shut down in time", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (leaderCache != null) {
            leaderCache.close();
        }
        connector.shutdownNow();
        loop.close();
    }

    // ------------------------------------------------------------------ loop: discovery and connecting

    private void leaderNode(ChildData node) {
        LeaderRecord rec;
        try {
            rec = node == null || node.getData() == null ? null : LeaderRecord.parse(node.getData());
        } catch (RuntimeException e) {
            log.warn("ignoring unreadable {} node: {}", ZkPaths.LEADER, e.toString());
            return;
        }
        loop.execute(() -> onLeaderNode(rec));
    }

    /**
     * While waiting for a leader, reads {@code /leader} itself every {@link #REREAD_MILLIS}: a
     * watch can miss a change made while this client's own ZooKeeper session was being replaced
     * (a ZooKeeper outage past the session timeout), and the cache would then show the dead
     * leader until the failover timeout.
     */
    private void rereadLeader(long chain) {
        if (state != State.WAITING || zk == null || chain != rereads) {
            return;
        }
        try {
            connector.execute(() -> readLeaderNode(chain));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile
        }
    }

    /** On the connector thread: one read of {@code /leader}, posted to the loop if it says something new. */
    private void readLeaderNode(long chain) {
        LeaderRecord rec;
        try {
            rec = LeaderRecord.parse(zk.getData().forPath(ZkPaths.LEADER));
        } catch (org.apache.zookeeper.KeeperException.NoNodeException e) {
            rec = null;
        } catch (Exception e) {
            rec = published; // unreachable or unreadable: nothing new learnt
        }
        LeaderRecord read = rec;
        loop.execute(() -> {
            if (state == State.WAITING && !java.util.Objects.equals(read, published)) {
                onLeaderNode(read);
            }
            loop.schedule(() -> rereadLeader(chain), REREAD_MILLIS, TimeUnit.MILLISECONDS);
        });
    }

    private void onLeaderNode(LeaderRecord rec) {
        published = rec;
        note(rec == null ? "no " + ZkPaths.LEADER + " node" : describe(rec));
        reconcile();
    }

    /** Connects to the published record if it is newer than the current one and not known dead. */
    private void reconcile() {
        LeaderRecord target = published;
        if (state == State.CLOSED || connecting != null || target == null || dead.contains(target)
                || target.equals(retryDue)) {
            return;
        }
        if (connection != null && (target.equals(connectedTo) || target.epoch() <= connectedTo.epoch())) {
            return;
        }
        connecting = target;
        SessionEndpoint endpoint = new SessionEndpoint(target);
        connector.execute(() -> {
            try {
                Pipelines.connect(transport, target.host(), target.port(), secret, Role.CLIENT, clientId, target.epoch(),
                        MessageCodec.DEFAULT_MAX_FRAME, HANDSHAKE_TIMEOUT_MILLIS, endpoint);
            } catch (RuntimeException e) {
                loop.execute(() -> onConnectFailed(target, e));
            }
        });
    }

    private void onConnectFailed(LeaderRecord rec, RuntimeException e) {
        if (!rec.equals(connecting)) {
            return;
        }
        connecting = null;
        boolean refused = refused(e);
        String problem = describe(rec) + (refused ? " refused this client: " : " did not answer: ") + e.getMessage();
        lastProblem = problem;
        note(problem);
        log.info("{}", problem);
        if (refused) {
            dead.add(rec);
            firstSession.completeExceptionally(new ClusterUnavailableException(problem
                    + "; pass the cluster secret (ConnectOptions.secret, QUIVER_SECRET_FILE or QUIVER_SECRET)", e));
        } else {
            giveOneRetry(rec, false);
        }
        reconcile();
    }

    /** True only if the leader's handshake itself said Refused (a wrong or missing secret). */
    private static boolean refused(RuntimeException e) {
        return e.getCause() instanceof QuiverException q && q.getMessage() != null && q.getMessage().startsWith("refused: ");
    }

    /** {@code rec} failed: retry it once after a short delay, unless it had that retry already. */
    private void giveOneRetry(LeaderRecord rec, boolean wasStable) {
        if (rec.equals(retried) && !wasStable) {
            dead.add(rec);
            note(describe(rec) + " failed again after its one retry and is not tried any more");
            log.warn("leader {} is unreachable; waiting for {} to name another", describe(rec), ZkPaths.LEADER);
            return;
        }
        retried = rec;
        retryDue = rec;
        loop.schedule(() -> {
            if (rec.equals(retryDue)) {
                retryDue = null;
                reconcile();
            }
        }, RETRY_DELAY_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void onConnected(LeaderRecord rec, Connection c) {
        if (rec.equals(connecting)) {
            connecting = null;
        }
        if (state == State.CLOSED) {
            c.close();
            return;
        }
        Connection old = connection;
        connection = c;
        connectedTo = rec;
        lastLeader = rec;
        statusLeader = rec;
        connectedAtNanos = System.nanoTime();
        state = State.CONNECTED;
        unavailable = null;
        seen.clear();
        if (failoverTimer != null) {
            failoverTimer.cancel(false);
            failoverTimer = null;
        }
        refs.owner(c.session());
        firstSession.complete(c.session());
        if (old != null) {
            log.info("leader {} published; leaving {}", describe(rec), old);
            old.close();
        }
        resume(c);
        reconcile(); // a newer leader may have been published meanwhile
    }

    private void onClosed(LeaderRecord rec, Connection c) {
        if (c != connection) {
            return;
        }
        connection = null;
        connectedTo = null;
        batchFns = new ArrayList<>(); // in the lineage: a resume sends them
        batchTasks = new ArrayList<>();
        if (state == State.CLOSED) {
            return;
        }
        state = State.WAITING;
        lostAtNanos = System.nanoTime();
        seen.clear();
        failoverTimer = loop.schedule(this::expire, failoverTimeout.toMillis(), TimeUnit.MILLISECONDS);
        long chain = ++rereads; // one chain of reads per wait
        loop.schedule(() -> rereadLeader(chain), REREAD_MILLIS, TimeUnit.MILLISECONDS);
        log.warn("lost the connection to leader {}; waiting up to {} ms for a leader", describe(rec),
                failoverTimeout.toMillis());
        giveOneRetry(rec, System.nanoTime() - connectedAtNanos > STABLE_NANOS);
        reconcile();
    }

    /** Past the failover timeout with no leader: every unfinished ref and call fails. */
    private void expire() {
        if (state != State.WAITING) {
            return;
        }
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lostAtNanos);
        unavailable = new ClusterUnavailableException("no leader for " + waited + " ms (ConnectOptions.failoverTimeout is "
                + failoverTimeout.toMillis() + " ms); the last leader was " + describe(lastLeader) + "; " + ZkPaths.LEADER
                + " meanwhile showed: " + (seen.isEmpty() ? "no change" : String.join("; ", seen))
                + ". Start a coordinator (`quiver coordinator --zk " + url + "`) or raise the failover timeout");
        log.warn("{}", unavailable.getMessage());
        pending.values().forEach(p -> p.reply().completeExceptionally(unavailable));
        pending.clear();
        refs.failUnfinished(unavailable);
        lineage.abandonUnfinished();
    }

    private void note(String what) {
        if (state == State.WAITING && seen.size() < MAX_SEEN) {
            seen.add(what);
        }
    }

    /**
     * The status page of the leader this session last connected to, {@code http://host:port/}, or
     * an empty string when that leader serves none (its record has no HTTP port). Any thread.
     */
    String statusUrl() {
        LeaderRecord r = statusLeader;
        return r == null || r.httpPort() <= 0 ? "" : "http://" + r.host() + ":" + r.httpPort() + "/";
    }

    private static String describe(LeaderRecord r) {
        return r == null ? "none" : r.id() + " (epoch " + r.epoch() + ") at " + r.host() + ":" + r.port();
    }

    // ------------------------------------------------------------------ loop: work

    private void onSubmit(List<FnDef> fns, List<TaskSpec> tasks) {
        if (state == State.CLOSED) {
            return;
        }
        if (unavailable != null) {
            tasks.forEach(t -> failRef(t.out(), unavailable));
            return;
        }
        lineage.submitted(fns, tasks);
        if (state == State.CONNECTED) {
            batchFns.addAll(fns);
            batchTasks.addAll(tasks);
        }
    }

    private void failRef(RefId id, RuntimeException e) {
        RefState s = refs.get(id);
        if (s != null) {
            s.fail(e);
        }
    }

    private void onRequest(long reqId, Pending p) {
        RuntimeException refusal = state == State.CLOSED ? new QuiverException("this Quiver is closed; connect again")
                : unavailable;
        if (refusal != null) {
            dropPending(p);
            p.reply().completeExceptionally(refusal);
            return;
        }
        pending.put(reqId, p);
        if (state == State.CONNECTED) {
            connection.send(p.message());
        }
    }

    private void dropPending(long reqId) {
        Pending p = pending.remove(reqId);
        if (p != null) {
            dropPending(p);
        }
    }

    /** A scatter that got no plan holds nothing. */
    private void dropPending(Pending p) {
        if (p.message() instanceof ScatterRequest r) {
            lineage.refused(r.ref());
        } else if (p.message() instanceof SubmitJob job) {
            lineage.jobUnpinned(job.job());
        }
    }

    /**
     * {@code fns} and {@code tasks} as Submit frames of at most {@link #SUBMIT_TASKS} tasks and
     * about {@link #SUBMIT_BYTES} bytes each (a single function or task larger than that goes alone).
     * The functions go first: every task's function is defined in its frame or an earlier one.
     */
    static List<Submit> submits(List<FnDef> fns, List<TaskSpec> tasks) {
        List<Submit> out = new ArrayList<>();
        int f = 0;
        int t = 0;
        while (f < fns.size() || t < tasks.size()) {
            long bytes = 0;
            int f0 = f;
            while (f < fns.size() && (f == f0 || bytes + fns.get(f).sizeBound() <= SUBMIT_BYTES)) {
                bytes += fns.get(f++).sizeBound();
            }
            int t0 = t;
            if (f == fns.size()) {
                while (t < tasks.size() && t - t0 < SUBMIT_TASKS
                        && (f == f0 && t == t0 || bytes + tasks.get(t).sizeBound() <= SUBMIT_BYTES)) {
                    bytes += tasks.get(t++).sizeBound();
                }
            }
            boolean whole = f0 == 0 && f == fns.size() && t0 == 0 && t == tasks.size();
            out.add(whole ? new Submit(fns, tasks) : new Submit(fns.subList(f0, f), tasks.subList(t0, t)));
        }
        return out;
    }

    /**
     * The loop's afterBatch hook: everything queued this turn goes out as Submit frames
     * ({@link #submits}) and one Release.
     */
    private void flush() {
        if (state != State.CONNECTED) {
            return;
        }
        if (!batchTasks.isEmpty()) {
            submits(batchFns, batchTasks).forEach(connection::send);
            batchFns = new ArrayList<>();
            batchTasks = new ArrayList<>();
        }
        if (!batchReleases.isEmpty()) {
            for (List<RefId> part : Batches.split(batchReleases, r -> REF_BYTES)) {
                connection.send(new Release(part));
            }
            batchReleases = new ArrayList<>();
        }
    }

    /**
     * Tells a new leader session everything it must know, between Resume(false) and Resume(true), in this order: refs no task produces
     * (Hold), jobs with a live result (a task may read a job's output), every live task (inputs first,
     * in Submit frames: {@link #submits}), unanswered requests, and
     * the releases of refs kept only for lineage or released while no leader was connected.
     */
    private void resume(Connection c) {
        List<HeldRef> holds = lineage.holds();
        List<SubmitJob> jobs = lineage.liveJobs();
        Submit tasks = lineage.resubmit();
        Set<RefId> releases = new LinkedHashSet<>(lineage.keptForLineage());
        releases.addAll(batchReleases);
        // Bracketed only when there is something to re-send: a first connection has nothing.
        boolean bracket = !holds.isEmpty() || !jobs.isEmpty() || tasks != null || !releases.isEmpty();
        if (bracket) {
            c.send(new Resume(false));
        }
        if (!holds.isEmpty()) {
            for (List<HeldRef> part : Batches.split(holds, HeldRef::sizeBound)) {
                c.send(new Hold(part));
            }
            List<HoldPins.Pin> pins = lineage.pins();
            if (!pins.isEmpty()) {
                c.send(new HoldPins(pins)); // before the tasks that read them
            }
        }
        jobs.forEach(c::send);
        if (tasks != null) {
            submits(tasks.fns(), tasks.tasks()).forEach(c::send); // the leader adopts them once the resume ends
        }
        pending.values().forEach(p -> c.send(p.message()));
        if (!releases.isEmpty()) {
            for (List<RefId> part : Batches.split(List.copyOf(releases), r -> REF_BYTES)) {
                c.send(new Release(part));
            }
        }
        if (bracket) {
            c.send(new Resume(true));
        }
        batchFns = new ArrayList<>();
        batchTasks = new ArrayList<>();
        batchReleases = new ArrayList<>();
        if (bracket || !pending.isEmpty()) {
            log.info("resumed with leader {}: {} held refs, {} tasks, {} jobs, {} calls", describe(connectedTo),
                    holds.size(), tasks == null ? 0 : tasks.tasks().size(), jobs.size(), pending.size());
        }
    }

    private void onMessage(Connection c, Message m) {
        if (c != connection) {
            return; // an old leader's late words
        }
        if (m instanceof RefsDone d) {
            d.refs().forEach(this::onRefDone);
        } else if (m instanceof ScatterPlan p) {
            reply(p.reqId(), p);
        } else if (m instanceof RequestFailed f) {
            reply(f.reqId(), f);
        } else if (m instanceof InfoReply i) {
            reply(i.reqId(), i);
        } else if (m instanceof JobReply j) {
            reply(j.reqId(), j);
        } else if (m instanceof Message.Ack a) {
            reply(a.reqId(), a);
        } else {
            log.warn("unexpected {} from leader {}", m.type(), describe(connectedTo));
        }
    }

    private void onRefDone(RefDone d) {
        lineage.done(d.ref(), d.size(), d.failure() != null);
        RefState s = refs.get(d.ref());
        if (s == null) {
            return;
        }
        if (d.failure() != null) {
            s.fail(RefState.toException(d.ref(), d.failure()));
        } else {
            s.complete(d.size(), d.locations(), d.inline());
        }
    }

    private void reply(long reqId, Message m) {
        Pending p = pending.remove(reqId);
        if (p == null) {
            return; // a job sent again on resume: its refs are known already
        }
        if (p.message() instanceof ScatterRequest r) {
            if (m instanceof ScatterPlan plan) {
                lineage.planned(r.ref(), plan.targets().stream().map(Peer::id).toList());
            } else {
                lineage.refused(r.ref());
            }
        } else if (p.message() instanceof SubmitJob job && m instanceof JobReply j && !job.explainOnly()) {
            // Known before any RefsDone for them is read.
            j.results().forEach(refs::adopt);
            j.persisted().forEach(refs::adopt);
            lineage.jobPlanned(job, j.results(), j.persisted());
        } else if (p.message() instanceof SubmitJob job) {
            lineage.jobUnpinned(job.job()); // refused: it reads nothing
        }
        p.reply().complete(m);
    }

    private Connection shutdown() {
        flush();
        state = State.CLOSED;
        if (failoverTimer != null) {
            failoverTimer.cancel(false);
        }
        QuiverException closed = new QuiverException("this Quiver was closed");
        pending.values().forEach(p -> p.reply().completeExceptionally(closed));
        pending.clear();
        Connection c = connection;
        connection = null;
        if (c != null) {
            // The channel closes after the goodbye is written; a leader that drops us on it changes nothing.
            c.send(new Goodbye());
            c.close();
        }
        return c;
    }

    /** One connection attempt's callbacks, on Netty threads: post and return. */
    private final class SessionEndpoint implements Endpoint {
        private final LeaderRecord record;

        SessionEndpoint(LeaderRecord record) {
            this.record = record;
        }

        @Override
        public void onOpen(Connection c) {
            loop.execute(() -> onConnected(record, c));
        }

        @Override
        public void onMessage(Connection c, Message m) {
            if (m instanceof Message.DataMessage d) {
                d.data().release(); // a leader sends no data
                log.warn("unexpected {} from leader {}", m.type(), describe(record));
                return;
            }
            loop.execute(() -> LeaderSession.this.onMessage(c, m));
        }

        @Override
        public void onClose(Connection c) {
            loop.execute(() -> onClosed(record, c));
        }
    }
}
