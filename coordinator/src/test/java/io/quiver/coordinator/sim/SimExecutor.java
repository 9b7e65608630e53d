package io.quiver.coordinator.sim;

import io.quiver.RefId;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Drop;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.Replicate;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * A simulated executor that behaves like {@code TaskSlots} over a {@code BlockStore} and a
 * {@code LeaderLink}, confined to the simulation thread. It admits {@link Launch}, {@link Drop} and {@link Replicate}
 * only through its epoch fence, runs each task after a simulated duration, keeps outputs in its
 * store, reports results in batches and keeps unreported ones for the next leader. It keeps
 * running through a leader change and registers with every new leader with its inventory, the
 * tasks it still has ({@code active}) and the failures it remembers. A crash loses everything.
 */
final class SimExecutor implements SimLink.Peer {
    /** One admitted task. */
    static final class Run {
        final TaskLaunch launch;
        final RefId task;
        final long seq;
        final SimCoordinator from;
        /** When the leader sent the Launch: when it decided this run. */
        final long launchedAt;
        int missing;
        boolean started;
        boolean done;
        byte[] fn;
        List<Long> inputs;

        Run(TaskLaunch launch, long seq, SimCoordinator from, long launchedAt) {
            this.launch = launch;
            this.task = launch.outs().get(0);
            this.seq = seq;
            this.from = from;
            this.launchedAt = launchedAt;
        }
    }

    private static final long MAX_BACKOFF = 2_000_000_000L;

    private final Simulation sim;
    private final String id;
    final int number;
    final int slots;
    boolean alive = true;
    /** Whether its ZooKeeper node exists (gone after a crash or a session expiry). */
    boolean zkNode = true;
    /** The newest leader epoch seen: older commands are refused. */
    long fence;
    SimLink link;
    private boolean registered;
    long disconnectedAt;
    private long backoff = 50_000_000L;

    final Map<RefId, Long> store = new LinkedHashMap<>();
    /** When each block arrived in the store (for the invariants: a copy made before a loss may be unknown to the leader). */
    final Map<RefId, Long> storedAt = new HashMap<>();
    private final Map<Long, byte[]> fns = new HashMap<>();
    /** Outputs of tasks that failed here, until dropped (TaskSlots.failed). */
    private final Map<RefId, Failure> failed = new HashMap<>();
    /** The failures themselves, by task, for Register.failed. */
    final Map<RefId, TaskResult> failedResults = new LinkedHashMap<>();
    final Set<Run> active = new LinkedHashSet<>();
    private final Map<RefId, List<Run>> waiting = new HashMap<>();
    /** Copies the leader asked for (Replicate): their failure is reported, as Executor does. */
    private final Set<RefId> replicating = new LinkedHashSet<>();
    private final PriorityQueue<Run> ready = new PriorityQueue<>(Comparator.comparingLong(r -> r.seq));
    private int running;
    private long nextSeq;
    private final List<TaskResult> unreported = new ArrayList<>();
    private boolean flushPending;
    int refused;

    SimExecutor(Simulation sim, int number, int slots) {
        this.sim = sim;
        this.number = number;
        this.id = "exec-" + number;
        this.slots = slots;
    }

    @Override
    public String id() {
        return id;
    }

    Peer peer() {
        return new Peer(id, host(), 7000 + number);
    }

    private String host() {
        return "host-" + (number % 2);
    }

    long memoryUsed() {
        return store.size() * SimValues.BLOCK_SIZE;
    }

    // ------------------------------------------------------------------ leader discovery

    /** The ZooKeeper watch on /leader fired: note the epoch now, move to the new leader shortly. */
    void onLeaderPublished(SimCoordinator leader) {
        if (!alive) {
            return;
        }
        observe(leader.epoch);
        // The old connection is closed a moment later: commands the old leader sends meanwhile are fenced.
        sim.after(sim.uniform(0, 50_000_000L), () -> {
            if (!alive || sim.published() != leader) {
                return;
            }
            if (link != null && link.leader != leader) {
                SimLink old = link;
                dropLink();
                old.closeByPeer(id + " moves to " + leader.name());
            }
            connect();
        });
    }

