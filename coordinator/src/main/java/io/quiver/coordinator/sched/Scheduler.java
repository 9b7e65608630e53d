package io.quiver.coordinator.sched;

import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.coordinator.sched.Model.Task;
import io.quiver.coordinator.sched.Model.TaskState;
import io.quiver.coordinator.sched.SchedulerEvent.*;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.planner.ClusterView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The leader's scheduler: a facade over parts that each own one concern, in the manner of Kafka's
 * QuorumController and its control managers:
 * <ul>
 *   <li>{@link ExecutorManager}: who is registered, on which connection, and when one is lost;
 *   <li>{@link BlockManager}: who holds which value, who still needs it, and dropping it when
 *       nobody does;
 *   <li>{@link TaskGraph}: tasks and their lineage: finishing, failing, requeueing, recomputing;
 *   <li>{@link JobManager}: a planned dataset job becomes tasks;
 *   <li>{@link Admission}: the clients and what they ask for (submits, scatters, releases, cancels);
 *   <li>{@link Recovery}: rebuilding from executors' inventories and clients' resumes after a
 *       leader change;
 *   <li>{@link Dispatch} (placement, with {@link Placement}'s pure functions, and stealing) and
 *       {@link Replication} (broadcast copies to newcomers), run after each batch;
 *   <li>{@link Outbox}: what leaves after a batch, one message of each kind per peer, stamped with
 *       this leader's epoch, and the published {@link ClusterView}.
 * </ul>
 * {@link #handle} applies one {@link SchedulerEvent}, routing it to the part that owns it; what
 * crosses parts (an executor's loss or registration) is applied here. {@link #afterBatch} then
 * places and launches work and sends every peer's batched messages once.
 *
 * <p>Confined to the scheduler loop, with every part: post events, never call from other threads.
 * The parts reach each other through the fields here, and change each other's state only through
 * their methods.
 */
public final class Scheduler {

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

    final String leaderId;
    final long epoch;
    private final LongSupplier nanoTime;
    final Timers timers;
    final Observed observed = new Observed();

    final Outbox outbox;
    final ExecutorManager executors;
    final BlockManager blocks;
    final TaskGraph tasks;
    final Replication replication;
    final Dispatch dispatch;
    final Recovery recovery;
    final Admission admission;
    final JobManager jobs;
    /** ZooKeeper is suspended: this leader may be deposed already, so it starts nothing new. */
    private boolean suspended;

    public Scheduler(String leaderId, long epoch, LongSupplier nanoTime, Timers timers) {
        this.leaderId = leaderId;
        this.epoch = epoch;
        this.nanoTime = nanoTime;
        this.timers = timers;
        this.outbox = new Outbox(epoch);
        this.executors = new ExecutorManager(this);
        this.blocks = new BlockManager(this);
        this.tasks = new TaskGraph(this);
        this.replication = new Replication(executors.map(), blocks.all());
        this.dispatch = new Dispatch(executors.map(), tasks.ready);
        this.recovery = new Recovery(this);
        this.admission = new Admission(this);
        this.jobs = new JobManager(this);
    }

    private static long millis(String property, long defaultMillis) {
        return TimeUnit.MILLISECONDS.toNanos(Long.getLong(property, defaultMillis));
    }

    long now() {
        return nanoTime.getAsLong();
    }

    // ------------------------------------------------------------------ events

    /**
     * The client of a message that is not a Submit: a resuming client's re-sent tasks, which came in
     * the Submit frames before it, are all here now and are adopted first.
     */
    private Model.Client resent(String client) {
        Model.Client c = admission.client(client);
        admission.adoptResent(c);
        return c;
    }

    /** Applies one event. */
    public void handle(SchedulerEvent event) {
        if (event instanceof TasksSubmitted e) {
            admission.onSubmit(admission.client(e.client()), e.fns(), e.tasks());
        } else if (event instanceof TasksFinished e) {
            Exec x = executors.on(e.executor(), e.link());
            if (x != null) {
                tasks.finished(x, e.results());
            }
        } else if (event instanceof RefsReleased e) {
            admission.onRelease(resent(e.client()), e.refs());
        } else if (event instanceof TasksCancelled e) {
            admission.onCancel(resent(e.client()), e.refs());
        } else if (event instanceof ReplicateRequested e) {
            admission.onReplicate(resent(e.client()), e.request());
        } else if (event instanceof ClientConnected e) {
            admission.onClientConnected(e.client(), e.link());
        } else if (event instanceof ExecutorRegistered e) {
            recovery.registered(executors.register(e.executor(), e.link(), e.register()), e.register());
        } else if (event instanceof BlocksStored e) {
            Exec x = executors.on(e.executor(), e.link());
            if (x != null) {
                admission.onStoredBlocks(x, e.stored());
            }
        } else if (event instanceof ExecutorStatus e) {
            Exec x = executors.on(e.executor(), e.link());
            if (x != null) {
                x.memoryUsed = e.status().memoryUsed();
            }
        } else if (event instanceof ScatterRequested e) {
            admission.onScatterRequest(resent(e.client()), e.request());
        } else if (event instanceof InfoRequested e) {
            admission.reply(resent(e.client()), executors.info(e.reqId()));
        } else if (event instanceof JobSubmitted e) {
            jobs.onJob(resent(e.client()), e);
        } else if (event instanceof ClientResuming e) {
            admission.onResuming(resent(e.client()), e.end());
        } else if (event instanceof RefsHeld e) {
            admission.onHeld(resent(e.client()), e.refs());
        } else if (event instanceof RefsPinned e) {
            admission.onPinned(resent(e.client()), e.pins());
        } else if (event instanceof ClientLinkClosed e) {
            admission.onClientLinkClosed(e.client(), e.link());
        } else if (event instanceof ClientGraceExpired e) {
            admission.graceExpired(e);
        } else if (event instanceof ClientLeft e) {
            admission.left(e.client());
        } else if (event instanceof ExecutorLinkClosed e) {
            executors.linkClosed(e.executor(), e.link());
        } else if (event instanceof ExecutorGraceExpired e) {
            String why = executors.graceExpired(e);
            if (why != null) {
                lose(executors.get(e.executor()), why);
            }
        } else if (event instanceof ExecutorNodeGone e) {
            if (executors.nodeGone(e.executor())) {
                lose(executors.get(e.executor()), "its connection dropped and its ZooKeeper node went away");
            }
        } else if (event instanceof ExecutorLeaving e) {
            executors.leaving(e.executor());
        } else if (event instanceof ExecutorNodeData e) {
            executors.nodeData(e);
        } else if (event instanceof ExecutorNodeSeen e) {
            executors.nodeSeen(e.executor());
        } else if (event instanceof TaskRetry e) {
            tasks.retry(e.task());
        } else if (event instanceof TermStarted e) {
            recovery.onTermStarted(e.expectedExecutors());
        } else if (event instanceof RecoveryDeadline) {
            recovery.deadline();
        } else if (event instanceof OrphanDeadline) {
            recovery.sweepOrphans();
        } else if (event instanceof ZooKeeperSuspended) {
            suspended = true;
        } else if (event instanceof ZooKeeperReconnected) {
            suspended = false;
        } else if (event instanceof Noted e) {
            observed.event(e.atNanos(), e.kind(), e.text());
        } else {
            throw new IllegalArgumentException("unknown scheduler event " + event);
        }
    }

    /** Places ready tasks, launches up to each executor's lookahead, and flushes every outbox. */
    public void afterBatch() {
        if (!recovery.active() && !suspended) {
            dispatch.run();
            replication.run();
        }
        // Before the flush: a client told its persist is done plans its next job against this view.
        outbox.publishViewIfChanged(executors.all(), blocks.all());
        outbox.flush(executors.all(), admission.all());
    }

    /**
     * The live executors and where every pinnable ref lives (scattered, broadcast, persisted), as of
     * the last batch. Safe to read from any thread: jobs are planned against it off the loop.
     */
    public ClusterView view() {
        return outbox.view();
    }

    // ------------------------------------------------------------------ executor loss

    /**
     * The executor is gone for good (its znode went, or the grace expired): what it ran and had
     * queued is placed again, and what only it held is recomputed from lineage, or, for a value
     * without lineage, fails its readers as lost.
     */
    private void lose(Exec e, String why) {
        executors.remove(e, why);
        recovery.lost(e);
        replication.lost(e);
        List<Task> reset = new ArrayList<>(e.queue);
        reset.addAll(e.running);
        List<Task> bad = new ArrayList<>();
        for (Task t : e.running) {
            List<String> crashedOn = new ArrayList<>(t.crashedOn());
            crashedOn.add(e.id);
            t.extras().crashedOn = List.copyOf(crashedOn);
            if (t.crashedOn().size() >= MAX_CRASHES) {
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
            t.extras().attempts++;
        }
        // First take the executor out of every location, then decide: a task's outputs are then all
        // seen as lost together, and it is recomputed once, not failed for its second output.
        List<Block> orphaned = new ArrayList<>();
        List<Block> scatters = new ArrayList<>();
        for (Block b : blocks.all()) {
            if (b.removeLocation(e) && b.done && b.failure() == null) {
                if (b.locations().isEmpty()) {
                    orphaned.add(b);
                } else if (b.ownerHolds) {
                    b.owner.outDone.add(b.refDone(null)); // Ref.locations() drops the lost executor
                }
            }
            if (b.expected().remove(e.id)) {
                scatters.add(b);
            }
        }
        scatters.forEach(admission::scatterProgress);
        List<Block> failed = new ArrayList<>();
        for (Block b : orphaned) {
            Task p = b.producer;
            if (p == null) {
                failed.add(b);
            } else if ((b.ownerHolds || b.consumers > 0) && p.state == TaskState.DONE) {
                tasks.recompute(p, reset);
            }
        }
        for (Block b : failed) {
            tasks.failBlock(b, new Failure(Failure.LOST, "io.quiver.DataLostException", "every copy of " + b.ref
                    + " is gone: executor " + e.id + " held the only one (" + why + ") and a scattered value has no"
                    + " lineage to recompute it; scatter with Scatter.replicas(n) or broadcast() to survive executor"
                    + " loss", null, e.id, 0));
        }
        tasks.failUnplaceable();
        for (Task t : bad) {
            tasks.failTask(t, new Failure(Failure.TASK, "io.quiver.QuiverException", "task " + t.id + " was running on "
                    + "executors " + t.crashedOn() + " when each of them died; it is marked bad and not tried again"
                    + " (it may be what kills them: check its memory use, native code and System.exit calls)",
                    null, e.id, t.attempts()));
        }
        tasks.reschedule(reset);
    }

    // ------------------------------------------------------------------ views for tests and status

    /**
     * An immutable copy of what the status page shows. On the loop only; the coordinator takes one
     * when an HTTP reader asked for it, at most a few times a second, so serving costs the loop
     * one copy per period however many readers there are.
     */
    public ClusterSnapshot snapshot(long nowMillis) {
        long now = nanoTime.getAsLong();
        List<ClusterSnapshot.ExecutorRow> execs = new ArrayList<>(executors.all().size());
        int running = 0;
        int queued = tasks.ready.size();
        Map<Observed.Job, int[]> runningByStage = new java.util.IdentityHashMap<>();
        for (Exec e : executors.all()) {
            execs.add(new ClusterSnapshot.ExecutorRow(e.id, e.host, e.port, e.metricsPort, e.live(), e.slots, e.memoryUsed,
                    e.memoryLimit, e.reserved, e.running.size(), e.queue.size()));
            running += e.running.size();
            queued += e.queue.size();
            for (Task t : e.running) {
                if (t.job() != null && t.stage() >= 0 && t.stage() < t.job().total.length) {
                    runningByStage.computeIfAbsent(t.job(), j -> new int[j.total.length])[t.stage()]++;
                }
            }
        }
        List<ClusterSnapshot.ValueRow> values = blocks.valueRows();
        return new ClusterSnapshot(leaderId, epoch, nowMillis, recovery.active(), observed.tasksSubmitted,
                observed.tasksFinished, observed.tasksFailed, observed.broadcastBytes, running, queued, execs, values,
                observed.jobRows(now, nowMillis, runningByStage), observed.spans(now, nowMillis),
                observed.events(now, nowMillis));
    }

    public int liveExecutors() {
        int n = 0;
        for (Exec e : executors.all()) {
            n += e.live() ? 1 : 0;
        }
        return n;
    }

    /** Dataset jobs this leader still keeps blocks of (for tests: a finished, released job is forgotten). */
    public int jobCount() {
        return blocks.jobCount();
    }

    public int blockCount() {
        return blocks.count();
    }

    public int taskCount() {
        return tasks.count();
    }

    /** Whether the leader is still waiting for executors to re-register after a leader change. */
    public boolean recovering() {
        return recovery.active();
    }
}
