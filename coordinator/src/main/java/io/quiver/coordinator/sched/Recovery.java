package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.coordinator.sched.Model.Task;
import io.quiver.coordinator.sched.Model.TaskState;
import io.quiver.coordinator.sched.SchedulerEvent.OrphanDeadline;
import io.quiver.coordinator.sched.SchedulerEvent.RecoveryDeadline;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.TaskResult;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilding after a leader change, from what survives: executors register with their blocks,
 * running tasks and remembered failures, which wait in {@link Unclaimed} until a resuming client
 * names them; what no client claims by the orphan time is dropped. Until every executor expected
 * at {@link SchedulerEvent.TermStarted} has registered (or {@link RecoveryDeadline} passes),
 * nothing is placed, so a task still running on a late executor is not started twice, and resumed
 * tasks with an input nobody has reported yet are parked rather than failed.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it.
 */
final class Recovery {
    private static final Logger log = LoggerFactory.getLogger(Recovery.class);

    private final Scheduler s;
    /** What executors reported that no client has claimed yet. */
    final Unclaimed unclaimed = new Unclaimed();
    /** Executors expected to register before anything is placed; null once recovery is over. */
    private Set<String> recovering;
    private boolean orphanSweepArmed;
    /** Resumed tasks with an unknown input, waiting during recovery for an executor to bring their result. */
    private final Map<Task, Failure> parked = new LinkedHashMap<>();

    Recovery(Scheduler s) {
        this.s = s;
    }

    /** Whether this leader still waits for executors to re-register (nothing is placed meanwhile). */
    boolean active() {
        return recovering != null;
    }

    /** A resumed task with an unknown input waits for recovery to end: a late executor may bring it. */
    void park(Task t, Failure why) {
        parked.put(t, why);
    }

    void deadline() {
        if (recovering != null) {
            log.info("leader {} (epoch {}) ends recovery without executors {}", s.leaderId, s.epoch, recovering);
            endRecovery();
        }
    }

    /** A lost executor is no longer waited for, and what it reported is no longer offered. */
    void lost(Exec e) {
        if (recovering != null && recovering.remove(e.id) && recovering.isEmpty()) {
            endRecovery();
        }
        unclaimed.lost(e);
    }