    private void observe(long epoch) {
        sim.invariants.observed(this, epoch);
        fence = Math.max(fence, epoch);
    }

    void connect() {
        if (!alive || link != null) {
            return;
        }
        SimCoordinator target = sim.published();
        if (target == null) {
            return; // the watch fires when a leader is published
        }
        link = SimLink.connect(sim, target, this);
        observe(target.epoch); // the handshake names the leader's epoch
        List<BlockInfo> inventory = new ArrayList<>();
        for (RefId ref : store.keySet()) {
            inventory.add(new BlockInfo(ref, SimValues.BLOCK_SIZE));
        }
        List<RefId> activeTasks = new ArrayList<>();
        for (Run r : active) {
            activeTasks.add(r.task);
        }
        link.sendToLeader(new Register(host(), 7000 + number, slots, 1L << 30, memoryUsed(), inventory, activeTasks,
                List.copyOf(failedResults.values())));
        registered = true;
        if (disconnectedAt > 0) {
            sim.invariants.reconnected(this, disconnectedAt);
        }
        scheduleFlush();
    }

    private void dropLink() {
        link = null;
        registered = false;
        disconnectedAt = sim.now();
    }

    /** A new ZooKeeper session: register again on a new connection. */
    void reconnect() {
        if (!alive) {
            return;
        }
        if (link != null) {
            SimLink old = link;
            dropLink();
            old.closeByPeer(id + " re-registers after a new ZooKeeper session");
        }
        connect();
    }

    @Override
    public void onClosed(SimLink closed) {
        if (closed != link || !alive) {
            return;
        }
        dropLink();
        long delay = backoff;
        backoff = Math.min(MAX_BACKOFF, backoff * 2);
        sim.after(delay, () -> {
            connect();
            if (link != null) {
                backoff = 50_000_000L;
            }
        });
    }

    void crash() {
        alive = false;
        replicating.clear();
        if (link != null) {
            link.breakLink(id + " crashed");
        }
        link = null;
    }

    // ------------------------------------------------------------------ commands

    @Override
    public void onMessage(SimLink from, Message m) {
        if (!alive) {
            return;
        }
        if (m instanceof Launch launch) {
            if (admit(from, launch.epoch(), "Launch of " + launch.tasks().size() + " tasks")) {
                for (FnDef def : launch.fns()) {
                    fns.put(def.fnId(), def.bytes());
                }
                for (TaskLaunch t : launch.tasks()) {
                    admitTask(from.leader, t, from.deliveringSentAt);
                }
                dispatch();
            }
        } else if (m instanceof Replicate replicate) {
            if (admit(from, replicate.epoch(), "Replicate of " + replicate.copies().size() + " blocks")) {
                for (Replicate.Copy c : replicate.copies()) {
                    if (store.containsKey(c.ref())) {
                        sendStored(c.ref());
                    } else if (replicating.add(c.ref())) {
                        fetch(c.ref(), c.from());
                    }
                }
            }
        } else if (m instanceof Drop drop) {
            if (admit(from, drop.epoch(), "Drop of " + drop.refs().size() + " blocks")) {
                for (Long fnId : drop.fnIds()) {
                    fns.remove(fnId);
                }
                for (RefId ref : drop.refs()) {
                    store.remove(ref);
                    storedAt.remove(ref);
                    failed.remove(ref);
                    failedResults.remove(ref);
                    sim.invariants.dropped(this, from.leader, ref);
                }
            }
        }
    }

    /** The epoch fence (EpochFence.admit): a command older than the newest epoch seen is refused. */
    private boolean admit(SimLink from, long epoch, String what) {
        if (epoch < fence) {
            refused++;
            sim.invariants.refused(this, from.leader, epoch, what);
            return false;
        }
        sim.invariants.commandExecuted(this, from.leader, epoch, what);
        fence = epoch;
        return true;
    }

