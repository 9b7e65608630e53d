package io.quiver.coordinator.sim;

import io.quiver.RefId;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Drop;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.InfoReply;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RequestFailed;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The invariants, and the ground truth they are checked against, kept by the test and never taken
 * from the scheduler: which executor ran what and when, which copies exist, what each executor has
 * seen. Components report what happens as it happens; {@link Simulation} checks after every event
 * that nothing was violated. Confined to the simulation thread.
 */
final class SimInvariants {
    enum Invariant {
        LIVENESS("every ref ends with a value or an error, and none waits forever"),
        CLEAR_ERROR("every error names its type and says what happened"),
        ERROR_JUSTIFIED("a ref fails only if its lineage throws, or its data is lost for good"),
        NO_RECOMPUTE("no finished result is computed again unless its copies were lost with an executor"),
        FENCING("no command with a stale epoch is executed"),
        ONE_LEADER_PER_EPOCH("one leader per epoch, and each command carries its sender's epoch"),
        VALUES("a ref's value is the deterministic function of its inputs"),
        SCHEDULER_THREW("the scheduler never throws");

        final String meaning;

        Invariant(String meaning) {
            this.meaning = meaning;
        }
    }

    record Violation(Invariant invariant, long atNanos, String detail) {
        @Override
        public String toString() {
            return invariant + " at " + Simulation.time(atNanos) + ": " + detail;
        }
    }

    /** When each leader last heard of each executor's copy of each block ("leader/executor/ref"). */
    private final Map<String, Long> reported = new HashMap<>();
    /** When each leader sent each executor a Drop of each block ("leader/executor/ref"). */
    private final Map<String, Long> dropsSent = new HashMap<>();

    /** What the test knows about one task (named by its first output). */
    static final class TaskTruth {
        final List<RefId> outs;
        int executions;
        int results;
        /** When the run that produced the latest result was launched. */
        long lastResultLaunchedAt = -1;
        /** When a Drop removed the last live copy of its result (-1: never, or a copy is live). */
        long droppedAt = -1;
        int crashesWhileActive;

        TaskTruth(List<RefId> outs) {
            this.outs = outs;
        }
    }

    /** Executors lost for longer than this count as lost to the leader (its executor grace). */
    static final long EXECUTOR_GRACE_NANOS = 2_000_000_000L;
    /**
     * How long a leader may take to learn of a loss (the grace, or a crashed executor's ZooKeeper
     * session): a result dropped that long after a loss may need recomputing for it.
     */
    static final long LOSS_DETECTION_NANOS = 6_000_000_000L;

    private final Simulation sim;
    final List<Violation> violations = new ArrayList<>();
    final Map<Long, SimCoordinator> leaders = new HashMap<>();
    private final Map<SimExecutor, Long> newestSeen = new HashMap<>();
    final Map<RefId, TaskTruth> tasks = new HashMap<>();
    private final Map<RefId, RefId> producer = new HashMap<>();
    private final Map<String, Long> lastLoss = new HashMap<>();
    private final Map<String, Long> registrations = new HashMap<>();
    private long lastLossAnywhere = Long.MIN_VALUE;
    private final Map<RefId, Set<String>> scatterCopies = new HashMap<>();
    int executions;
    int refusedCommands;
    int staleExecuted;
    int recomputed;

    SimInvariants(Simulation sim) {
        this.sim = sim;
    }

    private void violate(Invariant inv, String detail) {
        violations.add(new Violation(inv, sim.now(), detail));
        sim.trace(() -> "VIOLATION " + inv + ": " + detail);
    }

    // ------------------------------------------------------------------ leaders and fencing

    void leaderElected(SimCoordinator c) {
        SimCoordinator other = leaders.putIfAbsent(c.epoch, c);
        if (other != null) {
            violate(Invariant.ONE_LEADER_PER_EPOCH, c.name() + " elected with epoch " + c.epoch + ", which "
                    + other.name() + " already holds");
        }
    }

