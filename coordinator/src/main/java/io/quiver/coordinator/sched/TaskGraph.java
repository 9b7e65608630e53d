package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Client;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.coordinator.sched.Model.Fn;
import io.quiver.coordinator.sched.Model.Task;
import io.quiver.coordinator.sched.Model.TaskState;
import io.quiver.coordinator.sched.SchedulerEvent.TaskRetry;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The task graph and its lineage: every task this leader knows with its inputs and outputs, the
 * functions they run, and the ready queue {@link Dispatch} places from. It finishes, fails,
 * requeues and cancels tasks, and when a result still needed is lost it runs its producer again
 * and, where their outputs are gone too, the producers of that producer's inputs (Spark's
 * resubmitted map stage). A task that cannot run (an input lost for good, its executors gone, or
 * three executors dead under it) fails with its dependents, each with a clear error.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it.
 */
final class TaskGraph {
    private static final Logger log = LoggerFactory.getLogger(TaskGraph.class);

    private final Scheduler s;
    private final RefTable<Task> tasks = new RefTable<>(t -> t.id);
    final Map<Long, Fn> fns = new HashMap<>();
    /** Ready to place: every input done. {@link Dispatch} takes from it. */
    final ArrayDeque<Task> ready = new ArrayDeque<>();
    /** Unfinished tasks with {@code Submit.on} restrictions: they fail when all of their executors are lost. */
    private final Set<Task> restricted = new LinkedHashSet<>();
    /** Function ids carry the epoch: an executor's cache from an earlier leader can never match. */
    long nextFnId;

    TaskGraph(Scheduler s) {
        this.s = s;
        this.nextFnId = (s.epoch << 32) + 1;
    }

    Task get(RefId id) {
        return tasks.get(id);
    }

    int count() {
        return tasks.size();
    }

    /** A new function from a client or a job stage, under an id of this leader's. */
    Fn newFn(byte[] bytes) {
        Fn fn = new Fn(nextFnId++, bytes);
        fns.put(fn.id, fn);
        return fn;
    }

    /** A {@link TaskRetry} came: the task is placed again if it still waits with every input there. */
    void retry(RefId id) {
        Task t = tasks.get(id);
        if (t != null && t.state == TaskState.WAITING && t.unresolved == 0 && !ready.contains(t)) {
            makeReady(t);
        }
    }

    /** {@code Submit.on} without {@code allowOthers}: it fails if none of those executors is left. */
    void restrict(Task t) {
        restricted.add(t);
        if (!s.executors.anyAlive(t.restrictTo())) {
            failTask(t, noRestrictedExecutor(t));
        }
    }

    /** After a loss: restricted tasks whose executors are all gone fail. */
    void failUnplaceable() {
        restricted.removeIf(Task::finished);
        for (Task t : List.copyOf(restricted)) {
            if (!s.executors.anyAlive(t.restrictTo())) {
                failTask(t, noRestrictedExecutor(t));
            }
        }
    }