    /**
     * An executor registered (new, or again after a drop or a leader change): adopts what it holds
     * and runs, takes back what it no longer runs, and ends recovery once every expected executor
     * is back.
     */
    void registered(Exec e, Register r) {
        long now = s.now();
        String id = e.id;
        Set<RefId> stored = new HashSet<>();
        Set<Task> producers = new LinkedHashSet<>();
        for (BlockInfo bi : r.inventory()) {
            stored.add(bi.ref());
            Block b = s.blocks.get(bi.ref());
            if (b == null) {
                unclaimed.block(bi.ref(), e, bi.size(), bi.bucketRows(), now);
            } else if (b.failure() != null) {
                e.outDrops.add(bi.ref());
            } else {
                if (b.addLocation(e) && b.done && b.ownerHolds) {
                    b.owner.outDone.add(b.refDone(null)); // back in Ref.locations()
                }
                s.replication.stored(b, e);
                if (b.size < 0) {
                    b.size = bi.size();
                }
                if (b.bucketRows == null) {
                    b.bucketRows = bi.bucketRows(); // a map output's summary: its readers skip it where it is empty
                }
                if (b.expected().remove(e.id)) {
                    e.reserved -= b.scatterReqSize();
                }
                if (b.producer == null && !b.awaitingInventory()) {
                    s.admission.scatterProgress(b);
                } else if (b.producer != null) {
                    producers.add(b.producer);
                }
            }
        }
        adoptOutputs(producers);
        Set<RefId> active = new HashSet<>(r.active());
        for (RefId taskId : r.active()) {
            Task t = s.tasks.get(taskId);
            if (t == null) {
                unclaimed.active(taskId, e, now);
            } else if (t.state == TaskState.WAITING || t.state == TaskState.QUEUED) {
                s.tasks.recallAhead(t); // readers sent ahead to where it was queued must not wait there
                Dispatch.unassign(t);
                s.tasks.ready.remove(t);
                TaskGraph.runsOn(t, e);
            }
        }
        for (TaskResult f : r.failed()) {
            if (f.failure().inputAbsent()) {
                s.tasks.forgetAbsentCopy(e, f.failure());
                continue; // not the task's own failure: an input was missing there; it runs again
            }
            Task t = s.tasks.get(f.task());
            if (t == null) {
                unclaimed.failure(f.task(), f.failure(), now);
            } else if (!t.finished() && (t.state != TaskState.LAUNCHED || t.exec == e)) {
                // Its outcome (not one queued elsewhere meanwhile: it would only throw again).
                s.tasks.failTask(t, TaskGraph.withExecutor(f.failure(), e, t));
            }
        }
        // Tasks this leader had running there that the executor no longer has: they ended unseen.
        for (Task t : List.copyOf(e.running)) {
            if (!active.contains(t.id) && !t.outs().stream().allMatch(stored::contains) && t.state == TaskState.LAUNCHED) {
                s.tasks.requeue(t);
            }
        }
        if (!unclaimed.isEmpty()) {
            armOrphanSweep();
        }
        s.replication.wake(); // a newcomer gets the broadcasts it lacks
        if (active() && recovering.remove(id) && recovering.isEmpty()) {
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
                    s.tasks.ready.remove(t);
                    parked.remove(t);
                    s.tasks.finish(t, null);
                    progress = true;
                } else if (s.tasks.adopt(t)) { // outputs an executor reported before this leader knew the task
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
            if (ShuffleInputs.of(in) != null) {
                addProducers(in.producer, into); // through a shuffle dependency to its map tasks
            } else if (in.producer != null && !in.producer.finished()) {
                into.add(in.producer);
            }
        }
    }

    private static boolean outputsFound(Task t) {
        boolean any = false;
        for (Block b : t.outputs()) {
            if (b.locations().isEmpty() && (b.consumers > 0 || b.ownerHolds)) {
                return false;
            }
            any |= !b.locations().isEmpty();
        }
        return any;
    }

    void onTermStarted(List<String> expected) {
        s.observed.event(s.now(), "leader", "leader " + s.leaderId + " took over with epoch " + s.epoch
                + (expected.isEmpty() ? "" : "; waiting for " + expected.size() + " executors to re-register"));
        Set<String> missing = new TreeSet<>(expected);
        missing.removeIf(s.executors::knows);
        if (missing.isEmpty()) {
            endRecovery();
            return;
        }
        recovering = missing;
        s.timers.after(Scheduler.RECOVERY_NANOS, new RecoveryDeadline());
    }

    private void endRecovery() {
        recovering = null;
        parked.forEach((t, why) -> {
            if (!t.finished() && !s.tasks.relink(t)) {
                s.tasks.failTask(t, t.inputFailure());
            } else if (!t.finished() && t.inputFailure() != null) {
                s.tasks.failTask(t, t.inputFailure());
            }
        });
        parked.clear();
        for (Block b : List.copyOf(s.blocks.all())) {
            if (b.producer == null && !b.done && b.failure() == null) {
                b.expected().removeIf(id -> !s.executors.knows(id));
                s.admission.settleHeld(b);
            }
        }
    }

    void armOrphanSweep() {
        if (!orphanSweepArmed) {
            orphanSweepArmed = true;
            s.timers.after(Scheduler.ORPHAN_NANOS, new OrphanDeadline());
        }
    }

    void sweepOrphans() {
        orphanSweepArmed = false;
        Map<Exec, List<RefId>> drops = unclaimed.expire(s.now(), Scheduler.ORPHAN_NANOS);
        drops.forEach((e, refs) -> {
            if (e.alive) {
                e.outDrops.addAll(refs);
            }
        });
        if (!unclaimed.isEmpty()) {
            armOrphanSweep();
        }
    }
}