    /** After every event: at most one coordinator believes it leads and is current. */
    void checkLeaders(List<SimCoordinator> coordinators) {
        int leading = 0;
        for (SimCoordinator c : coordinators) {
            leading += c.state == SimCoordinator.State.LEADING ? 1 : 0;
        }
        if (leading > 1) {
            violate(Invariant.ONE_LEADER_PER_EPOCH, leading + " coordinators lead at once");
        }
    }

    /** A leader received a peer's message: the blocks it reports are known to that leader from now. */
    void leaderHeard(SimCoordinator leader, SimLink.Peer from, Message m) {
        List<RefId> refs = new ArrayList<>();
        if (m instanceof Message.Register r) {
            r.inventory().forEach(b -> refs.add(b.ref()));
        } else if (m instanceof Message.StoredBlocks s) {
            s.stored().forEach(b -> refs.add(b.ref()));
        } else if (m instanceof Message.TaskResults t) {
            t.results().forEach(r -> r.outputs().forEach(b -> refs.add(b.ref())));
        }
        for (RefId ref : refs) {
            reported.put(leader.name() + "/" + from.id() + "/" + ref, sim.now());
        }
    }

    void leaderSent(SimCoordinator from, SimLink.Peer to, Message m) {
        if (m instanceof Drop d) {
            for (RefId ref : d.refs()) {
                dropsSent.put(from.name() + "/" + to.id() + "/" + ref, sim.now());
            }
        }
        long epoch = m instanceof Launch l ? l.epoch() : m instanceof Drop d ? d.epoch() : from.epoch;
        if (epoch != from.epoch) {
            violate(Invariant.ONE_LEADER_PER_EPOCH, from.name() + " sent " + m.getClass().getSimpleName() + " to "
                    + to.id() + " stamped with epoch " + epoch);
        }
    }

    void infoReply(SimCoordinator from, InfoReply info) {
        if (info.epoch() != from.epoch || !info.leaderId().equals(from.name())) {
            violate(Invariant.ONE_LEADER_PER_EPOCH, from.name() + " answered an info request as " + info.leaderId()
                    + " of epoch " + info.epoch());
        }
    }

    /** The executor learned of {@code epoch} (its /leader watch, or a handshake). */
    void observed(SimExecutor e, long epoch) {
        newestSeen.merge(e, epoch, Math::max);
    }

    void refused(SimExecutor e, SimCoordinator from, long epoch, String what) {
        refusedCommands++;
        sim.trace(() -> e.id() + " refuses a " + what + " from " + from.name() + ": epoch " + epoch
                + " is older than " + e.fence);
    }

    void commandExecuted(SimExecutor e, SimCoordinator from, long epoch, String what) {
        long newest = newestSeen.getOrDefault(e, 0L);
        if (epoch < newest) {
            staleExecuted++;
            violate(Invariant.FENCING, e.id() + " executed a " + what + " of epoch " + epoch + " from " + from.name()
                    + " after it had seen epoch " + newest);
        }
        newestSeen.merge(e, epoch, Math::max);
    }

    // ------------------------------------------------------------------ losses

    void executorCrashed(SimExecutor e) {
        loss(e, sim.now());
        for (SimExecutor.Run r : e.active) {
            truth(r.task, r.launch.outs()).crashesWhileActive++;
        }
    }

    void loss(SimExecutor e, long at) {
        lastLoss.merge(e.id(), at, Math::max);
        lastLossAnywhere = Math.max(lastLossAnywhere, at);
    }

    void reconnected(SimExecutor e, long disconnectedAt) {
        if (sim.now() - disconnectedAt >= EXECUTOR_GRACE_NANOS) {
            loss(e, disconnectedAt + EXECUTOR_GRACE_NANOS);
        }
    }

    /** Whether a leader may rightly have given up on {@code e} after {@code since}. */
    private boolean lostSince(SimExecutor e, long since) {
        if (!e.alive || lastLoss.getOrDefault(e.id(), Long.MIN_VALUE) >= since) {
            return true;
        }
        return e.link == null && e.disconnectedAt > 0 && sim.now() - e.disconnectedAt >= EXECUTOR_GRACE_NANOS;
    }

    // ------------------------------------------------------------------ task runs

