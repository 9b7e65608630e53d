package io.quiver.core.client;

import io.quiver.RefId;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.HoldPins;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.SubmitJob;
import io.quiver.core.protocol.Message.TaskSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Confined to the session loop ({@link LeaderSession}): what a new leader must be told again about
 * this client's refs. An entry is live while the user holds its ref or a live entry's task reads it
 * (as Spark keeps an RDD's lineage): a new leader that finds a result lost can compute it again
 * from its inputs, even those the user released. The last release of a dependent drops it. Task outputs keep their spec and
 * function (their lineage); scattered, broadcast and persisted refs keep their kind, size and, for a
 * scatter in flight, its targets. A dataset job is kept while any of its results is live: a new
 * leader that is sent it again finds the results that exist and recomputes the ones that were lost,
 * for the user or for a pending task that reads one the user released.
 */
final class Lineage {
    private static final byte TASK_OUTPUT = 0;
    /** Not a {@link HeldRef} kind: its job, not a Hold, tells a new leader about it. */
    private static final byte JOB_RESULT = -1;

    private static final class Entry {
        final RefId id;
        final TaskSpec spec;
        final byte kind;
        long size;
        List<String> pendingTargets = List.of();
        /** {@code Scatter.on}: the executors it names, which a new leader must keep its readers on. */
        List<String> pinnedOn = List.of();
        boolean planned;
        boolean userHeld = true;
        boolean done;
        /** Live entries whose tasks read this one. */
        int liveDependents;

        Entry(RefId id, TaskSpec spec, byte kind, long size) {
            this.id = id;
            this.spec = spec;
            this.kind = kind;
            this.size = size;
        }
    }

    private static final class Fn {
        final FnDef def;
        int uses;

        Fn(FnDef def) {
            this.def = def;
        }
    }

    private record Job(SubmitJob request, List<RefId> results) {}

    /** In creation order, so a task's inputs come before it. */
    private final Map<RefId, Entry> entries = new LinkedHashMap<>();
    private final Map<Long, Fn> fns = new HashMap<>();
    private final Map<RefId, Job> jobs = new LinkedHashMap<>();
    private final Map<RefId, RefId> jobOfResult = new HashMap<>();
    /** The refs each job (by id) reads as pinned inputs: kept as its dependents while it is live. */
    private final Map<RefId, List<RefId>> jobPins = new HashMap<>();

    void submitted(List<FnDef> defs, List<TaskSpec> specs) {
        for (FnDef f : defs) {
            fns.put(f.fnId(), new Fn(f));
        }
        for (TaskSpec spec : specs) {
            entries.put(spec.out(), new Entry(spec.out(), spec, TASK_OUTPUT, -1));
            fns.get(spec.fnId()).uses++;
            for (RefId in : inputs(spec)) {
                Entry e = entries.get(in);
                if (e != null) {
                    e.liveDependents++;
                }
            }
        }
    }

    /** A ref no task produces: a scatter about to be requested, or a persisted partition. */
    void held(RefId id, byte kind, long size) {
        held(id, kind, size, List.of());
    }

    /** A scatter about to be requested; {@code pinnedOn}: the executors of its {@code Scatter.on}, else empty. */
    void held(RefId id, byte kind, long size, List<String> pinnedOn) {
        Entry e = new Entry(id, null, kind, size);
        e.pinnedOn = List.copyOf(pinnedOn);
        entries.put(id, e);
    }

    /** The scatter's plan arrived: until it is done, its copies stream to {@code targets}. */
    void planned(RefId id, List<String> targets) {
        Entry e = entries.get(id);
        if (e != null && !e.done) {
            e.planned = true;
            e.pendingTargets = List.copyOf(targets);
        }
    }

    /** The leader refused the scatter: there is nothing to hold. */
    void refused(RefId id) {
        entries.remove(id); // nothing reads a ref before its scatter returned
    }

    void released(RefId id) {
        Entry e = entries.get(id);
        if (e != null) {
            e.userHeld = false;
            dropIfDead(e);
        }
    }

    /** A RefDone arrived (again, after a resume: then it only refreshes the size). */
    void done(RefId id, long size, boolean failed) {
        Entry e = entries.get(id);
        if (e == null) {
            return;
        }
        if (size >= 0) {
            e.size = size;
        }
        if (e.done) {
            return;
        }
        e.done = true;
        e.pendingTargets = List.of();
        if (failed) {
            remove(e); // its dependents fail with it; a new leader must not run it again
        } else {
            dropIfDead(e);
        }
    }

    /** A job is about to be sent that reads these refs as pinned inputs: they stay while it is live. */
    void jobPinned(RefId job, List<RefId> pinned) {
        List<RefId> kept = new ArrayList<>(pinned.size());
        for (RefId ref : pinned) {
            Entry e = entries.get(ref);
            if (e != null) {
                e.liveDependents++;
                kept.add(ref);
            }
        }
        if (!kept.isEmpty()) {
            jobPins.put(job, kept);
        }
    }

    /** The job is over (or never planned): what it pinned is needed by it no more. */
    void jobUnpinned(RefId job) {
        List<RefId> pins = jobPins.remove(job);
        if (pins == null) {
            return;
        }
        for (RefId ref : pins) {
            Entry e = entries.get(ref);
            if (e != null) {
                e.liveDependents--;
                dropIfDead(e);
            }
        }
    }

    /** A job the leader planned: it is sent again on resume while any of its results is live. */
    void jobPlanned(SubmitJob request, List<RefId> results, List<RefId> persisted) {
        if (results.isEmpty()) {
            jobUnpinned(request.job());
        } else {
            jobs.put(request.job(), new Job(request, List.copyOf(results)));
            for (RefId r : results) {
                entries.put(r, new Entry(r, null, JOB_RESULT, -1));
                jobOfResult.put(r, request.job());
            }
        }
        persisted.forEach(p -> held(p, HeldRef.PERSISTED, -1));
    }

    /** After the failover timeout: every unfinished ref failed, only done refs the user holds remain. */
    void abandonUnfinished() {
        entries.values().removeIf(e -> !e.done || !e.userHeld);
        entries.values().forEach(e -> e.liveDependents = 0);
        fns.values().forEach(f -> f.uses = 0);
        entries.values().stream().filter(e -> e.spec != null).forEach(e -> fns.get(e.spec.fnId()).uses++);
        fns.values().removeIf(f -> f.uses == 0);
        jobs.clear();
        jobOfResult.clear();
        jobPins.clear();
    }

    // ------------------------------------------------------------------ what a resume sends

    /** Refs no task produces that are stored, or whose scatter has its plan. */
    List<HeldRef> holds() {
        List<HeldRef> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.spec == null && e.kind != JOB_RESULT && (e.done || e.planned)) {
                out.add(new HeldRef(e.id, e.kind, e.size, e.pendingTargets));
            }
        }
        return out;
    }

    /** The refs of {@link #holds()} that were scattered {@code Scatter.on}, with their executors. */
    List<HoldPins.Pin> pins() {
        List<HoldPins.Pin> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.spec == null && (e.done || e.planned) && !e.pinnedOn.isEmpty()) {
                out.add(new HoldPins.Pin(e.id, e.pinnedOn));
            }
        }
        return out;
    }

    /** Every live task with its function, in creation order; null if there is none. */
    Submit resubmit() {
        Map<Long, FnDef> defs = new LinkedHashMap<>();
        List<TaskSpec> specs = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.spec != null) {
                defs.putIfAbsent(e.spec.fnId(), fns.get(e.spec.fnId()).def);
                specs.add(e.spec);
            }
        }
        return specs.isEmpty() ? null : new Submit(List.copyOf(defs.values()), specs);
    }

    /** Jobs with a live result, as first sent. */
    List<SubmitJob> liveJobs() {
        return jobs.values().stream().map(Job::request).toList();
    }

    /**
     * Refs the user released that a new leader must not keep: those kept only because a pending task
     * reads them (released after the tasks are sent), and the released results of a job sent again.
     */
    List<RefId> keptForLineage() {
        List<RefId> out = new ArrayList<>();
        entries.values().stream().filter(e -> !e.userHeld).forEach(e -> out.add(e.id));
        for (Job job : jobs.values()) {
            job.results().stream().filter(r -> !entries.containsKey(r)).forEach(out::add);
        }
        return out;
    }

    // ------------------------------------------------------------------ reference counts

    private void dropIfDead(Entry e) {
        if (!e.userHeld && e.liveDependents == 0) {
            remove(e);
        }
    }

    private void remove(Entry e) {
        entries.remove(e.id);
        if (e.kind == JOB_RESULT) {
            RefId job = jobOfResult.remove(e.id);
            Job j = job == null ? null : jobs.get(job);
            if (j != null && j.results().stream().noneMatch(entries::containsKey)) {
                jobs.remove(job);
                jobUnpinned(job);
            }
            return;
        }
        if (e.spec == null) {
            return;
        }
        Fn fn = fns.get(e.spec.fnId());
        if (--fn.uses == 0) {
            fns.remove(e.spec.fnId());
        }
        for (RefId in : inputs(e.spec)) { // nobody needs it any more: neither do its inputs
            Entry i = entries.get(in);
            if (i != null) {
                i.liveDependents--;
                dropIfDead(i);
            }
        }
    }

    private static List<RefId> inputs(TaskSpec spec) {
        List<RefId> out = new ArrayList<>(spec.args().size());
        for (Arg a : spec.args()) {
            if (a.ref() != null) {
                out.add(a.ref());
            }
        }
        return out;
    }
}
