package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Client;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.coordinator.sched.Model.Fn;
import io.quiver.coordinator.sched.Model.Task;
import io.quiver.coordinator.sched.Model.TaskState;
import io.quiver.coordinator.sched.SchedulerEvent.*;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.protocol.JobRefs;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockFailure;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Drop;
import io.quiver.core.protocol.Message.ExecInfo;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.HoldPins;
import io.quiver.core.protocol.Message.InfoReply;
import io.quiver.core.protocol.Message.JobReply;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Replicate;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.RequestFailed;
import io.quiver.core.protocol.Message.ScatterPlan;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import io.quiver.core.protocol.Message.TaskSpec;
import io.quiver.planner.ClusterView;
import io.quiver.planner.PersistedOutput;
import io.quiver.planner.PhysicalPlan;
import io.quiver.planner.Stage;
import io.quiver.planner.TaskInput;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's scheduler: the task graph with its lineage, who holds which block, the executors
 * and the clients, and how they change with each {@link SchedulerEvent}. Confined to the
 * scheduler loop; post events, never call from other threads. {@link #handle} applies one event;
 * {@link #afterBatch} then places and launches work ({@link Dispatch}) and sends every peer's
 * batched messages once, stamped with this leader's epoch.
 *
 * <p>After a leader change it rebuilds from what survives: executors register with their blocks,
 * running tasks and remembered failures ({@link Unclaimed}), clients resume with their live tasks,
 * held refs and jobs, and each adopts what exists. Until every executor expected at
 * {@link TermStarted} has registered (or {@link RecoveryDeadline} passes) nothing is placed, so a
 * task still running on a late executor is not started twice.
 */
public final class Scheduler {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    /** Delays, injected as events through {@link Timers} so a simulation can drive the clock. */
    public interface Timers {
        void after(long delayNanos, SchedulerEvent event);
    }

    static final long EXECUTOR_GRACE_NANOS = millis("quiver.executorGraceMs", 2_000);
    static final long CLIENT_GRACE_NANOS = millis("quiver.clientGraceMs", 5_000);
    static final long RECOVERY_NANOS = millis("quiver.recoveryMs", 3_000);
    static final long ORPHAN_NANOS = millis("quiver.orphanMs", 60_000);
    static final long FETCH_RETRY_NANOS = millis("quiver.fetchRetryMs", 300);
    /** A task whose executor died under it this many times is not tried again (Dask's allowed-failures). */
    static final int MAX_CRASHES = 3;
    static final int MAX_FETCH_RETRIES = 8;

    private final String leaderId;
    private final long epoch;
    private final LongSupplier nanoTime;
    private final Timers timers;

    private final Map<String, Exec> executors = new LinkedHashMap<>();
    /** Unfinished tasks with {@code Submit.on} restrictions: they fail when all of their executors are lost. */
    private final Set<Task> restricted = new LinkedHashSet<>();
    private final Map<RefId, Block> blocks = new HashMap<>();
    private final Map<RefId, Task> tasks = new HashMap<>();
    private final Map<Long, Fn> fns = new HashMap<>();
    private final Map<String, Client> clients = new HashMap<>();
    private final ArrayDeque<Task> ready = new ArrayDeque<>();
    private final Dispatch dispatch = new Dispatch(executors, ready);
    private final Unclaimed unclaimed = new Unclaimed();
    private final Replication replication = new Replication(executors, blocks);
    /** Executors expected to register before anything is placed; null once recovery is over. */
    private Set<String> recovering;
    /** ZooKeeper is suspended: this leader may be deposed already, so it starts nothing new. */
    private boolean suspended;
    private boolean orphanSweepArmed;
    /** Resumed tasks with an unknown input, waiting during recovery for an executor to bring their result. */
    private final Map<Task, Failure> parked = new LinkedHashMap<>();
    /** While a resuming client's tasks are added: they are held back until its resume ends. */
    private Client resumingNow;
    /** Jobs this leader has added, by job id: one sent again only re-sends the state of its refs. */
    private final Set<RefId> jobs = new HashSet<>();
    /** How many blocks of each job (by {@link JobRefs#jobOf}) {@link #blocks} holds: a job is forgotten with its last. */
    private final Map<RefId, int[]> jobBlocks = new HashMap<>();
    /** Function ids carry the epoch: an executor's cache from an earlier leader can never match. */
    private long nextFnId;
    private boolean viewDirty = true;
    private volatile ClusterView view = ClusterView.of(List.of());
    private final Observed observed = new Observed();
    /** Node data seen before the executor registered (the record is written first). */
    private final Map<String, ExecutorNodeData> pendingNodeData = new HashMap<>();

    public Scheduler(String leaderId, long epoch, LongSupplier nanoTime, Timers timers) {
        this.leaderId = leaderId;
        this.epoch = epoch;
        this.nanoTime = nanoTime;
        this.timers = timers;
        this.nextFnId = (epoch << 32) + 1;
    }

    private static long millis(String property, long defaultMillis) {
        return TimeUnit.MILLISECONDS.toNanos(Long.getLong(property, defaultMillis));
    }

    // ------------------------------------------------------------------ events

    /** Applies one event. */
    public void handle(SchedulerEvent event) {
        if (event instanceof TasksSubmitted e) {
            onSubmit(client(e.client()), e.fns(), e.tasks());
        } else if (event instanceof TasksFinished e) {
            Exec x = executorOn(e.executor(), e.link());
            if (x != null) {
                onTaskResults(x, e.results());
            }
        } else if (event instanceof RefsReleased e) {
            onRelease(client(e.client()), e.refs());
        } else if (event instanceof SchedulerEvent.TasksCancelled e) {
            onCancel(client(e.client()), e.refs());
        } else if (event instanceof SchedulerEvent.ReplicateRequested e) {
            onReplicate(client(e.client()), e.request());
        } else if (event instanceof ClientConnected e) {
            onClientConnected(e.client(), e.link());
        } else if (event instanceof ExecutorRegistered e) {
            onRegister(e.executor(), e.link(), e.register());
        } else if (event instanceof BlocksStored e) {
            Exec x = executorOn(e.executor(), e.link());
            if (x != null) {
                onStoredBlocks(x, e.stored());
            }
        } else if (event instanceof ExecutorStatus e) {
            Exec x = executorOn(e.executor(), e.link());
            if (x != null) {
                x.memoryUsed = e.status().memoryUsed();
            }
        } else if (event instanceof ScatterRequested e) {
            onScatterRequest(client(e.client()), e.request());
        } else if (event instanceof InfoRequested e) {
            reply(client(e.client()), info(e.reqId()));
        } else if (event instanceof JobSubmitted e) {
            onJob(client(e.client()), e);
        } else if (event instanceof ClientResuming e) {
            onResuming(client(e.client()), e.end());
        } else if (event instanceof RefsHeld e) {
            onHeld(client(e.client()), e.refs());
        } else if (event instanceof RefsPinned e) {
            Client c = client(e.client());
            for (HoldPins.Pin pin : e.pins()) {
                Block b = blocks.get(pin.ref());
                if (b != null && b.owner == c && b.producer == null) {
                    b.pinnedOn = List.copyOf(pin.on());
                }
            }
        } else if (event instanceof ClientLinkClosed e) {
            onClientLinkClosed(e.client(), e.link());
        } else if (event instanceof ClientGraceExpired e) {
            Client c = clients.get(e.client());
            if (c != null && c.link == null && c.dropped == e.link()) {
                clientGone(c, "its connection stayed down for the grace period");
            }
        } else if (event instanceof ClientLeft e) {
            Client c = clients.get(e.client());
            if (c != null) {
                clientGone(c, "it closed");
            }
        } else if (event instanceof ExecutorLinkClosed e) {
            Exec x = executors.get(e.executor());
            if (x != null && x.link == e.link()) {
                x.link = null;
                viewDirty = true;
                timers.after(EXECUTOR_GRACE_NANOS, new ExecutorGraceExpired(e.executor(), ++x.drops));
            }
        } else if (event instanceof ExecutorGraceExpired e) {
            Exec x = executors.get(e.executor());
            if (x != null && e.drop() == x.drops && (x.link == null || x.nodeGone)) {
                lose(x, x.link == null ? "its connection stayed down for the grace period"
                        : "its ZooKeeper node went away and did not come back");
            }
        } else if (event instanceof ExecutorNodeGone e) {
            Exec x = executors.get(e.executor());
            if (x != null) {
                if (x.link == null) {
                    lose(x, "its connection dropped and its ZooKeeper node went away");
                } else {
                    // Its session ended but its connection is up: a ZooKeeper outage, or a frozen process.
                    x.nodeGone = true;
                    timers.after(EXECUTOR_GRACE_NANOS, new ExecutorGraceExpired(e.executor(), ++x.drops));
                }
            }
        } else if (event instanceof SchedulerEvent.ExecutorLeaving e) {
            Exec x = executors.get(e.executor());
            if (x != null) {
                x.leaving = true;
            }
        } else if (event instanceof ExecutorNodeData e) {
            Exec x = executors.get(e.executor());
            if (x != null) {
                x.metricsPort = e.metricsPort();
                x.leaving = e.leaving();
            }
            pendingNodeData.put(e.executor(), e);
        } else if (event instanceof ExecutorNodeSeen e) {
            Exec x = executors.get(e.executor());
            if (x != null) {
                x.nodeGone = false;
            }
        } else if (event instanceof TaskRetry e) {
            Task t = tasks.get(e.task());
            if (t != null && t.state == TaskState.WAITING && t.unresolved == 0 && !ready.contains(t)) {
                ready.add(t);
            }
        } else if (event instanceof TermStarted e) {
            onTermStarted(e.expectedExecutors());
        } else if (event instanceof RecoveryDeadline) {
            if (recovering != null) {
                log.info("leader {} (epoch {}) ends recovery without executors {}", leaderId, epoch, recovering);
                endRecovery();
            }
        } else if (event instanceof OrphanDeadline) {
            sweepOrphans();
        } else if (event instanceof ZooKeeperSuspended) {
            suspended = true;
        } else if (event instanceof ZooKeeperReconnected) {
            suspended = false;
        } else if (event instanceof SchedulerEvent.Noted e) {
            observed.event(e.atNanos(), e.kind(), e.text());
        } else {
            throw new IllegalArgumentException("unknown scheduler event " + event);
        }
    }

    /** Places ready tasks, launches up to each executor's lookahead, and flushes every outbox. */
    public void afterBatch() {
        if (recovering == null && !suspended) {
            dispatch.run();
            replication.run();
        }
        if (viewDirty) {
            // Before the flush: a client told its persist is done plans its next job against this view.
            publishView();
        }
        flush();
    }

    /**
     * The live executors and where every pinnable ref lives (scattered, broadcast, persisted), as of
     * the last batch. Safe to read from any thread: jobs are planned against it off the loop.
     */
    public ClusterView view() {
        return view;
    }

    private Exec executorOn(String id, Link link) {
        Exec e = executors.get(id);
        return e != null && e.link == link ? e : null;
    }

    // ------------------------------------------------------------------ clients

    private Client client(String id) {
        return clients.computeIfAbsent(id, Client::new);
    }

    private void onClientConnected(String id, Link link) {
        Client c = client(id);
        if (c.link != null && c.link != link) {
            c.link.close(); // the old connection of a client that came back before we noticed it left
        }
        c.link = link;
        c.dropped = null;
    }

    private void onClientLinkClosed(String id, Link link) {
        Client c = clients.get(id);
        if (c == null || c.link != link) {
            return;
        }
        c.link = null;
        c.dropped = link;
        c.outDone.clear(); // it hears again about all it resumes
        timers.after(CLIENT_GRACE_NANOS, new ClientGraceExpired(id, link));
    }

    private void reply(Client c, io.quiver.core.protocol.Message m) {
        if (c.link != null) {
            c.link.send(m);
        }
    }

    /** The client is gone for good: release its refs, cancel its work that has not started. */
    private void clientGone(Client c, String why) {
        clients.remove(c.id);
        if (!c.owned.isEmpty()) {
            log.info("client {} left ({}): releasing its {} refs", c.id, why, c.owned.size());
        }
        for (Block b : List.copyOf(c.owned)) {
            b.ownerHolds = false;
            Task t = b.producer;
            if (t != null && (t.state == TaskState.WAITING || t.state == TaskState.QUEUED) && !stillWanted(t)) {
                cancel(t);
            }
            maybeDrop(b);
        }
        c.owned.clear();
    }

    private void onSubmit(Client c, List<FnDef> defs, List<TaskSpec> specs) {
        resumingNow = c.resuming ? c : null;
        try {
            submit(c, defs, specs);
        } finally {
            resumingNow = null;
        }
    }

    private void submit(Client c, List<FnDef> defs, List<TaskSpec> specs) {
        for (FnDef f : defs) {
            if (!c.fnsById.containsKey(f.fnId())) {
                Fn fn = new Fn(nextFnId++, f.bytes());
                fns.put(fn.id, fn);
                c.fnsById.put(f.fnId(), fn);
            }
        }
        List<Task> added = new ArrayList<>(specs.size());
        for (TaskSpec spec : specs) {
            Block known = blocks.get(spec.out());
            if (known != null && known.owner == c) {
                resumeKnown(c, known); // sent again by a resuming client
                continue;
            }
            Fn fn = c.fnsById.get(spec.fnId());
            if (fn == null || known != null) {
                String why = fn == null ? "names function " + spec.fnId() + " that was never defined"
                        : "reuses ref id " + spec.out();
                c.outDone.add(new RefDone(spec.out(), -1, List.of(), null,
                        new Failure(Failure.TASK, "io.quiver.QuiverException", "invalid task: it " + why, null, leaderId, 0)));
                continue;
            }
            Task t = addTask(spec.out(), List.of(spec.out()), fn, spec.args(), c, false);
            c.owned.addAll(t.outputs);
            added.add(t);
            applyOptions(t, spec.options());
        }
        // Adopt once the whole batch exists: a result found done must not release an input that a
        // later task of the same resume still reads.
        for (Task t : added) {
            adoptOrSettle(t);
        }
    }

    /** {@code Submit} options: retries, priority, and where it may (or should) run. */
    private void applyOptions(Task t, io.quiver.core.protocol.Message.TaskOptions o) {
        if (o == null || o.equals(io.quiver.core.protocol.Message.TaskOptions.NONE)) {
            return;
        }
        t.retriesLeft = o.retries();
        t.priority = o.priority();
        dispatch.prioritized |= o.priority() != 0;
        if (o.on().isEmpty()) {
            return;
        }
        if (o.allowOthers()) {
            t.pinnedTo = o.on(); // a preference: held while one of them is live
            return;
        }
        t.restrictTo = o.on();
        restricted.add(t);
        if (!anyAlive(o.on())) {
            failTask(t, noRestrictedExecutor(t));
        }
    }

    private boolean anyAlive(List<String> ids) {
        for (String id : ids) {
            Exec e = executors.get(id);
            if (e != null && e.alive) {
                return true;
            }
        }
        return false;
    }

    private Failure noRestrictedExecutor(Task t) {
        return new Failure(Failure.TASK, "io.quiver.QuiverException", "task " + t.id + " may run only on executors "
                + t.restrictTo + " (Submit.on) and none of them is in the cluster; live executors: "
                + executors.values().stream().filter(x -> x.alive).map(x -> x.id).toList()
                + ". Name live executors, or add allowOthers(true) to make it a preference", null, leaderId, t.attempts);
    }

    /**
     * Cancels the client's unfinished tasks among {@code refs}: queued ones are taken back, running
     * ones stopped on their executor (interrupted), and each fails as cancelled, with everything
     * that depends on it. Finished ones and refs that are not its tasks are left as they are.
     */
    private void onCancel(Client c, List<RefId> refs) {
        for (RefId ref : refs) {
            Block b = blocks.get(ref);
            Task t = b == null ? null : b.producer;
            if (t == null || b.owner != c || t.finished()) {
                continue;
            }
            if (t.state == TaskState.LAUNCHED && t.exec != null) {
                t.exec.outCancels.add(t.id);
                t.exec.running.remove(t);
                t.onExecutor = false;
            }
            failTask(t, new Failure(Failure.CANCELLED, "java.util.concurrent.CancellationException", "task " + t.id
                    + " was cancelled by its client", null, leaderId, t.attempts));
        }
    }

    /** {@code replicate}: more copies of a finished value, made in the background by {@link Replication}. */
    private void onReplicate(Client c, io.quiver.core.protocol.Message.ReplicateRequest req) {
        Block b = blocks.get(req.ref());
        String why = b == null || b.owner != c ? "ref " + req.ref() + " is not a live ref of this client (closed, or"
                + " never made)" : b.failure != null ? "ref " + req.ref() + " failed: " + b.failure.message()
                : !b.done ? "ref " + req.ref() + " is not done yet; wait for it (Ref.result()) before replicating it"
                : null;
        if (why != null) {
            reply(c, new RequestFailed(req.reqId(), RequestFailed.INVALID, "replicate: " + why, null, 0, 0));
            return;
        }
        if (req.copies() == Integer.MAX_VALUE) {
            b.broadcast = true;
        } else {
            b.wantCopies = Math.max(b.wantCopies, req.copies());
        }
        b.pinnable = true;
        viewDirty = true;
        replication.wake();
        reply(c, new io.quiver.core.protocol.Message.Ack(req.reqId())); // copies show in Ref.locations() as they land
    }

    /** A client holds again a ref this leader knows: it hears its state again. */
    private void resumeKnown(Client c, Block b) {
        if (!b.ownerHolds) {
            b.ownerHolds = true;
            c.owned.add(b);
        }
        if (b.done) {
            c.outDone.add(b.refDone(null));
        }
    }

    /** Adds a task whose outputs are new blocks owned by {@code owner} (null: a job's internal task). */
    Task addTask(RefId id, List<RefId> outs, Fn fn, List<Arg> args, Client owner) {
        return addTask(id, outs, fn, args, owner, true);
    }

    /**
     * {@code adoptNow} false: the caller adopts once its other tasks exist (a job's map outputs found
     * done must not be dropped before the reducers that read them are added).
     */
    private Task addTask(RefId id, List<RefId> outs, Fn fn, List<Arg> args, Client owner, boolean adoptNow) {
        Task t = new Task(id, outs, fn, args, owner);
        fn.tasks++;
        observed.tasksSubmitted++;
        tasks.put(id, t);
        if (resumingNow != null) {
            t.heldBack = true;
            resumingNow.resumed.add(t);
        }
        for (RefId out : outs) {
            Block b = new Block(out, t, owner);
            putBlock(b);
            t.outputs.add(b);
        }
        linkInputs(t);
        if (adoptNow) {
            adoptOrSettle(t);
        }
        return t;
    }

    /** Finds the task's inputs (adopting what an executor reported and no client claims) and readies it. */
    private void linkInputs(Task t) {
        Failure inputFailure = null;
        t.missingInput = false;
        t.unresolved = 0;
        for (Arg a : t.args) {
            if (!a.isRef()) {
                continue;
            }
            Block in = blocks.get(a.ref());
            if (in == null) {
                in = adoptInput(a.ref());
            }
            if (in == null) {
                // The others are still linked, so that what they need stays (a late executor may bring
                // this one during recovery; relink() then links them all again, in order).
                if (!t.missingInput) {
                    inputFailure = new Failure(Failure.LOST, "io.quiver.DataLostException", "input " + a.ref()
                            + " is unknown to the leader: it was released (closed) or belongs to another"
                            + " cluster; keep the input Ref open until the tasks that read it are submitted",
                            null, leaderId, 0);
                }
                t.missingInput = true;
                continue;
            }
            t.inputs.add(in);
            in.consumers++;
            in.waiters.add(t);
            if (t.missingInput) {
                continue;
            }
            if (in.failure != null) {
                inputFailure = in.failure;
            } else if (!in.done) {
                t.unresolved++;
            }
        }
        t.inputFailure = inputFailure;
        if (inputFailure != null) {
            t.unresolved = Integer.MAX_VALUE / 2; // never ready; settled below or by the caller
        } else if (t.unresolved == 0) {
            ready.add(t);
        } else {
            dispatch.tryAhead(t);
        }
    }

    /**
     * A parked task looks for its inputs again: an executor that registered late may have
     * brought the one that was unknown. Returns whether it found them all.
     */
    private boolean relink(Task t) {
        for (Block in : t.inputs) {
            while (in.waiters.remove(t)) {
                in.consumers--;
            }
        }
        t.inputs.clear();
        linkInputs(t);
        return !t.missingInput;
    }

    /**
     * Adopts what executors reported of the task (what exists is adopted even if an input is gone:
     * a result needs no inputs any more); otherwise a task that cannot run fails, or, during
     * recovery, waits for a late executor that may bring its result.
     */
    private void adoptOrSettle(Task t) {
        if (adopt(t) || t.inputFailure == null || t.finished()) {
            return;
        }
        if (recovering != null && t.missingInput) {
            parked.put(t, t.inputFailure);
        } else {
            failTask(t, t.inputFailure);
        }
    }

    /**
     * Adopts what executors reported of a task this leader has just learnt: its outputs (it is
     * done), its failure, or its run in progress. Returns false if there is nothing to adopt.
     */
    private boolean adopt(Task t) {
        if (unclaimed.isEmpty() || t.finished()) {
            return false;
        }
        // Every output is there, or at least one is and those missing are needed by nobody (dropped
        // once their readers were done).
        boolean any = false;
        boolean enough = true;
        for (Block out : t.outputs) {
            boolean there = unclaimed.hasBlock(out.ref) || !out.locations.isEmpty();
            any |= there;
            enough &= there || (out.consumers == 0 && !out.ownerHolds);
        }
        if (any && enough) {
            List<List<Unclaimed.Copy>> copies = new ArrayList<>(t.outs.size());
            for (RefId out : t.outs) {
                List<Unclaimed.Copy> c = unclaimed.takeBlock(out);
                copies.add(c == null ? List.of() : c);
            }
            unclaimed.takeActive(t.id);
            Dispatch.unassign(t);
            ready.remove(t);
            for (int i = 0; i < t.outputs.size(); i++) {
                Block b = t.outputs.get(i);
                for (Unclaimed.Copy copy : copies.get(i)) {
                    b.locations.add(copy.holder());
                    b.size = copy.size();
                }
            }
            finish(t, null);
            return true;
        }
        Failure f = unclaimed.takeFailure(t.id);
        if (f != null) {
            unclaimed.takeActive(t.id);
            failTask(t, f);
            return true;
        }
        Exec on = unclaimed.takeActive(t.id);
        if (on != null) {
            Dispatch.unassign(t);
            ready.remove(t);
            runsOn(t, on);
            return true;
        }
        return false;
    }

    /**
     * An input no client re-sent (a job's result the client had already gathered, say) that an
     * executor still holds: it serves as it is, without lineage, for as long as tasks read it.
     */
    private Block adoptInput(RefId ref) {
        List<Unclaimed.Copy> copies = unclaimed.takeBlock(ref);
        if (copies == null) {
            return null;
        }
        Block b = new Block(ref, null, null);
        for (Unclaimed.Copy copy : copies) {
            b.locations.add(copy.holder());
            b.size = copy.size();
        }
        b.done = true;
        putBlock(b);
        return b;
    }

    /** The task is already running on {@code e} (it said so when it registered). */
    private static void runsOn(Task t, Exec e) {
        t.state = TaskState.LAUNCHED;
        t.exec = e;
        t.onExecutor = true;
        e.running.add(t);
    }

    private void onRelease(Client c, List<RefId> refs) {
        for (RefId ref : refs) {
            Block b = blocks.get(ref);
            if (b == null || b.owner != c || !b.ownerHolds) {
                continue;
            }
            b.ownerHolds = false;
            c.owned.remove(b);
            Task t = b.producer;
            if (t != null && (t.state == TaskState.WAITING || t.state == TaskState.QUEUED) && !stillWanted(t)
                    && !t.heldBack) {
                cancel(t); // (one held back is settled when its client's resume ends)
            }
            maybeDrop(b);
        }
    }

    private static boolean stillWanted(Task t) {
        for (Block out : t.outputs) {
            if (out.ownerHolds || out.consumers > 0) {
                return true;
            }
        }
        return false;
    }

    /** Removes a task that has not been launched and that nobody needs. */
    private void cancel(Task t) {
        Dispatch.unassign(t);
        ready.remove(t);
        t.state = TaskState.FAILED;
        for (Block out : t.outputs) {
            out.done = true;
            out.failure = new Failure(Failure.TASK, "io.quiver.QuiverException", "cancelled: released before it ran",
                    null, leaderId, 0);
        }
        releaseInputs(t);
    }

    /**
     * A client starts or ends re-sending what it holds. At the end, what it re-sent only as lineage
     * and nobody needs now (its readers were found done) is kept dormant, to be run only if a lost
     * result needs it; the rest is placed.
     */
    private void onResuming(Client c, boolean end) {
        if (!end) {
            c.resuming = true;
            return;
        }
        c.resuming = false;
        List<Task> resumed = c.resumed;
        c.resumed = new ArrayList<>();
        for (int i = resumed.size() - 1; i >= 0; i--) {
            Task t = resumed.get(i); // readers before their inputs: a dormant reader releases its inputs
            t.heldBack = false;
            if (t.finished() || t.state == TaskState.LAUNCHED) {
                continue;
            }
            if (!stillWanted(t)) {
                dormant(t);
                t.outputs.forEach(this::maybeDrop);
            } else {
                adopt(t); // again: an output that only a reader just made dormant needed may be missing
            }
        }
        for (Task t : resumed) {
            if (t.state == TaskState.WAITING && !t.missingInput && t.inputFailure == null) {
                if (t.unresolved == 0) {
                    ready.add(t);
                } else {
                    dispatch.tryAhead(t);
                }
            }
        }
    }

    /**
     * A task nobody needs now, kept as lineage: it counts as done with no copy anywhere, so a
     * lost result that reads it runs it again ({@link #recompute}); otherwise it never runs.
     */
    private void dormant(Task t) {
        Dispatch.unassign(t);
        ready.remove(t);
        t.state = TaskState.DONE;
        for (Block out : t.outputs) {
            out.done = true;
            out.locations.clear();
        }
        releaseInputs(t);
    }

    /** A resuming client's refs without lineage: adopt the copies executors hold. */
    private void onHeld(Client c, List<HeldRef> held) {
        for (HeldRef h : held) {
            Block known = blocks.get(h.ref());
            if (known != null) {
                if (known.owner == c) {
                    resumeKnown(c, known);
                }
                continue;
            }
            Block b = new Block(h.ref(), null, c);
            b.pinnable = true;
            b.broadcast = h.kind() == HeldRef.BROADCAST;
            b.size = h.size();
            putBlock(b);
            c.owned.add(b);
            viewDirty = true;
            List<Unclaimed.Copy> copies = unclaimed.takeBlock(h.ref());
            if (copies != null) {
                for (Unclaimed.Copy copy : copies) {
                    b.locations.add(copy.holder());
                }
            }
            for (String target : h.pendingTargets()) {
                Exec e = executors.get(target);
                if (e == null || !b.locations.contains(e)) {
                    b.expected.add(target);
                }
            }
            if (recovering != null) {
                // Executors may still register with their copies: decide when recovery ends.
                b.awaitingInventory = true;
                // Unregistered targets are dropped from expected then too.
                if (b.expected.isEmpty() && !b.locations.isEmpty()) {
                    settleHeld(b);
                }
            } else {
                b.expected.removeIf(id -> !executors.containsKey(id));
                settleHeld(b);
            }
        }
    }

    /** A held ref is done once its copies are known and no pending target remains; lost if none is left. */
    private void settleHeld(Block b) {
        b.awaitingInventory = false;
        if (b.done || !b.expected.isEmpty()) {
            return;
        }
        if (b.locations.isEmpty()) {
            failBlock(b, new Failure(Failure.LOST, "io.quiver.DataLostException", "no executor holds " + b.ref
                    + " after the leader change to " + leaderId + " (epoch " + epoch + "): every executor that had"
                    + " a copy is gone, and a scattered value has no lineage to recompute it; scatter it again,"
                    + " with Scatter.replicas(n) or broadcast() to survive executor loss", null, leaderId, 0));
            return;
        }
        scatterProgress(b);
    }

    private void onScatterRequest(Client c, ScatterRequest req) {
        Block known = blocks.get(req.ref());
        if (known != null) {
            if (known.owner == c && known.producer == null && !known.expected.isEmpty()) {
                // The same request again (its plan was lost with a connection): the same targets.
                List<io.quiver.core.protocol.Message.Peer> targets = new ArrayList<>();
                for (String id : known.expected) {
                    Exec e = executors.get(id);
                    if (e != null && e.live()) {
                        targets.add(e.peer());
                    }
                }
                reply(c, new ScatterPlan(req.reqId(), req.ref(), targets));
                return;
            }
            reply(c, new RequestFailed(req.reqId(), RequestFailed.INVALID, "ref " + req.ref() + " already exists",
                    null, 0, 0));
            return;
        }
        List<Exec> live = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.live()) {
                live.add(e);
            }
        }
        if (live.isEmpty()) {
            reply(c, new RequestFailed(req.reqId(), RequestFailed.UNAVAILABLE,
                    "no executors are registered with leader " + leaderId + "; start executors first", null, 0, 0));
            return;
        }
        List<Exec> targets = new ArrayList<>();
        Comparator<Exec> byRoom = Comparator.comparingLong(Exec::free).reversed()
                .thenComparingInt(Exec::load).thenComparing(e -> e.id);
        switch (req.mode()) {
            case ScatterRequest.BROADCAST -> targets.addAll(live);
            case ScatterRequest.ON -> {
                for (String id : req.on()) {
                    Exec e = executors.get(id);
                    if (e == null || !e.live()) {
                        reply(c, new RequestFailed(req.reqId(), RequestFailed.INVALID, "Scatter.on names executor '"
                                + id + "' which is not live; live executors: " + live.stream().map(x -> x.id).toList(),
                                id, 0, 0));
                        return;
                    }
                    if (!targets.contains(e)) {
                        targets.add(e);
                    }
                }
            }
            default -> {
                int n = Math.max(1, req.replicas());
                if (n > live.size()) {
                    reply(c, new RequestFailed(req.reqId(), RequestFailed.INVALID, "Scatter.replicas(" + n
                            + ") needs " + n + " executors but only " + live.size() + " are live", null, 0, 0));
                    return;
                }
                live.sort(byRoom);
                targets.addAll(live.subList(0, n));
            }
        }
        for (Exec e : targets) {
            if (e.free() < req.size()) {
                reply(c, new RequestFailed(req.reqId(), RequestFailed.INSUFFICIENT_MEMORY, String.format(
                        "scatter of %s does not fit on executor %s (%s limit, %s used, %s reserved, %s free);"
                                + " start executors with --memory of at least %s more, release refs you no longer"
                                + " need, or scatter %s",
                        mib(req.size()), e.id, mib(e.memoryLimit), mib(e.memoryUsed), mib(e.reserved),
                        mib(Math.max(0, e.free())), mib(req.size() - Math.max(0, e.free())),
                        req.mode() == ScatterRequest.BROADCAST ? "without broadcast" : "to fewer or other executors"),
                        e.id, Math.max(0, e.free()), req.size()));
                return;
            }
        }
        Block b = new Block(req.ref(), null, c);
        b.scatterReqSize = req.size();
        b.size = req.size();
        b.broadcast = req.mode() == ScatterRequest.BROADCAST;
        b.pinnable = true;
        if (req.mode() == ScatterRequest.ON) {
            b.pinnedOn = targets.stream().map(e -> e.id).toList();
        }
        for (Exec e : targets) {
            b.expected.add(e.id);
            e.reserved += req.size();
        }
        blocks.put(req.ref(), b);
        c.owned.add(b);
        viewDirty = true;
        reply(c, new ScatterPlan(req.reqId(), req.ref(), targets.stream().map(Exec::peer).toList()));
    }

    private static String mib(long bytes) {
        return bytes >= (1 << 20) ? (bytes >> 20) + " MiB" : bytes + " bytes";
    }

    private InfoReply info(long reqId) {
        List<ExecInfo> list = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.live()) {
                list.add(new ExecInfo(e.id, e.host, e.port, e.slots, e.memoryUsed, e.memoryLimit));
            }
        }
        return new InfoReply(reqId, leaderId, epoch, list);
    }

    // ------------------------------------------------------------------ dataset jobs

    /**
     * Adds a planned job's tasks: every stage at once, dependencies by ref, so independent stages
     * run concurrently and each stage starts as its inputs complete. Every ref is derived from the
     * job's id, so a job sent again (after a leader change) adopts the outputs that exist and
     * re-sends the state of the ones this leader already knows. Shuffle outputs belong to no client
     * and are dropped once consumed.
     */
    private void onJob(Client c, JobSubmitted job) {
        resumingNow = c.resuming ? c : null;
        try {
            addJob(c, job);
        } finally {
            resumingNow = null;
        }
    }

    private void addJob(Client c, JobSubmitted job) {
        PhysicalPlan plan = job.plan();
        Map<Integer, PersistedOutput> persistedByStage = new HashMap<>();
        for (PersistedOutput p : plan.persistedOutputs()) {
            persistedByStage.put(p.stageId(), p);
        }
        List<List<List<RefId>>> outputs = new ArrayList<>(plan.stages().size());
        List<RefId> results = List.of();
        List<RefId> persisted = new ArrayList<>();
        List<Integer> persistedNodes = new ArrayList<>();
        int nextRef = 0;
        boolean known = !jobs.add(job.job());
        List<Task> added = new ArrayList<>();
        Observed.Job progress = null;
        if (!known) {
            int n = plan.stages().size();
            String[] kinds = new String[n];
            int[] total = new int[n];
            for (Stage stage : plan.stages()) {
                kinds[stage.id()] = stage.kind().name();
                total[stage.id()] = stage.tasks().size();
            }
            progress = observed.jobStarted(job.job().toString(), c.id, kinds, total, plan.finalStage().id(),
                    nanoTime.getAsLong());
        }
        for (Stage stage : plan.stages()) {
            Fn fn = null;
            boolean owned = stage.kind() != Stage.Kind.SHUFFLE_MAP;
            PersistedOutput p = persistedByStage.get(stage.id());
            List<List<RefId>> stageOuts = new ArrayList<>(stage.tasks().size());
            for (io.quiver.planner.TaskSpec spec : stage.tasks()) {
                List<RefId> outs = new ArrayList<>(stage.outputsPerTask());
                for (int o = 0; o < stage.outputsPerTask(); o++) {
                    outs.add(JobRefs.ref(job.job(), nextRef++));
                }
                stageOuts.add(outs);
                if (known) {
                    Block b = blocks.get(outs.get(0));
                    if (b != null && b.owner == c) {
                        resumeKnown(c, b);
                    }
                    continue;
                }
                if (fn == null) {
                    fn = new Fn(nextFnId++, job.stageFunctions().get(stage.id()));
                    fns.put(fn.id, fn);
                }
                List<Arg> args = new ArrayList<>(spec.inputs().size());
                int shuffleBucket = -1;
                for (TaskInput in : spec.inputs()) {
                    if (in instanceof TaskInput.Inline inline) {
                        args.add(Arg.value(DefaultCodec.INSTANCE.toBytes(inline.value())));
                    } else if (in instanceof TaskInput.Pinned pinned) {
                        args.add(Arg.ref(pinned.ref()));
                    } else if (in instanceof TaskInput.ShuffleRead sr) {
                        args.add(Arg.ref(outputs.get(sr.stageId()).get(sr.mapTask()).get(0)));
                        // The task's own bucket; a one-to-one read (bucket 0 of a one-bucket output) says less.
                        shuffleBucket = Math.max(shuffleBucket, sr.bucket());
                    } else {
                        TaskInput.StageOutput so = (TaskInput.StageOutput) in;
                        args.add(Arg.ref(outputs.get(so.stageId()).get(so.partition()).get(so.output())));
                    }
                }
                Task t = addTask(outs.get(0), List.copyOf(outs), fn, args, owned ? c : null, false);
                t.shuffleBucket = shuffleBucket;
                t.job = progress;
                t.stage = stage.id();
                added.add(t);
                t.pinnedTo = spec.preferredExecutors();
                if (owned) {
                    c.owned.addAll(t.outputs);
                }
                if (p != null) {
                    for (Block b : t.outputs) {
                        b.pinnable = true;
                    }
                    viewDirty = true;
                }
            }
            outputs.add(stageOuts);
            if (p != null) {
                for (int i = 0; i < p.partitions(); i++) {
                    persisted.add(stageOuts.get(i).get(0));
                    persistedNodes.add(p.node());
                }
            }
            if (stage == plan.finalStage()) {
                results = stageOuts.stream().map(o -> o.get(0)).toList();
            }
        }
        if (!jobBlocks.containsKey(job.job())) {
            jobs.remove(job.job()); // it made no block (no task): nothing to find if it comes again
        }
        for (int i = added.size() - 1; i >= 0; i--) {
            // Readers first: a reduce task found done no longer needs its map outputs, so a map task
            // whose output for it was dropped (consumed) is adopted with the outputs that remain.
            adoptOrSettle(added.get(i));
        }
        for (int i = added.size() - 1; i >= 0; i--) {
            // A map task whose readers all turned out done has nothing left to do: it is not run again.
            Task t = added.get(i);
            if (!t.finished() && !t.heldBack && !stillWanted(t)) {
                dormant(t);
                t.outputs.forEach(this::maybeDrop);
            }
        }
        reply(c, new JobReply(job.reqId(), results, persisted, persistedNodes, ""));
    }

    // ------------------------------------------------------------------ executors

    private void onRegister(String id, Link link, Register r) {
        long now = nanoTime.getAsLong();
        Exec e = executors.get(id);
        if (e == null) {
            e = new Exec(id);
            executors.put(id, e);
            observed.event(now, "joined", "executor " + id + " joined (" + r.slots() + (r.slots() == 1 ? " slot, " : " slots, ")
                    + (r.memoryLimit() >> 20) + " MiB" + (r.inventory().isEmpty() ? "" : ", " + r.inventory().size()
                    + " blocks") + ")");
            log.info("executor {} registered with leader {} (epoch {}): {}:{}, {} slots, {} MiB, {} blocks, {} tasks"
                    + " running", id, leaderId, epoch, r.host(), r.port(), r.slots(), r.memoryLimit() >> 20,
                    r.inventory().size(), r.active().size());
        } else if (e.link != null && e.link != link) {
            e.link.close();
        }
        if (e.link != link) {
            // What went on the old link may not have arrived: send functions again, but those queued now.
            e.knownFns.clear();
            for (FnDef f : e.outFns) {
                e.knownFns.add(f.fnId());
            }
        }
        e.link = link;
        e.nodeGone = false;
        ExecutorNodeData nd = pendingNodeData.get(id);
        if (nd != null) {
            e.metricsPort = nd.metricsPort();
            e.leaving = nd.leaving();
        }
        e.host = r.host();
        e.port = r.port();
        e.slots = r.slots();
        e.memoryLimit = r.memoryLimit();
        e.memoryUsed = r.memoryUsed();
        viewDirty = true;

        Set<RefId> stored = new HashSet<>();
        Set<Task> producers = new LinkedHashSet<>();
        for (BlockInfo bi : r.inventory()) {
            stored.add(bi.ref());
            Block b = blocks.get(bi.ref());
            if (b == null) {
                unclaimed.block(bi.ref(), e, bi.size(), now);
            } else if (b.failure != null) {
                e.outDrops.add(bi.ref());
            } else {
                if (b.locations.add(e) && b.done && b.ownerHolds) {
                    b.owner.outDone.add(b.refDone(null)); // back in Ref.locations()
                }
                replication.stored(b, e);
                if (b.size < 0) {
                    b.size = bi.size();
                }
                if (b.expected.remove(e.id)) {
                    e.reserved -= b.scatterReqSize;
                }
                if (b.producer == null && !b.awaitingInventory) {
                    scatterProgress(b);
                } else if (b.producer != null) {
                    producers.add(b.producer);
                }
            }
        }
        adoptOutputs(producers);
        Set<RefId> active = new HashSet<>(r.active());
        for (RefId taskId : r.active()) {
            Task t = tasks.get(taskId);
            if (t == null) {
                unclaimed.active(taskId, e, now);
            } else if (t.state == TaskState.WAITING || t.state == TaskState.QUEUED) {
                recallAhead(t); // readers sent ahead to where it was queued must not wait there
                Dispatch.unassign(t);
                ready.remove(t);
                runsOn(t, e);
            }
        }
        for (TaskResult f : r.failed()) {
            if (f.failure().inputAbsent()) {
                forgetAbsentCopy(e, f.failure());
                continue; // not the task's own failure: an input was missing there; it runs again
            }
            Task t = tasks.get(f.task());
            if (t == null) {
                unclaimed.failure(f.task(), f.failure(), now);
            } else if (!t.finished() && (t.state != TaskState.LAUNCHED || t.exec == e)) {
                // Its outcome (not one queued elsewhere meanwhile: it would only throw again).
                failTask(t, withExecutor(f.failure(), e, t));
            }
        }
        // Tasks this leader had running there that the executor no longer has: they ended unseen.
        for (Task t : List.copyOf(e.running)) {
            if (!active.contains(t.id) && !t.outs.stream().allMatch(stored::contains) && t.state == TaskState.LAUNCHED) {
                requeue(t);
            }
        }
        if (!unclaimed.isEmpty()) {
            armOrphanSweep();
        }
        replication.wake(); // a newcomer gets the broadcasts it lacks
        if (recovering != null && recovering.remove(id) && recovering.isEmpty()) {
            endRecovery();
        }
    }

    /**
     * Known tasks whose outputs an executor reported are done (found, not recomputed) once every
     * output has a copy, or those without one are needed by nobody (dropped once read). Readers
     * are adopted before their producers: a map task whose consumed bucket was dropped is found
     * once the reader of that bucket is, so passes repeat, with the producers of what was adopted,
     * until one adopts nothing.
     */
    private void adoptOutputs(Set<Task> found) {
        boolean progress = true;
        while (progress && !found.isEmpty()) {
            progress = false;
            List<Task> upstream = new ArrayList<>();
            for (Iterator<Task> it = found.iterator(); it.hasNext(); ) {
                Task t = it.next();
                if (t.finished()) {
                    it.remove();
                } else if (outputsFound(t)) {
                    it.remove();
                    addProducers(t, upstream);
                    Dispatch.unassign(t);
                    ready.remove(t);
                    parked.remove(t);
                    finish(t, null);
                    progress = true;
                } else if (adopt(t)) { // outputs an executor reported before this leader knew the task
                    it.remove();
                    addProducers(t, upstream);
                    parked.remove(t);
                    progress = true;
                }
            }
            found.addAll(upstream);
        }
    }

    private static void addProducers(Task t, List<Task> into) {
        for (Block in : t.inputs) {
            if (in.producer != null && !in.producer.finished()) {
                into.add(in.producer);
            }
        }
    }

    private static boolean outputsFound(Task t) {
        boolean any = false;
        for (Block b : t.outputs) {
            if (b.locations.isEmpty() && (b.consumers > 0 || b.ownerHolds)) {
                return false;
            }
            any |= !b.locations.isEmpty();
        }
        return any;
    }

    private void onTaskResults(Exec e, TaskResults results) {
        long now = nanoTime.getAsLong();
        e.memoryUsed = results.memoryUsed();
        for (TaskResult r : results.results()) {
            Task t = tasks.get(r.task());
            if (t == null) {
                // From before this term, for a task no client has resumed yet.
                unclaimed.ended(r.task(), e);
                if (r.failure() != null) {
                    if (!r.failure().inputAbsent()) {
                        unclaimed.failure(r.task(), r.failure(), now);
                    }
                } else {
                    for (BlockInfo out : r.outputs()) {
                        unclaimed.block(out.ref(), e, out.size(), now);
                    }
                }
                armOrphanSweep();
                continue;
            }
            boolean ranHere = t.exec == e && t.onExecutor;
            if (ranHere) {
                observed.span(e.id, t.id.toString(), t.job == null ? "submit" : t.job.id + "/" + t.stage,
                        now - Math.max(0, r.nanos()), now, r.failure() == null);
                t.onExecutor = false;
                e.running.remove(t);
                // Recent task time; one outlier may at most double it, so a single slow task does not
                // make a loaded executor look idle-worthy for everything queued behind it.
                double sample = Math.min(Math.max(1_000, r.nanos()), 5 * e.avgTaskNanos + 1_000_000);
                e.avgTaskNanos = 0.8 * e.avgTaskNanos + 0.2 * sample;
            }
            if (r.failure() != null) {
                if (!ranHere || t.state != TaskState.LAUNCHED) {
                    continue; // stale: re-placed after a loss, cancelled, or already failed through an input
                }
                forgetAbsentCopy(e, r.failure());
                boolean holdersAway = inputHoldersAway(t);
                if (r.failure().inputAbsent() && (t.fetchRetries < MAX_FETCH_RETRIES || holdersAway)) {
                    // An input's holder is going away: run again once the input is back (Spark's FetchFailed).
                    // While every holder of an input is disconnected, within its grace, the try does not
                    // count: the holder comes back, or is lost and the input is recomputed.
                    if (!holdersAway) {
                        t.fetchRetries++;
                    }
                    requeue(t);
                    continue;
                }
                if (Failure.TASK.equals(r.failure().kind()) && t.retriesLeft > 0) {
                    // Submit.retries: user code threw; run it again at once.
                    t.retriesLeft--;
                    log.info("task {} threw on executor {} ({}); retrying, {} retries left", t.id, e.id,
                            r.failure().message(), t.retriesLeft);
                    requeue(t);
                    if (t.state == TaskState.WAITING && t.unresolved == 0) {
                        ready.add(t);
                    }
                    continue;
                }
                failTask(t, withExecutor(r.failure(), e, t));
                continue;
            }
            if (t.state == TaskState.DONE) {
                // A second copy (the task ran twice: before and after a leader change); keep it as a replica.
                for (int i = 0; i < t.outputs.size() && i < r.outputs().size(); i++) {
                    t.outputs.get(i).locations.add(e);
                }
                continue;
            }
            if (t.state == TaskState.FAILED) {
                for (BlockInfo out : r.outputs()) {
                    e.outDrops.add(out.ref());
                }
                continue;
            }
            // Done here: also when the leader had it elsewhere (adopted twice, or re-placed meanwhile).
            Dispatch.unassign(t);
            ready.remove(t);
            for (int i = 0; i < t.outputs.size(); i++) {
                Block b = t.outputs.get(i);
                BlockInfo info = i < r.outputs().size() ? r.outputs().get(i) : null;
                b.size = info == null ? -1 : info.size();
                b.bucketRows = info == null ? null : info.bucketRows();
                b.locations.add(e);
            }
            finish(t, t.outputs.size() == 1 ? r.inline() : null);
        }
    }

    /**
     * Whether a failed fetch of {@code t} says nothing against the copies it was given: an input
     * is held only by executors whose connection is down (within their grace), or is not done (it
     * was sent ahead, and failed because what it waited for there failed to fetch).
     */
    private static boolean inputHoldersAway(Task t) {
        for (Block in : t.inputs) {
            if (!in.done) {
                return true;
            }
            if (in.locations.isEmpty()) {
                continue;
            }
            boolean anyLive = false;
            for (Exec holder : in.locations) {
                anyLive |= holder.live();
            }
            if (!anyLive) {
                return true;
            }
        }
        return false;
    }

    private static Failure withExecutor(Failure f, Exec e, Task t) {
        String kind = f.inputAbsent() ? Failure.LOST : f.kind();
        return new Failure(kind, f.type(), f.message(), f.stack(), e.id, t.attempts + 1);
    }

    /** Marks a task done with the locations its outputs have; wakes its waiters and tells its owner. */
    private void finish(Task t, byte[] inline) {
        t.state = TaskState.DONE;
        observed.tasksFinished++;
        if (t.job != null) {
            observed.jobTask(t.job, t.stage, true, nanoTime.getAsLong());
        }
        for (Block b : t.outputs) {
            boolean wasDone = b.done;
            b.done = true;
            viewDirty |= b.pinnable;
            if (b.ownerHolds) {
                b.owner.outDone.add(b.refDone(inline));
            }
            if (wasDone) {
                continue; // a copy survived the loss that made t run again: its readers never waited for it
            }
            for (Task w : b.waiters) {
                if (w.state == TaskState.WAITING) {
                    if (--w.unresolved == 0) {
                        ready.add(w);
                    }
                } else if (!w.finished()) {
                    w.unresolved--;
                }
            }
        }
        releaseInputs(t);
        for (Block b : t.outputs) {
            maybeDrop(b);
        }
    }

    /**
     * {@code t} goes back to waiting: its readers sent ahead to where it was to run must not wait
     * there for a production that will not come. Those not launched yet come back (and their own
     * readers sent ahead with them); for one already launched, {@code t} runs there again.
     */
    private void recallAhead(Task t) {
        ArrayDeque<Task> work = new ArrayDeque<>();
        work.add(t);
        while (!work.isEmpty()) {
            Task p = work.poll();
            for (Block out : p.outputs) {
                for (Task w : out.waiters) {
                    if (!w.ahead || w.finished()) {
                        continue;
                    }
                    if (w.state == TaskState.QUEUED) {
                        Dispatch.unassign(w);
                        w.state = TaskState.WAITING;
                        work.add(w);
                    } else if (w.state == TaskState.LAUNCHED && w.exec != null && w.exec.alive) {
                        p.pinnedTo = List.of(w.exec.id);
                    }
                }
            }
        }
    }

    /** Puts a task back to waiting (it will be placed again), counting its inputs that are not there. */
    private void requeue(Task t) {
        if (t.missingInput) {
            // Adopted as running although an input was unknown: it cannot run anywhere else.
            failTask(t, new Failure(Failure.LOST, "io.quiver.DataLostException", "task " + t.id + " must run again"
                    + " but one of its inputs is unknown to leader " + leaderId + " (released, with no lineage left)",
                    null, leaderId, t.attempts));
            return;
        }
        Dispatch.unassign(t);
        t.state = TaskState.WAITING;
        recallAhead(t);
        t.attempts++;
        t.unresolved = 0;
        for (Block in : t.inputs) {
            if (!in.done) {
                t.unresolved++;
            }
        }
        if (t.unresolved == 0) {
            // Give the leader time to notice the loss behind a failed fetch before placing it again.
            timers.after(FETCH_RETRY_NANOS * Math.max(1, t.fetchRetries), new TaskRetry(t.id));
        }
    }

    private void onStoredBlocks(Exec e, StoredBlocks s) {
        e.memoryUsed = s.memoryUsed();
        for (BlockInfo info : s.stored()) {
            Block b = blocks.get(info.ref());
            if (b == null) {
                // Released meanwhile, or planned by an earlier leader for a client that has not
                // resumed yet: kept for it until the orphan time, then dropped.
                unclaimed.block(info.ref(), e, info.size(), nanoTime.getAsLong());
                armOrphanSweep();
                continue;
            }
            if (b.expected.remove(e.id)) {
                e.reserved -= b.scatterReqSize;
            }
            boolean added = b.locations.add(e);
            boolean copied = added && b.done;
            if (added && b.broadcast) {
                observed.broadcastBytes += Math.max(0, info.size());
            }
            replication.stored(b, e);
            if (copied && b.failure == null && b.ownerHolds) {
                b.owner.outDone.add(b.refDone(null)); // a copy made after it was done: Ref.locations() grows
            }
            if (b.size < 0) {
                b.size = info.size();
            }
            viewDirty |= b.pinnable;
            if (!b.awaitingInventory) {
                scatterProgress(b);
            }
        }
        for (BlockFailure f : s.failed()) {
            Block b = blocks.get(f.ref());
            if (b != null) {
                replication.failed(b, e, f.reason());
            }
            if (b != null && b.expected.remove(e.id)) {
                e.reserved -= b.scatterReqSize;
                failBlock(b, new Failure(Failure.LOST, "io.quiver.QuiverException", "storing " + f.ref() + " on "
                        + e.id + " failed: " + f.reason(), null, e.id, 1));
            }
        }
    }

    /** A scattered block is ready once every target has stored it. */
    private void scatterProgress(Block b) {
        if (b.producer != null || b.done || !b.expected.isEmpty()) {
            return;
        }
        if (b.locations.isEmpty()) {
            failBlock(b, new Failure(Failure.LOST, "io.quiver.DataLostException", "every target of the scatter of "
                    + b.ref + " was lost before storing it", null, leaderId, 0));
            return;
        }
        b.done = true;
        if (b.broadcast) {
            replication.wake(); // executors that joined while it streamed get it now
        }
        if (b.ownerHolds) {
            b.owner.outDone.add(b.refDone(null));
        }
        for (Task w : b.waiters) {
            if (w.state == TaskState.WAITING && --w.unresolved == 0) {
                ready.add(w);
            }
        }
        maybeDrop(b);
    }

    // ------------------------------------------------------------------ recovery after a leader change

    private void onTermStarted(List<String> expected) {
        observed.event(nanoTime.getAsLong(), "leader", "leader " + leaderId + " took over with epoch " + epoch
                + (expected.isEmpty() ? "" : "; waiting for " + expected.size() + " executors to re-register"));
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(executors.keySet());
        if (missing.isEmpty()) {
            endRecovery();
            return;
        }
        recovering = missing;
        timers.after(RECOVERY_NANOS, new RecoveryDeadline());
    }

    private void endRecovery() {
        recovering = null;
        parked.forEach((t, why) -> {
            if (!t.finished() && !relink(t)) {
                failTask(t, t.inputFailure);
            } else if (!t.finished() && t.inputFailure != null) {
                failTask(t, t.inputFailure);
            }
        });
        parked.clear();
        for (Block b : List.copyOf(blocks.values())) {
            if (b.producer == null && !b.done && b.failure == null) {
                b.expected.removeIf(id -> !executors.containsKey(id));
                settleHeld(b);
            }
        }
    }

    private void armOrphanSweep() {
        if (!orphanSweepArmed) {
            orphanSweepArmed = true;
            timers.after(ORPHAN_NANOS, new OrphanDeadline());
        }
    }

    private void sweepOrphans() {
        orphanSweepArmed = false;
        Map<Exec, List<RefId>> drops = unclaimed.expire(nanoTime.getAsLong(), ORPHAN_NANOS);
        drops.forEach((e, refs) -> {
            if (e.alive) {
                e.outDrops.addAll(refs);
            }
        });
        if (!unclaimed.isEmpty()) {
            armOrphanSweep();
        }
    }

    // ------------------------------------------------------------------ executor loss

    /** The executor is gone for good (its znode went, or the grace expired). */
    private void lose(Exec e, String why) {
        executors.remove(e.id);
        e.alive = false;
        viewDirty = true;
        if (e.link != null) {
            e.link.close(); // if it is alive after all, it registers again, as a new incarnation
        }
        if (recovering != null && recovering.remove(e.id) && recovering.isEmpty()) {
            endRecovery();
        }
        unclaimed.lost(e);
        replication.lost(e);
        pendingNodeData.remove(e.id);
        if (e.leaving) {
            log.info("executor {} left ({}); {} running and {} queued tasks run again elsewhere", e.id, why,
                    e.running.size(), e.queue.size());
            observed.event(nanoTime.getAsLong(), "left", "executor " + e.id + " left");
        } else {
            log.warn("executor {} lost ({}); {} running and {} queued tasks run again elsewhere", e.id, why,
                    e.running.size(), e.queue.size());
            observed.event(nanoTime.getAsLong(), "lost", "executor " + e.id + " lost: " + why + "; "
                    + e.running.size() + " running and " + e.queue.size() + " queued tasks run again elsewhere");
        }
        List<Task> reset = new ArrayList<>(e.queue);
        reset.addAll(e.running);
        List<Task> bad = new ArrayList<>();
        for (Task t : e.running) {
            t.crashedOn.add(e.id);
            if (t.crashedOn.size() >= MAX_CRASHES) {
                bad.add(t);
            }
        }
        e.queue.clear();
        e.running.clear();
        for (Task t : reset) {
            t.exec = null;
            t.onExecutor = false;
            t.ahead = false;
            t.state = TaskState.WAITING;
            t.attempts++;
        }
        // First take the executor out of every location, then decide: a task's outputs are then all
        // seen as lost together, and it is recomputed once, not failed for its second output.
        List<Block> orphaned = new ArrayList<>();
        List<Block> scatters = new ArrayList<>();
        for (Block b : blocks.values()) {
            if (b.locations.remove(e) && b.done && b.failure == null) {
                if (b.locations.isEmpty()) {
                    orphaned.add(b);
                } else if (b.ownerHolds) {
                    b.owner.outDone.add(b.refDone(null)); // Ref.locations() drops the lost executor
                }
            }
            if (b.expected.remove(e.id)) {
                scatters.add(b);
            }
        }
        scatters.forEach(this::scatterProgress);
        List<Block> failed = new ArrayList<>();
        for (Block b : orphaned) {
            Task p = b.producer;
            if (p == null) {
                failed.add(b);
            } else if ((b.ownerHolds || b.consumers > 0) && p.state == TaskState.DONE) {
                recompute(p, reset);
            }
        }
        for (Block b : failed) {
            failBlock(b, new Failure(Failure.LOST, "io.quiver.DataLostException", "every copy of " + b.ref
                    + " is gone: executor " + e.id + " held the only one (" + why + ") and a scattered value has no"
                    + " lineage to recompute it; scatter with Scatter.replicas(n) or broadcast() to survive executor"
                    + " loss", null, e.id, 0));
        }
        restricted.removeIf(Task::finished);
        for (Task t : List.copyOf(restricted)) {
            if (!anyAlive(t.restrictTo)) {
                failTask(t, noRestrictedExecutor(t));
            }
        }
        for (Task t : bad) {
            failTask(t, new Failure(Failure.TASK, "io.quiver.QuiverException", "task " + t.id + " was running on "
                    + "executors " + t.crashedOn + " when each of them died; it is marked bad and not tried again"
                    + " (it may be what kills them: check its memory use, native code and System.exit calls)",
                    null, e.id, t.attempts));
        }
        reschedule(reset);
    }

    /**
     * An executor ran a task and did not find an input the leader had placed there: that copy is
     * gone (dropped, or its producer there failed). Forget it; if it was the last copy, recompute
     * it from lineage, as an executor loss does, or fail its readers if it has none.
     */
    private void forgetAbsentCopy(Exec e, Failure f) {
        Block b = f.missing() == null ? null : blocks.get(f.missing());
        if (b == null || !b.locations.remove(e)) {
            return;
        }
        viewDirty = true;
        log.debug("executor {} no longer holds {}; {} other copies", e.id, b.ref, b.locations.size());
        if (!b.done || b.failure != null) {
            return;
        }
        if (!b.locations.isEmpty()) {
            if (b.ownerHolds) {
                b.owner.outDone.add(b.refDone(null)); // Ref.locations() drops that executor
            }
            return;
        }
        Task p = b.producer;
        if (p == null) {
            failBlock(b, new Failure(Failure.LOST, "io.quiver.DataLostException", "every copy of " + b.ref
                    + " is gone: executor " + e.id + " held the only one and no longer has it, and a scattered value"
                    + " has no lineage to recompute it; scatter with Scatter.replicas(n) or broadcast() to keep"
                    + " copies", null, e.id, 0));
        } else if ((b.ownerHolds || b.consumers > 0) && p.state == TaskState.DONE) {
            List<Task> reset = new ArrayList<>();
            recompute(p, reset);
            reschedule(reset);
        }
    }

    /** Tasks set back to waiting by a loss: those with every input there are ready again. */
    private void reschedule(List<Task> reset) {
        for (Task t : reset) {
            if (t.state != TaskState.WAITING) {
                continue;
            }
            t.unresolved = 0;
            boolean inputLost = false;
            for (Block in : t.inputs) {
                if (in.failure != null) {
                    inputLost = true;
                } else if (!in.done) {
                    t.unresolved++;
                }
            }
            if (!inputLost && t.unresolved == 0) {
                ready.add(t);
            }
        }
    }

    /**
     * Runs a finished task again because an output still needed was lost, and, where their
     * outputs are gone too (lost, or dropped once consumed), the producers of its own inputs:
     * lineage, as far as it is known. An input that was dropped and has no producer cannot be
     * rebuilt; the task then fails as lost.
     */
    private void recompute(Task p, List<Task> reset) {
        ArrayDeque<Task> work = new ArrayDeque<>();
        work.add(p);
        while (!work.isEmpty()) {
            Task t = work.poll();
            if (t.state != TaskState.DONE) {
                continue;
            }
            Failure f = t.missingInput ? t.inputFailure : null; // adopted done without an input it names
            for (Block in : t.inputs) {
                if (in.failure != null) {
                    f = in.failure;
                } else if (blocks.get(in.ref) != in && in.producer == null) {
                    f = new Failure(Failure.LOST, "io.quiver.DataLostException", "cannot recompute " + t.id
                            + ": its input " + in.ref + " was released and has no lineage (a scattered value)", null,
                            leaderId, t.attempts);
                }
            }
            if (f != null) {
                // It stays done, but the outputs that were lost cannot come back: their readers fail.
                for (Block out : t.outputs) {
                    if (out.locations.isEmpty()) {
                        failBlock(out, f);
                    }
                }
                continue;
            }
            t.state = TaskState.WAITING;
            t.attempts++;
            reset.add(t);
            revive(t);
            for (Block out : t.outputs) {
                if (out.locations.isEmpty()) {
                    out.done = false;
                    for (Task w : out.waiters) {
                        if (w.finished()) {
                            continue;
                        }
                        w.unresolved++;
                        if (w.state == TaskState.QUEUED) {
                            // Not launched yet: it must not be, before its input is back (no location to
                            // give). One sent ahead for another input is sent ahead again only if this
                            // one is produced on the same executor.
                            Dispatch.unassign(w);
                            w.state = TaskState.WAITING;
                            recallAhead(w); // its readers sent ahead there must not wait for it there
                        } else if (w.ahead && w.state == TaskState.LAUNCHED && w.exec != null && w.exec.alive) {
                            // It waits there for local production: produce it there again.
                            t.pinnedTo = List.of(w.exec.id);
                        }
                    }
                }
            }
            for (Block in : t.inputs) {
                if (blocks.get(in.ref) != in) {
                    // Dropped once consumed: its executors freed it, so it must be produced again.
                    revive(in.producer);
                }
                in.consumers++;
                in.waiters.add(t);
                if (in.producer != null && in.done && in.locations.isEmpty()) {
                    work.add(in.producer);
                }
            }
        }
    }

    /** Puts a task's dropped outputs back, and the task and its function if it was forgotten, so it can run again. */
    private void revive(Task t) {
        for (Block out : t.outputs) {
            if (blocks.putIfAbsent(out.ref, out) == null) {
                blockAdded(out.ref);
                out.locations.clear(); // its executors were told to drop it
            }
        }
        if (tasks.putIfAbsent(t.id, t) == null) {
            fns.putIfAbsent(t.fn.id, t.fn);
            t.fn.tasks++;
        }
    }

    // ------------------------------------------------------------------ failure and release

    private void failTask(Task t, Failure f) {
        if (!t.finished()) {
            log.warn("task {} failed{}{}: {}{}", t.id, f.executorId() == null ? "" : " on " + f.executorId(),
                    f.attempts() > 1 ? " (attempt " + f.attempts() + ")" : "", f.type(),
                    f.message() == null ? "" : ": " + f.message());
            observed.event(nanoTime.getAsLong(), "failed", "task " + t.id + " failed: " + f.type()
                    + (f.message() == null ? "" : ": " + f.message()));
        }
        ArrayDeque<Task> work = new ArrayDeque<>();
        work.add(t);
        while (!work.isEmpty()) {
            Task x = work.poll();
            if (x.finished()) {
                continue;
            }
            if (x.state == TaskState.QUEUED) {
                x.exec.queue.remove(x);
            } else if (x.state == TaskState.WAITING) {
                ready.remove(x);
            }
            x.state = TaskState.FAILED;
            observed.tasksFailed++;
            if (x.job != null) {
                observed.jobTask(x.job, x.stage, false, nanoTime.getAsLong());
            }
            releaseInputs(x);
            for (Block out : x.outputs) {
                out.done = true;
                out.failure = f;
                if (out.ownerHolds) {
                    out.owner.outDone.add(out.refDone(null));
                }
                work.addAll(out.waiters);
            }
        }
    }

    private void failBlock(Block b, Failure f) {
        if (b.failure != null) {
            return;
        }
        for (String id : b.expected) {
            Exec e = executors.get(id);
            if (e != null) {
                e.reserved -= b.scatterReqSize;
            }
        }
        b.expected.clear();
        b.done = true;
        b.failure = f;
        b.awaitingInventory = false;
        if (b.ownerHolds) {
            b.owner.outDone.add(b.refDone(null));
        }
        for (Task w : List.copyOf(b.waiters)) {
            failTask(w, f);
        }
    }

    private void releaseInputs(Task t) {
        for (Block in : t.inputs) {
            while (in.waiters.remove(t)) {
                in.consumers--;
            }
            Task p = in.producer;
            if (p != null && (p.state == TaskState.WAITING || p.state == TaskState.QUEUED) && !stillWanted(p)
                    && !p.heldBack) {
                // Its reader was found done (adopted after a leader change): it need not run now, but
                // stays lineage in case that reader's result is lost.
                dormant(p);
                p.outputs.forEach(this::maybeDrop);
            }
            maybeDrop(in);
        }
    }

    private void putBlock(Block b) {
        if (blocks.put(b.ref, b) == null) {
            blockAdded(b.ref);
        }
    }

    private void blockAdded(RefId ref) {
        RefId job = JobRefs.jobOf(ref);
        if (job != null) {
            jobBlocks.computeIfAbsent(job, j -> new int[1])[0]++;
        }
    }

    private void blockGone(RefId ref) {
        RefId job = JobRefs.jobOf(ref);
        int[] n = job == null ? null : jobBlocks.get(job);
        if (n != null && --n[0] == 0) {
            jobBlocks.remove(job);
            jobs.remove(job);
        }
    }

    /** Drops a block that no ref and no pending task needs any more. */
    private void maybeDrop(Block b) {
        if (b.ownerHolds || b.consumers > 0 || !b.done) {
            return;
        }
        if (blocks.remove(b.ref) == null) {
            return;
        }
        blockGone(b.ref);
        viewDirty |= b.pinnable;
        if (b.owner != null) {
            b.owner.owned.remove(b);
        }
        for (Exec e : b.locations) {
            e.outDrops.add(b.ref);
        }
        replication.forget(b);
        for (String id : b.expected) {
            Exec e = executors.get(id);
            if (e != null) {
                e.reserved -= b.scatterReqSize;
            }
        }
        Task t = b.producer;
        if (t != null && t.outputs.stream().noneMatch(o -> blocks.get(o.ref) == o)) {
            tasks.remove(t.id);
            if (!t.restrictTo.isEmpty()) {
                restricted.remove(t);
            }
            // Forgotten: it must not hold a place in an executor's lookahead (its result, if any
            // still comes, is for nobody).
            Dispatch.unassign(t);
            if (--t.fn.tasks == 0) {
                fns.remove(t.fn.id);
                if (t.owner != null) {
                    t.owner.fnsById.values().remove(t.fn);
                }
                for (Exec e : executors.values()) {
                    if (e.knownFns.remove(t.fn.id)) {
                        e.outDropFns.add(t.fn.id);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ the outbox

    private void flush() {
        for (Exec e : executors.values()) {
            if (e.link == null) {
                e.outLaunches.clear(); // their tasks are taken back when it registers again, or is lost
                e.outFns.forEach(f -> e.knownFns.remove(f.fnId())); // never sent
                e.outFns.clear();
                e.outCopies.clear();
                e.outCancels.clear(); // it registers again without them, or is lost
                continue;
            }
            if (!e.outCancels.isEmpty()) {
                e.link.send(new io.quiver.core.protocol.Message.CancelTasks(epoch, List.copyOf(e.outCancels)));
                e.outCancels.clear();
            }
            // Drops first: a function dropped and launched again in one batch must end up defined.
            if (!e.outDrops.isEmpty() || !e.outDropFns.isEmpty()) {
                e.link.send(new Drop(epoch, List.copyOf(e.outDrops), List.copyOf(e.outDropFns)));
                e.outDrops.clear();
                e.outDropFns.clear();
            }
            if (!e.outLaunches.isEmpty() || !e.outFns.isEmpty()) {
                e.link.send(new Launch(epoch, List.copyOf(e.outFns), List.copyOf(e.outLaunches)));
                e.outLaunches.clear();
                e.outFns.clear();
            }
            if (!e.outCopies.isEmpty()) {
                e.link.send(new Replicate(epoch, List.copyOf(e.outCopies)));
                e.outCopies.clear();
            }
        }
        for (Client c : clients.values()) {
            if (!c.outDone.isEmpty()) {
                if (c.link != null) {
                    c.link.send(new RefsDone(List.copyOf(c.outDone)));
                }
                c.outDone.clear();
            }
        }
    }

    private void publishView() {
        viewDirty = false;
        List<String> live = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.live()) {
                live.add(e.id);
            }
        }
        Map<RefId, ClusterView.RefLocation> refs = new HashMap<>();
        for (Block b : blocks.values()) {
            if (b.pinnable && b.failure == null && !b.locations.isEmpty()) {
                Set<String> holders = new HashSet<>();
                for (Exec e : b.locations) {
                    holders.add(e.id);
                }
                refs.put(b.ref, new ClusterView.RefLocation(new TreeSet<>(holders), b.broadcast));
            }
        }
        view = new ClusterView(live, refs);
    }

    // ------------------------------------------------------------------ views for tests and status

    /**
     * An immutable copy of what the status page shows. On the loop only; the coordinator takes one
     * when an HTTP reader asked for it, at most a few times a second, so serving costs the loop
     * one copy per period however many readers there are.
     */
    public ClusterSnapshot snapshot(long nowMillis) {
        long now = nanoTime.getAsLong();
        List<ClusterSnapshot.ExecutorRow> execs = new ArrayList<>(executors.size());
        int running = 0;
        int queued = ready.size();
        Map<Observed.Job, int[]> runningByStage = new java.util.IdentityHashMap<>();
        for (Exec e : executors.values()) {
            execs.add(new ClusterSnapshot.ExecutorRow(e.id, e.host, e.port, e.metricsPort, e.live(), e.slots, e.memoryUsed,
                    e.memoryLimit, e.reserved, e.running.size(), e.queue.size()));
            running += e.running.size();
            queued += e.queue.size();
            for (Task t : e.running) {
                if (t.job != null && t.stage >= 0 && t.stage < t.job.total.length) {
                    runningByStage.computeIfAbsent(t.job, j -> new int[j.total.length])[t.stage]++;
                }
            }
        }
        List<ClusterSnapshot.ValueRow> values = new ArrayList<>();
        for (Block b : blocks.values()) {
            if (b.producer == null && b.failure == null) {
                List<String> holders = new ArrayList<>(b.locations.size());
                for (Exec e : b.locations) {
                    holders.add(e.id);
                }
                values.add(new ClusterSnapshot.ValueRow(b.ref.toString(), b.broadcast, b.size, holders, b.done));
            }
        }
        values.sort(Comparator.comparing(ClusterSnapshot.ValueRow::ref));
        return new ClusterSnapshot(leaderId, epoch, nowMillis, recovering != null, observed.tasksSubmitted,
                observed.tasksFinished, observed.tasksFailed, observed.broadcastBytes, running, queued, execs, values,
                observed.jobRows(now, nowMillis, runningByStage), observed.spans(now, nowMillis),
                observed.events(now, nowMillis));
    }

    public int liveExecutors() {
        int n = 0;
        for (Exec e : executors.values()) {
            n += e.live() ? 1 : 0;
        }
        return n;
    }

    /** Dataset jobs this leader still keeps blocks of (for tests: a finished, released job is forgotten). */
    public int jobCount() {
        return jobs.size();
    }

    public int blockCount() {
        return blocks.size();
    }

    public int taskCount() {
        return tasks.size();
    }

    /** Whether the leader is still waiting for executors to re-register after a leader change. */
    public boolean recovering() {
        return recovering != null;
    }
}