    private TaskTruth truth(RefId task, List<RefId> outs) {
        TaskTruth t = tasks.get(task);
        if (t == null) {
            t = new TaskTruth(List.copyOf(outs));
            tasks.put(task, t);
            for (RefId out : outs) {
                producer.put(out, task);
            }
        }
        return t;
    }

    void executionStarted(SimExecutor on, SimExecutor.Run run) {
        executions++;
        TaskTruth t = truth(run.task, run.launch.outs());
        t.executions++;
        if (lostSince(on, run.launchedAt)) {
            return; // launched before the leader gave up on this executor: it may run, but nothing counts on it
        }
        if (run.from.deposedAt >= 0 && run.launchedAt >= run.from.deposedAt) {
            // A deposed leader does not know it (paused, partitioned): an executor that has not heard of
            // the new epoch yet runs what it sends. Wasted work, not a lost or wrong result; FENCING
            // checks that no executor that knows the new epoch runs it.
            return;
        }
        String dup = null;
        for (SimExecutor y : sim.liveExecutors()) {
            for (SimExecutor.Run other : y.active) {
                if (other != run && other.task.equals(run.task) && !lostSince(y, other.launchedAt)) {
                    dup = "while it is still " + (other.started ? "running" : "queued") + " on " + y.id()
                            + " (launched by " + other.from.name() + " at " + Simulation.time(other.launchedAt) + ")";
                }
            }
        }
        if (dup == null && t.results > 0) {
            SimExecutor holder = liveHolder(run.task, t);
            SimExecutor known = knownHolder(run.task, t, run);
            if (known != null) {
                dup = "although its result is on " + known.id();
            } else if (holder == null && t.droppedAt >= 0 && lastLossAnywhere < t.droppedAt - LOSS_DETECTION_NANOS) {
                dup = "after its result was dropped at " + Simulation.time(t.droppedAt)
                        + " with no executor lost since (or shortly before)";
            }
        }
        if (dup != null) {
            recomputed++;
            violate(Invariant.NO_RECOMPUTE, "task " + run.task + " runs again (run " + t.executions + ") on " + on.id()
                    + " for " + run.from.name() + " " + dup);
        }
    }

    void executionFinished(SimExecutor on, SimExecutor.Run run, boolean threw) {
        TaskTruth t = truth(run.task, run.launch.outs());
        t.results++;
        t.lastResultLaunchedAt = run.launchedAt;
        t.droppedAt = -1;
    }

    void dropped(SimExecutor on, SimCoordinator by, RefId ref) {
        RefId task = producer.get(ref);
        TaskTruth t = task == null ? null : tasks.get(task);
        if (t != null && t.results > 0 && t.droppedAt < 0 && liveHolder(task, t) == null) {
            t.droppedAt = sim.now();
        }
    }

    /**
     * A live executor with the task's result that the leader launching {@code run} knew of: it was
     * never lost, or it registered again with that leader (with its inventory) after its last loss
     * and before the leader sent the run.
     */
    private SimExecutor knownHolder(RefId task, TaskTruth t, SimExecutor.Run run) {
        for (SimExecutor y : sim.liveExecutors()) {
            boolean failed = failedThere(y, task);
            boolean all = y.store.keySet().containsAll(t.outs) || failed;
            if (!all || toldToDrop(run.from, y, t.outs, run.launchedAt)
                    || (!failed && !reportedTo(run.from, y, t.outs, run.launchedAt))) {
                continue;
            }
            Long loss = lastLoss.get(y.id());
            boolean disconnected = y.link == null && y.disconnectedAt > 0
                    && sim.now() - y.disconnectedAt >= EXECUTOR_GRACE_NANOS;
            Long registered = registrations.get(run.from.name() + "/" + y.id());
            // Known only to a leader it registered with (its inventory), after its last loss: a new
            // leader that it has not reached yet (its ZooKeeper node was gone when the term began, so
            // recovery did not wait for it) cannot know what it holds.
            boolean known = registered != null && run.launchedAt > registered
                    && (loss == null ? !disconnected : registered > loss);
            if (known) {
                return y;
            }
        }
        return null;
    }