    /**
     * Forgets a task none of whose outputs is known any more: it must not hold a place in an
     * executor's lookahead (its result, if one still comes, is for nobody), and its function goes
     * with its last task.
     */
    void forget(Task t) {
        tasks.remove(t.id);
        if (!t.restrictTo().isEmpty()) {
            restricted.remove(t);
        }
        Dispatch.unassign(t);
        if (--t.fn.tasks == 0) {
            fns.remove(t.fn.id);
            if (t.owner != null && t.fn.clientId >= 0) {
                t.owner.fnsById.remove(t.fn.clientId, t.fn); // by key: a scan of the values was O(functions)
            }
            for (Exec e : s.executors.all()) {
                if (e.knownFns.remove(t.fn.id)) {
                    e.outDropFns.add(t.fn.id);
                }
            }
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
    Task addTask(RefId id, List<RefId> outs, Fn fn, List<Arg> args, Client owner, boolean adoptNow) {
        Task t = new Task(id, fn, args, owner);
        fn.tasks++;
        s.observed.tasksSubmitted++;
        tasks.put(t);
        if (s.admission.resumingNow() != null) {
            t.heldBack = true;
            s.admission.resumingNow().resumed.add(t);
        }
        List<Block> outputs = new ArrayList<>(outs.size());
        for (RefId out : outs) {
            outputs.add(new Block(out, t, owner));
        }
        t.outputs(outputs);
        outputs.forEach(s.blocks::put);
        linkInputs(t);
        if (adoptNow) {
            adoptOrSettle(t);
        }
        return t;
    }

    /**
     * A shuffle dependency: a leader-side task whose inputs are a map stage's outputs ({@code
     * mapArgs}, in map order) and whose one output {@code ref} the stage's readers read in their
     * stead ({@link ShuffleInputs}). It is not counted as a submitted task: it is never placed.
     */
    Task addShuffleDep(RefId ref, Fn fn, List<Arg> mapArgs) {
        Task t = new Task(ref, fn, mapArgs, null);
        t.extras().shuffle = new ShuffleInputs(t);
        fn.tasks++;
        tasks.put(t);
        if (s.admission.resumingNow() != null) {
            t.heldBack = true;
            s.admission.resumingNow().resumed.add(t);
        }
        Block b = new Block(ref, t, null);
        s.blocks.put(b);
        t.outputs(List.of(b));
        linkInputs(t);
        return t;
    }

    /**
     * Every input of {@code t} is there: a task goes to the ready queue; a shuffle dependency
     * completes at once, on the leader, and wakes its readers.
     */
    void makeReady(Task t) {
        if (t.shuffle() == null) {
            ready.add(t);
            return;
        }
        if (t.state != TaskState.WAITING || t.unresolved != 0 || t.missingInput || t.inputFailure() != null) {
            return;
        }
        t.shuffle().invalidate();
        finish(t, null);
    }

    /** Finds the task's inputs (adopting what an executor reported and no client claims) and readies it. */
    private void linkInputs(Task t) {
        Failure inputFailure = null;
        t.missingInput = false;
        t.unresolved = 0;
        List<Block> inputs = new ArrayList<>(0);
        for (Arg a : t.args) {
            if (!a.isRef()) {
                continue;
            }
            Block in = s.blocks.get(a.ref());
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
                            null, s.leaderId, 0);
                }
                t.missingInput = true;
                continue;
            }
            inputs.add(in);
            in.consumers++;
            in.addWaiter(t);
            if (t.missingInput) {
                continue;
            }
            if (in.failure() != null) {
                inputFailure = in.failure();
            } else if (!in.done) {
                t.unresolved++;
            }
        }
        t.inputs = List.copyOf(inputs); // compact: one or two inputs take no array
        t.inputFailure(inputFailure);
        if (inputFailure != null) {
            t.unresolved = Integer.MAX_VALUE / 2; // never ready; settled below or by the caller
        } else if (t.unresolved == 0) {
            makeReady(t);
        } else if (t.shuffle() == null) {
            s.dispatch.tryAhead(t);
        }
    }

    /**
     * A parked task looks for its inputs again: an executor that registered late may have
     * brought the one that was unknown. Returns whether it found them all.
     */
    boolean relink(Task t) {
        for (Block in : t.inputs) {
            while (in.removeWaiter(t)) {
                in.consumers--;
            }
        }
        t.inputs = List.of();
        linkInputs(t);
        return !t.missingInput;
    }

    /**
     * Adopts what executors reported of the task (what exists is adopted even if an input is gone:
     * a result needs no inputs any more); otherwise a task that cannot run fails, or, during
     * recovery, waits for a late executor that may bring its result.
     */
    void adoptOrSettle(Task t) {
        if (adopt(t) || t.inputFailure() == null || t.finished()) {
            return;
        }
        if (s.recovery.active() && t.missingInput) {
            s.recovery.park(t, t.inputFailure());
        } else {
            failTask(t, t.inputFailure());
        }
    }

    /**
     * Adopts what executors reported of a task this leader has just learnt: its outputs (it is
     * done), its failure, or its run in progress. Returns false if there is nothing to adopt.
     */
    boolean adopt(Task t) {
        if (s.recovery.unclaimed.isEmpty() || t.finished() || t.shuffle() != null) {
            return false;
        }
        // Every output is there, or at least one is and those missing are needed by nobody (dropped
        // once their readers were done).
        boolean any = false;
        boolean enough = true;
        for (Block out : t.outputs()) {
            boolean there = s.recovery.unclaimed.hasBlock(out.ref) || !out.locations().isEmpty();
            any |= there;
            enough &= there || (out.consumers == 0 && !out.ownerHolds);
        }
        if (any && enough) {
            List<List<Unclaimed.Copy>> copies = new ArrayList<>(t.outputs().size());
            for (Block out : t.outputs()) {
                List<Unclaimed.Copy> c = s.recovery.unclaimed.takeBlock(out.ref);
                copies.add(c == null ? List.of() : c);
            }
            s.recovery.unclaimed.takeActive(t.id);
            Dispatch.unassign(t);
            ready.remove(t);
            List<Block> outputs = t.outputs();
            for (int i = 0; i < outputs.size(); i++) {
                Block b = outputs.get(i);
                for (Unclaimed.Copy copy : copies.get(i)) {
                    b.addLocation(copy.holder());
                    b.size = copy.size();
                    if (copy.bucketRows() != null) {
                        b.bucketRows = copy.bucketRows();
                    }
                }
            }
            finish(t, null);
            return true;
        }
        Failure f = s.recovery.unclaimed.takeFailure(t.id);
        if (f != null) {
            s.recovery.unclaimed.takeActive(t.id);
            failTask(t, f);
            return true;
        }
        Exec on = s.recovery.unclaimed.takeActive(t.id);
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
        List<Unclaimed.Copy> copies = s.recovery.unclaimed.takeBlock(ref);
        if (copies == null) {
            return null;
        }
        Block b = new Block(ref, null, null);
        for (Unclaimed.Copy copy : copies) {
            b.addLocation(copy.holder());
            b.size = copy.size();
            if (copy.bucketRows() != null) {
                b.bucketRows = copy.bucketRows();
            }
        }
        b.done = true;
        s.blocks.put(b);
        return b;
    }

    /** The task is already running on {@code e} (it said so when it registered). */
    static void runsOn(Task t, Exec e) {
        t.state = TaskState.LAUNCHED;
        t.exec = e;
        t.onExecutor = true;
        e.running.add(t);
    }

    static boolean stillWanted(Task t) {
        for (Block out : t.outputs()) {
            if (out.ownerHolds || out.consumers > 0) {
                return true;
            }
        }
        return false;
    }

    /** Removes a task that has not been launched and that nobody needs. */
    void cancel(Task t) {
        Dispatch.unassign(t);
        ready.remove(t);
        t.state = TaskState.FAILED;
        for (Block out : t.outputs()) {
            out.done = true;
            out.extras().failure = new Failure(Failure.TASK, "io.quiver.QuiverException",
                    "cancelled: released before it ran", null, s.leaderId, 0);
        }
        releaseInputs(t);
    }

    /**
     * A task nobody needs now, kept as lineage: it counts as done with no copy anywhere, so a
     * lost result that reads it runs it again ({@link #recompute}); otherwise it never runs.
     */
    void dormant(Task t) {
        Dispatch.unassign(t);
        ready.remove(t);
        t.state = TaskState.DONE;
        for (Block out : t.outputs()) {
            out.done = true;
            out.clearLocations();
        }
        releaseInputs(t);
    }

    void finished(Exec e, TaskResults results) {
        long now = s.now();
        e.memoryUsed = results.memoryUsed();
        for (TaskResult r : results.results()) {
            Task t = tasks.get(r.task());
            if (t == null || !t.onExecutor && s.admission.adoptionPending(t)) {
                // From before this term, for a task no client has resumed yet, or one re-sent by a
                // client whose resume has not ended (adopted from here then).
                s.recovery.unclaimed.ended(r.task(), e);
                if (r.failure() != null) {
                    if (!r.failure().inputAbsent()) {
                        s.recovery.unclaimed.failure(r.task(), r.failure(), now);
                    }
                } else {
                    for (BlockInfo out : r.outputs()) {
                        s.recovery.unclaimed.block(out.ref(), e, out.size(), out.bucketRows(), now);
                    }
                }
                s.recovery.armOrphanSweep();
                continue;
            }
            boolean ranHere = t.exec == e && t.onExecutor;
            if (ranHere) {
                s.observed.span(e.id, t.id.toString(), t.job() == null ? "submit" : t.job().id + "/" + t.stage(),
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
                if (r.failure().inputAbsent() && (t.fetchRetries() < Scheduler.MAX_FETCH_RETRIES || holdersAway)) {
                    // An input's holder is going away: run again once the input is back (Spark's FetchFailed).
                    // While every holder of an input is disconnected, within its grace, the try does not
                    // count: the holder comes back, or is lost and the input is recomputed.
                    if (!holdersAway) {
                        t.extras().fetchRetries++;
                    }
                    requeue(t);
                    continue;
                }
                if (Failure.TASK.equals(r.failure().kind()) && t.retriesLeft() > 0) {
                    // Submit.retries: user code threw; run it again at once.
                    t.extras().retriesLeft--;
                    log.info("task {} threw on executor {} ({}); retrying, {} retries left", t.id, e.id,
                            r.failure().message(), t.retriesLeft());
                    requeue(t);
                    if (t.state == TaskState.WAITING && t.unresolved == 0) {
                        makeReady(t);
                    }
                    continue;
                }
                failTask(t, withExecutor(r.failure(), e, t));
                continue;
            }
            if (t.state == TaskState.DONE) {
                // A second copy (the task ran twice: before and after a leader change); keep it as a replica.
                List<Block> outputs = t.outputs();
                for (int i = 0; i < outputs.size() && i < r.outputs().size(); i++) {
                    outputs.get(i).addLocation(e);
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
            if (ranHere) {
                Dispatch.unassignRan(t); // it left the running set above and was in no queue
            } else {
                Dispatch.unassign(t);
            }
            ready.remove(t);
            List<Block> outputs = t.outputs();
            for (int i = 0; i < outputs.size(); i++) {
                Block b = outputs.get(i);
                BlockInfo info = i < r.outputs().size() ? r.outputs().get(i) : null;
                b.size = info == null ? -1 : info.size();
                b.bucketRows = info == null ? null : info.bucketRows();
                b.addLocation(e);
            }
            finish(t, outputs.size() == 1 ? r.inline() : null);
        }
    }

    /**
     * Whether a failed fetch of {@code t} says nothing against the copies it was given: an input
     * is held only by executors whose connection is down (within their grace), or is not done (it
     * was sent ahead, and failed because what it waited for there failed to fetch).
     */
    private static boolean inputHoldersAway(Task t) {
        for (Block in : t.inputs) {
            ShuffleInputs dep = ShuffleInputs.of(in);
            if (dep == null || !in.done) {
                if (holdersAway(in)) {
                    return true;
                }
                continue;
            }
            for (Block map : dep.inputsFor(t.shuffleBucket())) {
                if (holdersAway(map)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean holdersAway(Block in) {
        if (!in.done) {
            return true;
        }
        if (in.locations().isEmpty()) {
            return false;
        }
        for (Exec holder : in.locations()) {
            if (holder.live()) {
                return false;
            }
        }
        return true;
    }

    static Failure withExecutor(Failure f, Exec e, Task t) {
        String kind = f.inputAbsent() ? Failure.LOST : f.kind();
        return new Failure(kind, f.type(), f.message(), f.stack(), e.id, t.attempts() + 1);
    }

    /** Marks a task done with the locations its outputs have; wakes its waiters and tells its owner. */
    void finish(Task t, byte[] inline) {
        t.state = TaskState.DONE;
        if (t.shuffle() == null) {
            s.observed.tasksFinished++;
        }
        if (t.job() != null) {
            s.observed.jobTask(t.job(), t.stage(), true, s.now());
        }
        for (Block b : t.outputs()) {
            boolean wasDone = b.done;
            b.done = true;
            if (b.pinnable) {
                s.outbox.viewChanged();
            }
            if (b.ownerHolds) {
                b.owner.outDone.add(b.refDone(inline));
            }
            if (wasDone) {
                continue; // a copy survived the loss that made t run again: its readers never waited for it
            }
            for (Task w : b.waiters()) {
                if (w.state == TaskState.WAITING) {
                    if (--w.unresolved == 0) {
                        makeReady(w);
                    }
                } else if (!w.finished()) {
                    w.unresolved--;
                }
            }
        }
        if (t.shuffle() != null) {
            // Its output is its inputs: they stay until its readers are done (BlockManager#maybeDrop).
            return;
        }
        releaseInputs(t);
        for (Block b : t.outputs()) {
            s.blocks.maybeDrop(b);
        }
    }

    /**
     * {@code t} goes back to waiting: its readers sent ahead to where it was to run must not wait
     * there for a production that will not come. Those not launched yet come back (and their own
     * readers sent ahead with them); for one already launched, {@code t} runs there again.
     */
    void recallAhead(Task t) {
        ArrayDeque<Task> work = new ArrayDeque<>();
        work.add(t);
        while (!work.isEmpty()) {
            Task p = work.poll();
            for (Block out : p.outputs()) {
                for (Task w : out.waiters()) {
                    if (!w.ahead || w.finished()) {
                        continue;
                    }
                    if (w.state == TaskState.QUEUED) {
                        Dispatch.unassign(w);
                        w.state = TaskState.WAITING;
                        work.add(w);
                    } else if (w.state == TaskState.LAUNCHED && w.exec != null && w.exec.alive) {
                        p.extras().pinnedTo = List.of(w.exec.id);
                    }
                }
            }
        }
    }

    /** Puts a task back to waiting (it will be placed again), counting its inputs that are not there. */
    void requeue(Task t) {
        if (t.missingInput) {
            // Adopted as running although an input was unknown: it cannot run anywhere else.
            failTask(t, new Failure(Failure.LOST, "io.quiver.DataLostException", "task " + t.id + " must run again"
                    + " but one of its inputs is unknown to leader " + s.leaderId + " (released, with no lineage left)",
                    null, s.leaderId, t.attempts()));
            return;
        }
        Dispatch.unassign(t);
        t.state = TaskState.WAITING;
        recallAhead(t);
        t.extras().attempts++;
        t.unresolved = 0;
        for (Block in : t.inputs) {
            if (!in.done) {
                t.unresolved++;
            }
        }
        if (t.unresolved == 0) {
            // Give the leader time to notice the loss behind a failed fetch before placing it again.
            s.timers.after(Scheduler.FETCH_RETRY_NANOS * Math.max(1, t.fetchRetries()), new TaskRetry(t.id));
        }
    }

    /**
     * An executor ran a task and did not find an input the leader had placed there: that copy is
     * gone (dropped, or its producer there failed). Forget it; if it was the last copy, recompute
     * it from lineage, as an executor loss does, or fail its readers if it has none.
     */
    void forgetAbsentCopy(Exec e, Failure f) {
        Block b = f.missing() == null ? null : s.blocks.get(f.missing());
        if (b == null || !b.removeLocation(e)) {
            return;
        }
        s.outbox.viewChanged();
        log.debug("executor {} no longer holds {}; {} other copies", e.id, b.ref, b.locations().size());
        if (!b.done || b.failure() != null) {
            return;
        }
        if (!b.locations().isEmpty()) {
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
    void reschedule(List<Task> reset) {
        for (Task t : reset) {
            if (t.state != TaskState.WAITING) {
                continue;
            }
            t.unresolved = 0;
            boolean inputLost = false;
            for (Block in : t.inputs) {
                if (in.failure() != null) {
                    inputLost = true;
                } else if (!in.done) {
                    t.unresolved++;
                }
            }
            if (!inputLost && t.unresolved == 0) {
                makeReady(t);
            }
        }
    }

    /**
     * Runs a finished task again because an output still needed was lost, and, where their
     * outputs are gone too (lost, or dropped once consumed), the producers of its own inputs:
     * lineage, as far as it is known. An input that was dropped and has no producer cannot be
     * rebuilt; the task then fails as lost.
     */
    void recompute(Task p, List<Task> reset) {
        ArrayDeque<Task> work = new ArrayDeque<>();
        work.add(p);
        while (!work.isEmpty()) {
            Task t = work.poll();
            if (t.state != TaskState.DONE) {
                continue;
            }
            Failure f = t.missingInput ? t.inputFailure() : null; // adopted done without an input it names
            for (Block in : t.inputs) {
                if (in.failure() != null) {
                    f = in.failure();
                } else if (!s.blocks.holds(in) && in.producer == null) {
                    f = new Failure(Failure.LOST, "io.quiver.DataLostException", "cannot recompute " + t.id
                            + ": its input " + in.ref + " was released and has no lineage (a scattered value)", null,
                            s.leaderId, t.attempts());
                }
            }
            if (f != null) {
                // It stays done, but the outputs that were lost cannot come back: their readers fail.
                for (Block out : t.outputs()) {
                    if (out.locations().isEmpty()) {
                        failBlock(out, f);
                    }
                }
                continue;
            }
            t.state = TaskState.WAITING;
            t.extras().attempts++;
            reset.add(t);
            revive(t);
            for (Block out : t.outputs()) {
                if (out.locations().isEmpty()) {
                    out.done = false;
                    waitAgain(t, out, reset);
                }
            }
            for (Block in : t.inputs) {
                boolean held = s.blocks.holds(in);
                if (!held) {
                    // Dropped once consumed: its executors freed it, so it must be produced again.
                    revive(in.producer);
                }
                if (t.shuffle() == null || !in.waiters().contains(t)) {
                    // (A shuffle dependency that completed still holds its map outputs: not twice.)
                    in.consumers++;
                    in.addWaiter(t);
                }
                if (ShuffleInputs.of(in) != null) {
                    // A shuffle dependency has no copy anywhere: it is rebuilt only if it was dropped (a lost
                    // map output behind it puts it back to waiting by itself, see waitAgain).
                    if (!held) {
                        work.add(in.producer);
                    }
                } else if (in.producer != null && in.done && in.locations().isEmpty()) {
                    work.add(in.producer);
                }
            }
        }
    }

    /**
     * {@code out}, produced by {@code t}, is to be produced again: its readers wait for it. A shuffle
     * dependency that had completed goes back to waiting, and its own readers with it.
     */
    private void waitAgain(Task t, Block out, List<Task> reset) {
        for (Task w : out.waiters()) {
            if (w.shuffle() != null && w.state == TaskState.DONE) {
                w.state = TaskState.WAITING;
                w.extras().attempts++;
                reset.add(w);
                w.unresolved = 0;
                for (Block in : w.inputs) {
                    if (!in.done) {
                        w.unresolved++;
                    }
                }
                Block virtual = w.outputs().get(0);
                virtual.done = false;
                waitAgain(w, virtual, reset);
                continue;
            }
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
                t.extras().pinnedTo = List.of(w.exec.id);
            }
        }
    }

    /**
     * Puts a task's dropped outputs back, with any copy an executor reported after they were dropped,
     * and the task and its function if it was forgotten, so it can run again if no copy is left.
     */
    private void revive(Task t) {
        for (Block out : t.outputs()) {
            if (s.blocks.putBack(out)) {
                out.clearLocations(); // its executors were told to drop it
                // A copy reported after the drop (one a reader had fetched, say) is still that value.
                List<Unclaimed.Copy> copies = s.recovery.unclaimed.takeBlock(out.ref);
                if (copies != null) {
                    for (Unclaimed.Copy copy : copies) {
                        out.addLocation(copy.holder());
                        out.size = copy.size();
                        if (copy.bucketRows() != null) {
                            out.bucketRows = copy.bucketRows();
                        }
                    }
                }
            }
        }
        if (tasks.putIfAbsent(t) == null) {
            fns.putIfAbsent(t.fn.id, t.fn);
            t.fn.tasks++;
        }
    }

    void failTask(Task t, Failure f) {
        if (!t.finished()) {
            log.warn("task {} failed{}{}: {}{}", t.id, f.executorId() == null ? "" : " on " + f.executorId(),
                    f.attempts() > 1 ? " (attempt " + f.attempts() + ")" : "", f.type(),
                    f.message() == null ? "" : ": " + f.message());
            s.observed.event(s.now(), "failed", "task " + t.id + " failed: " + f.type()
                    + (f.message() == null ? "" : ": " + f.message()));
        }
        ArrayDeque<Task> work = new ArrayDeque<>();
        work.add(t);
        while (!work.isEmpty()) {
            Task x = work.poll();
            // A completed shuffle dependency fails too: its readers read the map output that failed.
            if (x.finished() && (x.shuffle() == null || x.state == TaskState.FAILED)) {
                continue;
            }
            if (x.state == TaskState.QUEUED) {
                x.exec.queue.remove(x);
            } else if (x.state == TaskState.WAITING && x.shuffle() == null) {
                ready.remove(x);
            }
            x.state = TaskState.FAILED;
            if (x.shuffle() == null) {
                s.observed.tasksFailed++;
            }
            if (x.job() != null) {
                s.observed.jobTask(x.job(), x.stage(), false, s.now());
            }
            releaseInputs(x);
            for (Block out : x.outputs()) {
                out.done = true;
                out.extras().failure = f;
                if (out.ownerHolds) {
                    out.owner.outDone.add(out.refDone(null));
                }
                work.addAll(out.waiters());
            }
        }
    }

    void failBlock(Block b, Failure f) {
        if (b.failure() != null) {
            return;
        }
        for (String id : b.expected()) {
            Exec e = s.executors.get(id);
            if (e != null) {
                e.reserved -= b.scatterReqSize();
            }
        }
        b.expected().clear();
        b.done = true;
        b.extras().failure = f;
        b.awaitingInventory(false);
        if (b.ownerHolds) {
            b.owner.outDone.add(b.refDone(null));
        }
        for (Task w : List.copyOf(b.waiters())) {
            failTask(w, f);
        }
    }

    /** Lets go of what {@code t} reads: its inputs are dropped if nobody else needs them. */
    void releaseInputs(Task t) {
        for (Block in : t.inputs) {
            while (in.removeWaiter(t)) {
                in.consumers--;
            }
            Task p = in.producer;
            if (p != null && (p.state == TaskState.WAITING || p.state == TaskState.QUEUED) && !stillWanted(p)
                    && !p.heldBack) {
                // Its reader was found done (adopted after a leader change): it need not run now, but
                // stays lineage in case that reader's result is lost.
                dormant(p);
                p.outputs().forEach(s.blocks::maybeDrop);
            }
            s.blocks.maybeDrop(in);
        }
    }

    private Failure noRestrictedExecutor(Task t) {
        return new Failure(Failure.TASK, "io.quiver.QuiverException", "task " + t.id + " may run only on executors "
                + t.restrictTo() + " (Submit.on) and none of them is in the cluster; live executors: "
                + s.executors.aliveIds()
                + ". Name live executors, or add allowOthers(true) to make it a preference", null, s.leaderId,
                t.attempts());
    }
}