    private void admitTask(SimCoordinator from, TaskLaunch launch, long launchedAt) {
        Run run = new Run(launch, nextSeq++, from, launchedAt);
        active.add(run);
        for (RefId out : launch.outs()) {
            failed.remove(out); // a new attempt: what an earlier one failed with is no longer its outcome
        }
        failedResults.remove(run.task);
        byte[] fn = fns.get(launch.fnId());
        if (fn == null) {
            fail(run, new Failure(Failure.TASK, "io.quiver.QuiverException", "function " + launch.fnId()
                    + " is unknown on executor " + id + " (never sent, or dropped)", "", id, 1));
            return;
        }
        run.fn = fn;
        Failure inputFailed = null;
        for (Arg arg : launch.args()) {
            if (!arg.isRef() || store.containsKey(arg.ref())) {
                continue;
            }
            Failure f = failed.get(arg.ref());
            if (f != null && arg.locations().isEmpty()) {
                inputFailed = f;
                break;
            }
            failed.remove(arg.ref()); // copies elsewhere: it was made again since it failed here
            run.missing++;
            List<Run> list = waiting.get(arg.ref());
            if (list == null) {
                list = new ArrayList<>(2);
                waiting.put(arg.ref(), list);
                if (!arg.locations().isEmpty()) {
                    fetch(arg.ref(), arg.locations());
                }
            }
            list.add(run);
        }
        if (inputFailed != null) {
            fail(run, inputFailed);
        } else if (run.missing == 0) {
            ready.add(run);
        }
    }

    /** Fetches a missing input from the first location that still has it. */
    private void fetch(RefId ref, List<Peer> locations) {
        sim.after(2 * sim.netDelay(), () -> {
            if (!alive || store.containsKey(ref)) {
                if (alive && replicating.remove(ref)) {
                    sendStored(ref);
                }
                return;
            }
            for (Peer p : locations) {
                SimExecutor source = sim.executor(p.id());
                if (source != null && source.alive && source.store.containsKey(ref)) {
                    replicating.remove(ref);
                    put(ref, source.store.get(ref));
                    sendStored(ref);
                    blockArrived(ref);
                    dispatch();
                    return;
                }
            }
            List<String> ids = locations.stream().map(Peer::id).toList();
            if (replicating.remove(ref) && link != null && registered) {
                link.sendToLeader(new StoredBlocks(List.of(), List.of(new Message.BlockFailure(ref, "none of "
                        + ids + " has it")), memoryUsed()));
            }
            fetchFailed(ref, new Failure(Failure.FETCH, "io.quiver.DataLostException", "executor " + id
                    + " could not fetch " + ref + " from " + ids + ": none of them has it", "", id, 1));
        });
    }

    private void fetchFailed(RefId ref, Failure failure) {
        List<Run> list = waiting.remove(ref);
        if (list != null) {
            for (Run r : list) {
                if (!r.done) {
                    fail(r, failure);
                }
            }
        }
        dispatch();
    }

    /** A scattered block arrives from a client (the data plane). */
    void onPut(RefId ref, long value) {
        if (!alive) {
            return;
        }
        put(ref, value);
        sim.invariants.scatterStored(this, ref);
        sendStored(ref);
        blockArrived(ref);
        dispatch();
    }

    private void put(RefId ref, long value) {
        store.put(ref, value);
        storedAt.put(ref, sim.now());
    }

    private void sendStored(RefId ref) {
        if (link != null && registered) {
            link.sendToLeader(new StoredBlocks(List.of(new BlockInfo(ref, SimValues.BLOCK_SIZE)), List.of(), memoryUsed()));
        }
    }

    private void blockArrived(RefId ref) {
        List<Run> list = waiting.remove(ref);
        if (list == null) {
            return;
        }
        for (Run r : list) {
            if (!r.done && --r.missing == 0) {
                ready.add(r);
            }
        }
    }

    private void dispatch() {
        while (running < slots && !ready.isEmpty()) {
            Run r = ready.poll();
            if (!r.done) {
                start(r);
            }
        }
    }