    /**
     * Whether {@code leader} had sent {@code y} a Drop of one of these blocks, after {@code y}
     * stored it and before {@code before}: the Drop may still be on its way, but for that leader
     * the copy is gone, and running the task again is what it must do if it needs the block.
     */
    private boolean toldToDrop(SimCoordinator leader, SimExecutor y, List<RefId> outs, long before) {
        for (RefId out : outs) {
            Long sent = dropsSent.get(leader.name() + "/" + y.id() + "/" + out);
            Long stored = y.storedAt.get(out);
            if (sent != null && sent <= before && (stored == null || sent >= stored)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether {@code y} had told {@code leader} of its copy of every one of these blocks before
     * {@code before} (a copy still being reported cannot count against the leader).
     */
    private boolean reportedTo(SimCoordinator leader, SimExecutor y, List<RefId> outs, long before) {
        for (RefId out : outs) {
            Long heard = reported.get(leader.name() + "/" + y.id() + "/" + out);
            Long stored = y.storedAt.get(out);
            if (heard == null || heard > before || (stored != null && heard < stored)) {
                return false;
            }
        }
        return true;
    }

    /** A coordinator handled an executor's Register (with its inventory). */
    void registered(SimCoordinator leader, String executor) {
        registrations.put(leader.name() + "/" + executor, sim.now());
    }

    /**
     * The task's outcome there is a failure. A failed fetch or a missing input is not one: it says only that an input
     * could not be read then, and a leader rightly runs the task again.
     */
    private static boolean failedThere(SimExecutor y, RefId task) {
        io.quiver.core.protocol.Message.TaskResult r = y.failedResults.get(task);
        return r != null && !r.failure().inputAbsent();
    }

    private SimExecutor liveHolder(RefId task, TaskTruth t) {
        for (SimExecutor y : sim.liveExecutors()) {
            if (y.store.keySet().containsAll(t.outs) || failedThere(y, task)) {
                return y;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ scatters

    void scatterPlanned(RefId ref, List<String> targets) {
        scatterCopies.computeIfAbsent(ref, r -> new HashSet<>()).addAll(targets);
    }

    void scatterStored(SimExecutor on, RefId ref) {
        scatterCopies.computeIfAbsent(ref, r -> new HashSet<>()).add(on.id());
    }

    /**
     * Every executor that was to hold it, or held it, is dead or was lost to the leader for a while
     * (its session expired): a leader may rightly have declared the data lost for good then.
     */
    /** The user released the scattered value and no live executor holds it: nothing can bring it back. */
    private boolean releasedAndDropped(SimClient c, RefId scatter) {
        SimClient.ClientRef r = c.refs().get(scatter);
        if (r == null || r.held) {
            return false;
        }
        return sim.liveExecutors().stream().noneMatch(e -> e.store.containsKey(scatter));
    }

    private boolean lostForGood(RefId scatter) {
        for (String id : scatterCopies.getOrDefault(scatter, Set.of())) {
            SimExecutor e = sim.executor(id);
            if (e != null && e.alive && !lastLoss.containsKey(id)) {
                return false;
            }
        }
        return true;
    }

    void scatterRefused(SimClient c, SimClient.ClientRef r, RequestFailed f) {
        boolean fair = f.kind() == RequestFailed.UNAVAILABLE || f.kind() == RequestFailed.INSUFFICIENT_MEMORY
                || f.message().contains("replicas(");
        if (!fair) {
            violate(Invariant.ERROR_JUSTIFIED, c.id() + "'s scatter of " + r.ref + " was refused: " + f.message());
        }
    }

    void jobRefused(SimClient c, SimClient.ClientJob j, RequestFailed f) {
        violate(Invariant.ERROR_JUSTIFIED, c.id() + "'s job " + j.job + " was refused: " + f.message());
    }

    // ------------------------------------------------------------------ outcomes

    void jobPlanned(SimClient c, SimClient.ClientJob j) {
        if (!j.results.equals(j.expect.results())) {
            violate(Invariant.VALUES, c.id() + "'s job " + j.job + " names results " + j.results + ", expected "
                    + j.expect.results());
        }
    }

    void jobResultsChanged(SimClient c, SimClient.ClientJob j, List<RefId> now) {
        violate(Invariant.VALUES, c.id() + "'s job " + j.job + " sent again named results " + now + ", first "
                + j.results);
    }

    void refDone(SimClient c, SimClient.ClientRef r, RefDone d, Long value) {
        Long expected = c.expected(r.ref);
        Failure f = d.failure();
        if (f == null) {
            if (expected == null) {
                violate(Invariant.VALUES, c.id() + "'s " + r + " completed with a value, but its lineage throws");
            } else if (value != null && !value.equals(expected)) {
                violate(Invariant.VALUES, c.id() + "'s " + r + " = " + Long.toHexString(value) + ", expected "
                        + Long.toHexString(expected));
            }
            return;
        }
        if (isBlank(f.type()) || isBlank(f.message())) {
            violate(Invariant.CLEAR_ERROR, c.id() + "'s " + r + " failed without a type or message: " + f);
        }
        if (expected == null && Failure.TASK.equals(f.kind())) {
            return;
        }
        Set<RefId> scatters = new HashSet<>();
        Set<RefId> lineage = new HashSet<>();
        c.lineage(r.ref, scatters, lineage);
        for (RefId s : scatters) {
            if ((lostForGood(s) || releasedAndDropped(c, s)) && Failure.LOST.equals(f.kind())) {
                return; // DataLostException: every copy is gone
            }
        }
        for (RefId task : lineage) {
            TaskTruth t = tasks.get(task);
            if (t != null && t.crashesWhileActive >= 3) {
                return; // a task that killed its executors three times fails as bad
            }
        }
        violate(Invariant.ERROR_JUSTIFIED, c.id() + "'s " + r + " failed, but " + (expected == null
                ? "with " + f.kind() + " instead of the task's own failure" : "its value exists or can be computed")
                + ": " + f.type() + ": " + f.message());
    }

    void doneAgain(SimClient c, SimClient.ClientRef r, RefDone d, Long value) {
        if (r.value != null && value != null && !r.value.equals(value)) {
            violate(Invariant.VALUES, c.id() + "'s " + r + " completed again with another value");
        }
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }

    void schedulerThrew(SimCoordinator c, String during, Throwable e) {
        java.io.StringWriter w = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(w));
        String stack = w.toString().lines().limit(8).reduce((a, b) -> a + "\n    " + b).orElse("");
        violate(Invariant.SCHEDULER_THREW, c.name() + " threw during " + during + ": " + stack);
    }

    // ------------------------------------------------------------------ the end

    /** After quiescence: nothing a client holds is still waiting. */
    void checkQuiescent(List<SimClient> clients, List<SimExecutor> executors) {
        for (SimClient c : clients) {
            List<String> waiting = c.waiting();
            if (waiting.isEmpty()) {
                continue;
            }
            StringBuilder sb = new StringBuilder();
            sb.append(c.id()).append(" still waits for ").append(waiting.size()).append(" after quiescence:");
            int shown = 0;
            for (String w : waiting) {
                if (shown++ == 8) {
                    sb.append("\n    ...");
                    break;
                }
                sb.append("\n    ").append(w);
                for (SimExecutor e : executors) {
                    if (!e.alive) {
                        continue;
                    }
                    RefId ref = refOf(c, w);
                    String d = ref == null ? null : e.describeTask(ref);
                    if (d != null) {
                        sb.append("; ").append(d);
                    }
                }
            }
            for (SimExecutor e : executors) {
                if (e.alive) {
                    e.describeActive().stream().limit(6).forEach(line -> sb.append("\n    active: ").append(line));
                }
            }
            violate(Invariant.LIVENESS, sb.toString());
        }
    }

    private static RefId refOf(SimClient c, String waiting) {
        for (SimClient.ClientRef r : c.refs.values()) {
            if (waiting.startsWith(r.toString() + " ")) {
                return r.ref;
            }
        }
        return null;
    }

    Map<Invariant, Integer> counts() {
        Map<Invariant, Integer> m = new LinkedHashMap<>();
        for (Violation v : violations) {
            m.merge(v.invariant(), 1, Integer::sum);
        }
        return m;
    }
}