    private void start(Run run) {
        List<Long> inputs = new ArrayList<>();
        for (Arg arg : run.launch.args()) {
            if (arg.isRef()) {
                Long v = store.get(arg.ref());
                if (v == null) {
                    fail(run, new Failure(Failure.MISSING, "io.quiver.DataLostException", "input " + arg.ref()
                            + " was dropped from executor " + id + " before the task ran", "", id, 1, arg.ref()));
                    return;
                }
                inputs.add(v);
            }
        }
        run.started = true;
        run.inputs = inputs;
        running++;
        sim.invariants.executionStarted(this, run);
        long nanos = sim.taskNanos();
        sim.after(nanos, () -> finish(run, nanos));
    }

    private void finish(Run run, long nanos) {
        if (!alive) {
            return;
        }
        running--;
        List<RefId> outs = run.launch.outs();
        if (SimValues.throwsFn(run.fn)) {
            sim.invariants.executionFinished(this, run, true);
            fail(run, new Failure(Failure.TASK, "java.lang.IllegalStateException", "task " + run.task
                    + " threw on purpose", "\tat sim.Task.run(Task.java:1)", id, 1));
            dispatch();
            return;
        }
        run.done = true;
        active.remove(run);
        List<BlockInfo> infos = new ArrayList<>(outs.size());
        long first = 0;
        for (RefId out : outs) {
            long v = SimValues.taskValue(out, run.inputs);
            if (out == outs.get(0)) {
                first = v;
            }
            put(out, v);
            infos.add(new BlockInfo(out, SimValues.BLOCK_SIZE));
        }
        sim.invariants.executionFinished(this, run, false);
        queueResult(new TaskResult(run.task, nanos, infos, outs.size() == 1 ? SimValues.encode(first) : null, null));
        for (RefId out : outs) {
            blockArrived(out);
        }
        dispatch();
    }

    /** The task failed here: its outputs and every task here waiting for them fail with it. */
    private void fail(Run first, Failure failure) {
        ArrayDeque<Run> work = new ArrayDeque<>();
        work.add(first);
        while (!work.isEmpty()) {
            Run r = work.poll();
            if (r.done) {
                continue;
            }
            r.done = true;
            active.remove(r);
            TaskResult result = new TaskResult(r.task, 0, List.of(), null, failure);
            for (RefId out : r.launch.outs()) {
                failed.put(out, failure);
                List<Run> list = waiting.remove(out);
                if (list != null) {
                    work.addAll(list);
                }
            }
            failedResults.put(r.task, result);
            queueResult(result);
        }
    }

    // ------------------------------------------------------------------ reports

    private void queueResult(TaskResult r) {
        unreported.add(r);
        scheduleFlush();
    }

    /** Results that finish while a report is pending go in the same message. */
    private void scheduleFlush() {
        if (flushPending || link == null || !registered || unreported.isEmpty()) {
            return;
        }
        flushPending = true;
        sim.after(sim.uniform(0, 500_000L), () -> {
            flushPending = false;
            if (!alive || link == null || !registered || unreported.isEmpty()) {
                return;
            }
            link.sendToLeader(new TaskResults(List.copyOf(unreported), memoryUsed()));
            unreported.clear();
        });
    }

    String describeTask(RefId task) {
        for (Run r : active) {
            if (r.task.equals(task)) {
                return id + " has it " + describe(r);
            }
        }
        return null;
    }

    private String describe(Run r) {
        if (r.started) {
            return "running for " + r.from.name();
        }
        List<String> missing = new ArrayList<>();
        for (Arg a : r.launch.args()) {
            if (a.isRef() && !store.containsKey(a.ref())) {
                missing.add(a.ref() + (a.locations().isEmpty() ? " (no location: awaited here)"
                        : " from " + a.locations().stream().map(Peer::id).toList()));
            }
        }
        return "queued for " + r.from.name() + ", missing " + missing;
    }

    /** What is still active here, for the report of a run that did not settle. */
    List<String> describeActive() {
        List<String> out = new ArrayList<>();
        for (Run r : active) {
            out.add(r.task + " on " + id + ": " + describe(r));
        }
        return out;
    }
}
