package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.BlockFailure;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Drop;
import io.quiver.core.protocol.Message.ExecInfo;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.InfoReply;
import io.quiver.core.protocol.Message.InfoRequest;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.Release;
import io.quiver.core.protocol.Message.RequestFailed;
import io.quiver.core.protocol.Message.ScatterPlan;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.Message.Status;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.SubmitJob;
import io.quiver.core.protocol.Message.JobReply;
import io.quiver.core.protocol.JobRefs;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.plan.LogicalNode;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.planner.ClusterView;
import io.quiver.planner.PersistedOutput;
import io.quiver.planner.PhysicalPlan;
import io.quiver.planner.Planner;
import io.quiver.planner.Stage;
import io.quiver.planner.TaskInput;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import io.quiver.core.protocol.Message.TaskSpec;
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
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's scheduling state and its transitions: tasks, blocks (who has what), executors,
 * placement, lookahead, failure handling. Confined to the {@link SchedulerLoop} thread; post
 * events, never call from other threads. Messages go out through {@link Link}s, collected per peer
 * and sent once per batch by {@link #afterBatch()}.
 */
public final class Scheduler {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    /** Results at most this large ride inline to the client. */
    static final int INLINE_LIMIT = 64 * 1024;
    /** How much queued work, in time, each slot keeps on its executor (about one round trip and more). */
    static final long LOOKAHEAD_NANOS = 2_000_000;
    static final int MAX_LOOKAHEAD_PER_SLOT = 512;

    private final String leaderId;
    private final long epoch;
    private final LongSupplier nanoTime;

    private final Map<String, Exec> executors = new LinkedHashMap<>();
    private final Map<RefId, Block> blocks = new HashMap<>();
    private final Map<RefId, Task> tasks = new HashMap<>();
    private final Map<Long, Fn> fns = new HashMap<>();
    private final Map<Link, Client> clients = new HashMap<>();
    private final ArrayDeque<Task> ready = new ArrayDeque<>();
    /** Function ids carry the epoch: an executor's cache from an earlier leader can never match. */
    private long nextFnId;

    public Scheduler(String leaderId, long epoch, LongSupplier nanoTime) {
        this.leaderId = leaderId;
        this.epoch = epoch;
        this.nanoTime = nanoTime;
        this.nextFnId = (epoch << 32) + 1;
    }

    // ------------------------------------------------------------------ state

    /** One executor as the leader tracks it. */
    static final class Exec {
        final String id;
        Link link;
        String host;
        int port;
        int slots;
        long memoryLimit;
        long memoryUsed;
        long reserved;
        boolean alive = true;
        double avgTaskNanos = 200_000;
        final ArrayDeque<Task> queue = new ArrayDeque<>();
        final Set<Task> running = new LinkedHashSet<>();
        final Set<Long> knownFns = new HashSet<>();
        final List<FnDef> outFns = new ArrayList<>();
        final List<TaskLaunch> outLaunches = new ArrayList<>();
        final List<RefId> outDrops = new ArrayList<>();
        final List<Long> outDropFns = new ArrayList<>();

        Exec(String id) {
            this.id = id;
        }

        Peer peer() {
            return new Peer(id, host, port);
        }

        int load() {
            return queue.size() + running.size();
        }

        int limit() {
            long perSlot = Math.round(LOOKAHEAD_NANOS / Math.max(1.0, avgTaskNanos));
            return slots * (int) Math.max(2, Math.min(MAX_LOOKAHEAD_PER_SLOT, perSlot));
        }

        long free() {
            return memoryLimit - memoryUsed - reserved;
        }
    }

    /** A value: a task's output or a scattered block. */
    static final class Block {
        final RefId ref;
        final Task producer;
        final Client owner;
        boolean ownerHolds;
        int consumers;
        long size = -1;
        boolean done;
        Failure failure;
        final LinkedHashSet<Exec> locations = new LinkedHashSet<>();
        final List<Task> waiters = new ArrayList<>(1);
        // scatter only
        long scatterReqSize;
        boolean broadcast;
        final Set<Exec> expected = new HashSet<>();

        Block(RefId ref, Task producer, Client owner) {
            this.ref = ref;
            this.producer = producer;
            this.owner = owner;
            this.ownerHolds = owner != null;
        }
    }

    enum TaskState { WAITING, QUEUED, LAUNCHED, DONE, FAILED }

    static final class Task {
        final RefId id;
        final List<RefId> outs;
        final Fn fn;
        final List<Arg> args;
        final List<Block> inputs = new ArrayList<>(2);
        final Client owner;
        TaskState state = TaskState.WAITING;
        Exec exec;
        boolean onExecutor;
        boolean ahead;
        /** Where the planner pins this task (holders of its non-broadcast pinned inputs); empty: anywhere. */
        List<String> pinnedTo = List.of();
        int unresolved;
        int attempts;
        final List<Block> outputs = new ArrayList<>(1);

        Task(RefId id, List<RefId> outs, Fn fn, List<Arg> args, Client owner) {
            this.id = id;
            this.outs = outs;
            this.fn = fn;
            this.args = args;
            this.owner = owner;
        }
    }

    static final class Fn {
        final long id;
        final byte[] bytes;
        int tasks;

        Fn(long id, byte[] bytes) {
            this.id = id;
            this.bytes = bytes;
        }
    }

    static final class Client {
        final Link link;
        final Map<Long, Fn> fnsById = new HashMap<>();
        final List<RefDone> outDone = new ArrayList<>();
        final Set<Block> owned = new HashSet<>();

        Client(Link link) {
            this.link = link;
        }
    }

    // ------------------------------------------------------------------ events

    /** A message from a client or an executor. */
    public void onMessage(Link from, String peerId, Message message) {
        if (message instanceof Submit s) {
            onSubmit(client(from), s);
        } else if (message instanceof Release r) {
            onRelease(client(from), r.refs());
        } else if (message instanceof ScatterRequest s) {
            onScatterRequest(client(from), s);
        } else if (message instanceof InfoRequest i) {
            from.send(info(i.reqId()));
        } else if (message instanceof SubmitJob j) {
            onSubmitJob(client(from), j);
        } else if (message instanceof Register r) {
            onRegister(from, peerId, r);
        } else if (message instanceof TaskResults r) {
            onTaskResults(peerId, r);
        } else if (message instanceof StoredBlocks s) {
            onStoredBlocks(peerId, s);
        } else if (message instanceof Status s) {
            Exec e = executors.get(peerId);
            if (e != null && e.link == from) {
                e.memoryUsed = s.memoryUsed();
            }
        } else {
            log.warn("closing {} {}: unexpected {}", peerId, from, message.getClass().getSimpleName());
            from.close();
        }
    }

    /** A client's connection closed: release its refs, cancel its work that has not started. */
    public void onClientGone(Link link) {
        Client c = clients.remove(link);
        if (c == null) {
            return;
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

    /** An executor's link closed; it is lost unless it registers again within the grace period. */
    public void onExecutorLinkClosed(String id, Link link) {
        Exec e = executors.get(id);
        if (e != null && e.link == link) {
            e.link = null;
        }
    }

    /** Called by the grace timer: still no link, so the executor is gone. */
    public void onExecutorGraceExpired(String id) {
        Exec e = executors.get(id);
        if (e != null && e.link == null) {
            onExecutorLost(id, "its connection stayed down for the grace period");
        }
    }

    /** The executor is gone for good (its znode went, or the grace expired). */
    public void onExecutorLost(String id, String why) {
        Exec e = executors.remove(id);
        if (e == null) {
            return;
        }
        e.alive = false;
        log.warn("executor {} lost ({}); {} running and {} queued tasks run again elsewhere", id, why,
                e.running.size(), e.queue.size());
        List<Task> reset = new ArrayList<>(e.queue);
        reset.addAll(e.running);
        e.queue.clear();
        e.running.clear();
        for (Task t : reset) {
            t.exec = null;
            t.onExecutor = false;
            t.ahead = false;
            t.state = TaskState.WAITING;
            t.attempts++;
        }
        List<Block> failed = new ArrayList<>();
        for (Block b : new ArrayList<>(blocks.values())) {
            boolean had = b.locations.remove(e);
            if (b.expected.remove(e)) {
                scatterProgress(b);
            }
            if (!had || !b.done || b.failure != null || !b.locations.isEmpty()) {
                continue;
            }
            if (b.producer != null && b.producer.state == TaskState.DONE && (b.ownerHolds || b.consumers > 0)) {
                // Recompute from lineage: the producer runs again (its inputs are still held by it).
                Task p = b.producer;
                p.state = TaskState.WAITING;
                p.attempts++;
                reset.add(p);
                for (Block out : p.outputs) {
                    if (out.locations.isEmpty()) {
                        out.done = false;
                        for (Task w : out.waiters) {
                            if (w.state == TaskState.WAITING) {
                                w.unresolved++;
                            }
                        }
                    }
                }
                for (Block in : p.inputs) {
                    in.consumers++;
                }
            } else {
                failed.add(b);
            }
        }
        for (Block b : failed) {
            failBlock(b, new Failure(Failure.LOST, "io.quiver.DataLostException", "every copy of " + b.ref
                    + " is gone: executor " + id + " held the only one (" + why + ") and it cannot be recomputed;"
                    + " scatter with Scatter.replicas(n) or broadcast() to survive executor loss", null, id, 0));
        }
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
            if (inputLost) {
                continue; // failBlock already failed it
            }
            if (t.unresolved == 0) {
                ready.add(t);
            }
        }
    }

    // ------------------------------------------------------------------ clients

    private Client client(Link link) {
        return clients.computeIfAbsent(link, Client::new);
    }

    private void onSubmit(Client c, Submit s) {
        for (FnDef f : s.fns()) {
            Fn fn = new Fn(nextFnId++, f.bytes());
            fns.put(fn.id, fn);
            c.fnsById.put(f.fnId(), fn);
        }
        for (TaskSpec spec : s.tasks()) {
            Fn fn = c.fnsById.get(spec.fnId());
            if (fn == null || blocks.containsKey(spec.out())) {
                String why = fn == null ? "names function " + spec.fnId() + " that was never defined"
                        : "reuses ref id " + spec.out();
                c.outDone.add(new RefDone(spec.out(), -1, List.of(), null,
                        new Failure(Failure.TASK, "io.quiver.QuiverException", "invalid task: it " + why, null, leaderId, 0)));
                continue;
            }
            Task t = addTask(spec.out(), List.of(spec.out()), fn, spec.args(), c);
            for (Block out : t.outputs) {
                c.owned.add(out);
            }
        }
    }

    /** Adds a task whose outputs are new blocks owned by {@code owner} (may be null: a job's internal task). */
    Task addTask(RefId id, List<RefId> outs, Fn fn, List<Arg> args, Client owner) {
        Task t = new Task(id, outs, fn, args, owner);
        fn.tasks++;
        tasks.put(id, t);
        for (RefId out : outs) {
            Block b = new Block(out, t, owner);
            blocks.put(out, b);
            t.outputs.add(b);
        }
        Failure inputFailure = null;
        for (Arg a : args) {
            if (!a.isRef()) {
                continue;
            }
            Block in = blocks.get(a.ref());
            if (in == null) {
                inputFailure = new Failure(Failure.LOST, "io.quiver.DataLostException", "input " + a.ref()
                        + " is unknown to the leader: it was released (closed) or belongs to another cluster;"
                        + " keep the input Ref open until the tasks that read it are submitted", null, leaderId, 0);
                break;
            }
            t.inputs.add(in);
            in.consumers++;
            in.waiters.add(t);
            if (in.failure != null) {
                inputFailure = in.failure;
            } else if (!in.done) {
                t.unresolved++;
            }
        }
        if (inputFailure != null) {
            failTask(t, inputFailure);
        } else if (t.unresolved == 0) {
            ready.add(t);
        } else {
            tryAhead(t);
        }
        return t;
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
            if (t != null && (t.state == TaskState.WAITING || t.state == TaskState.QUEUED) && !stillWanted(t)) {
                cancel(t);
            }
            maybeDrop(b);
        }
    }

    private boolean stillWanted(Task t) {
        for (Block out : t.outputs) {
            if (out.ownerHolds || out.consumers > 0) {
                return true;
            }
        }
        return false;
    }

    /** Removes a task that has not been launched and that nobody needs. */
    private void cancel(Task t) {
        if (t.state == TaskState.QUEUED) {
            t.exec.queue.remove(t);
        } else {
            ready.remove(t);
        }
        t.state = TaskState.FAILED;
        for (Block out : t.outputs) {
            out.done = true;
            out.failure = new Failure(Failure.TASK, "io.quiver.QuiverException", "cancelled: released before it ran",
                    null, leaderId, 0);
        }
        releaseInputs(t);
    }

    private void onScatterRequest(Client c, ScatterRequest req) {
        List<Exec> live = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.link != null) {
                live.add(e);
            }
        }
        if (live.isEmpty()) {
            c.link.send(new RequestFailed(req.reqId(), RequestFailed.UNAVAILABLE,
                    "no executors are registered with leader " + leaderId + "; start executors first", null, 0, 0));
            return;
        }
        if (blocks.containsKey(req.ref())) {
            c.link.send(new RequestFailed(req.reqId(), RequestFailed.INVALID, "ref " + req.ref() + " already exists",
                    null, 0, 0));
            return;
        }
        List<Exec> targets = new ArrayList<>();
        Comparator<Exec> byRoom = Comparator.comparingLong(Exec::free).reversed()
                .thenComparingInt(Exec::load).thenComparing(e -> e.id);
        switch (req.mode()) {
            case 2 /* BROADCAST */ -> targets.addAll(live);
            case 3 /* ON */ -> {
                for (String id : req.on()) {
                    Exec e = executors.get(id);
                    if (e == null || e.link == null) {
                        c.link.send(new RequestFailed(req.reqId(), RequestFailed.INVALID, "Scatter.on names executor '"
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
                    c.link.send(new RequestFailed(req.reqId(), RequestFailed.INVALID, "Scatter.replicas(" + n
                            + ") needs " + n + " executors but only " + live.size() + " are live", null, 0, 0));
                    return;
                }
                live.sort(byRoom);
                targets.addAll(live.subList(0, n));
            }
        }
        for (Exec e : targets) {
            if (e.free() < req.size()) {
                c.link.send(new RequestFailed(req.reqId(), RequestFailed.INSUFFICIENT_MEMORY, String.format(
                        "scatter of %s does not fit on executor %s (%s limit, %s used, %s reserved, %s free);"
                                + " start executors with --memory of at least %s more, release refs you no longer"
                                + " need, or scatter %s",
                        mib(req.size()), e.id, mib(e.memoryLimit), mib(e.memoryUsed), mib(e.reserved),
                        mib(Math.max(0, e.free())), mib(req.size() - Math.max(0, e.free())),
                        req.mode() == 2 ? "without broadcast" : "to fewer or other executors"),
                        e.id, Math.max(0, e.free()), req.size()));
                return;
            }
        }
        Block b = new Block(req.ref(), null, c);
        b.scatterReqSize = req.size();
        b.size = req.size();
        b.broadcast = req.mode() == 2;
        b.expected.addAll(targets);
        for (Exec e : targets) {
            e.reserved += req.size();
        }
        blocks.put(req.ref(), b);
        c.owned.add(b);
        c.link.send(new ScatterPlan(req.reqId(), req.ref(), targets.stream().map(Exec::peer).toList()));
    }

    private static String mib(long bytes) {
        return bytes >= (1 << 20) ? (bytes >> 20) + " MiB" : bytes + " bytes";
    }

    private InfoReply info(long reqId) {
        List<ExecInfo> list = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.link != null) {
                list.add(new ExecInfo(e.id, e.host, e.port, e.slots, e.memoryUsed, e.memoryLimit));
            }
        }
        return new InfoReply(reqId, leaderId, epoch, list);
    }

    // ------------------------------------------------------------------ dataset jobs

    /**
     * Plans a dataset job against what the leader knows now and adds its tasks: every stage at
     * once, dependencies by ref, so independent stages run concurrently and each stage starts as
     * its inputs complete. Shuffle outputs belong to no client and are dropped once consumed.
     */
    private void onSubmitJob(Client c, SubmitJob job) {
        PhysicalPlan plan;
        try {
            LogicalPlan logical = LogicalPlan.fromBytes(job.plan());
            plan = Planner.plan(logical, view(logical));
        } catch (RuntimeException e) {
            c.link.send(new RequestFailed(job.reqId(), RequestFailed.INVALID, "invalid dataset job: " + e.getMessage(),
                    null, 0, 0));
            return;
        }
        if (job.explainOnly()) {
            c.link.send(new JobReply(job.reqId(), List.of(), List.of(), List.of(), plan.explain()));
            return;
        }
        Map<Integer, PersistedOutput> persistedByStage = new HashMap<>();
        for (PersistedOutput p : plan.persistedOutputs()) {
            persistedByStage.put(p.stageId(), p);
        }
        List<List<List<RefId>>> outputs = new ArrayList<>(plan.stages().size());
        List<RefId> results = List.of();
        List<RefId> persisted = new ArrayList<>();
        List<Integer> persistedNodes = new ArrayList<>();
        int nextJobRef = 0;
        for (Stage stage : plan.stages()) {
            Fn fn = new Fn(nextFnId++, JavaSerialization.serialize(stage.taskFunction(), "stage " + stage.id()));
            fns.put(fn.id, fn);
            boolean owned = stage.kind() != Stage.Kind.SHUFFLE_MAP;
            List<List<RefId>> stageOuts = new ArrayList<>(stage.tasks().size());
            for (io.quiver.planner.TaskSpec spec : stage.tasks()) {
                List<RefId> outs = new ArrayList<>(stage.outputsPerTask());
                for (int o = 0; o < stage.outputsPerTask(); o++) {
                    outs.add(JobRefs.ref(job.job(), nextJobRef++));
                }
                List<Arg> args = new ArrayList<>(spec.inputs().size());
                for (TaskInput in : spec.inputs()) {
                    if (in instanceof TaskInput.Inline inline) {
                        args.add(Arg.value(DefaultCodec.INSTANCE.toBytes(inline.value())));
                    } else if (in instanceof TaskInput.Pinned pinned) {
                        args.add(Arg.ref(pinned.ref()));
                    } else {
                        TaskInput.StageOutput so = (TaskInput.StageOutput) in;
                        args.add(Arg.ref(outputs.get(so.stageId()).get(so.partition()).get(so.output())));
                    }
                }
                Task t = addTask(outs.get(0), List.copyOf(outs), fn, args, owned ? c : null);
                t.pinnedTo = spec.preferredExecutors();
                if (owned) {
                    c.owned.addAll(t.outputs);
                }
                stageOuts.add(outs);
            }
            outputs.add(stageOuts);
            PersistedOutput p = persistedByStage.get(stage.id());
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
        c.link.send(new JobReply(job.reqId(), results, persisted, persistedNodes, ""));
    }

    /** The live executors and, for each ref the plan pins, who holds it. */
    private ClusterView view(LogicalPlan plan) {
        List<String> live = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.link != null) {
                live.add(e.id);
            }
        }
        ClusterView view = ClusterView.of(live);
        for (LogicalNode node : plan.nodes()) {
            List<RefId> pinned = new ArrayList<>();
            if (node.pinned() != null) {
                pinned.add(node.pinned());
            }
            if (node.kind() == LogicalNode.Kind.PERSISTED) {
                pinned.addAll(node.refs());
            }
            for (RefId ref : pinned) {
                Block b = blocks.get(ref);
                if (b != null && b.failure == null) {
                    view = view.withRef(ref, b.broadcast, new HashSet<>(locationIds(b)));
                }
            }
        }
        return view;
    }

    // ------------------------------------------------------------------ executors

    private void onRegister(Link link, String id, Register r) {
        Exec e = executors.get(id);
        if (e == null) {
            e = new Exec(id);
            executors.put(id, e);
            log.info("executor {} registered ({}:{}, {} slots, {} MiB)", id, r.host(), r.port(), r.slots(),
                    r.memoryLimit() >> 20);
        } else if (e.link != null && e.link != link) {
            e.link.close();
        }
        e.link = link;
        e.host = r.host();
        e.port = r.port();
        e.slots = r.slots();
        e.memoryLimit = r.memoryLimit();
        e.memoryUsed = r.memoryUsed();
        for (BlockInfo bi : r.inventory()) {
            Block b = blocks.get(bi.ref());
            if (b != null && b.failure == null) {
                b.locations.add(e);
            } else {
                // Left from an earlier leader's term: nothing here refers to it any more.
                e.outDrops.add(bi.ref());
            }
        }
    }

    private void onTaskResults(String execId, TaskResults results) {
        Exec e = executors.get(execId);
        if (e == null) {
            return;
        }
        e.memoryUsed = results.memoryUsed();
        for (TaskResult r : results.results()) {
            Task t = tasks.get(r.task());
            if (t == null || t.exec != e || !t.onExecutor) {
                continue; // stale: re-placed after a loss, or cancelled
            }
            t.onExecutor = false;
            e.running.remove(t);
            // Recent task time; one outlier may at most double it, so a single slow task does not
            // make a loaded executor look idle-worthy for everything queued behind it.
            double sample = Math.min(Math.max(1_000, r.nanos()), 5 * e.avgTaskNanos + 1_000_000);
            e.avgTaskNanos = 0.8 * e.avgTaskNanos + 0.2 * sample;
            if (t.state != TaskState.LAUNCHED) {
                continue; // already failed through an input
            }
            if (r.failure() != null) {
                Failure f = r.failure();
                failTask(t, new Failure(f.kind(), f.type(), f.message(), f.stack(), e.id, t.attempts + 1));
                continue;
            }
            t.state = TaskState.DONE;
            for (int i = 0; i < t.outputs.size(); i++) {
                Block b = t.outputs.get(i);
                BlockInfo info = i < r.outputs().size() ? r.outputs().get(i) : null;
                b.size = info == null ? -1 : info.size();
                b.locations.add(e);
                b.done = true;
                if (b.ownerHolds) {
                    byte[] inline = t.outputs.size() == 1 ? r.inline() : null;
                    b.owner.outDone.add(new RefDone(b.ref, b.size, locationIds(b), inline, null));
                }
                for (Task w : b.waiters) {
                    if (w.state == TaskState.WAITING && --w.unresolved == 0) {
                        ready.add(w);
                    } else if (w.state != TaskState.WAITING && w.state != TaskState.DONE && w.state != TaskState.FAILED) {
                        w.unresolved--;
                    }
                }
            }
            releaseInputs(t);
            for (Block b : t.outputs) {
                maybeDrop(b);
            }
        }
    }

    private void onStoredBlocks(String execId, StoredBlocks s) {
        Exec e = executors.get(execId);
        if (e == null) {
            return;
        }
        e.memoryUsed = s.memoryUsed();
        for (BlockInfo info : s.stored()) {
            Block b = blocks.get(info.ref());
            if (b == null) {
                // Released meanwhile, or unknown: the executor must not keep it.
                e.outDrops.add(info.ref());
                continue;
            }
            if (b.expected.remove(e)) {
                e.reserved -= b.scatterReqSize;
            }
            b.locations.add(e);
            if (b.size < 0) {
                b.size = info.size();
            }
            scatterProgress(b);
        }
        for (BlockFailure f : s.failed()) {
            Block b = blocks.get(f.ref());
            if (b != null && b.expected.remove(e)) {
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
        if (b.ownerHolds) {
            b.owner.outDone.add(new RefDone(b.ref, b.size, locationIds(b), null, null));
        }
        for (Task w : b.waiters) {
            if (w.state == TaskState.WAITING && --w.unresolved == 0) {
                ready.add(w);
            }
        }
        maybeDrop(b);
    }

    // ------------------------------------------------------------------ failure and release

    private void failTask(Task t, Failure f) {
        ArrayDeque<Task> work = new ArrayDeque<>();
        work.add(t);
        while (!work.isEmpty()) {
            Task x = work.poll();
            if (x.state == TaskState.DONE || x.state == TaskState.FAILED) {
                continue;
            }
            if (x.state == TaskState.QUEUED) {
                x.exec.queue.remove(x);
            } else if (x.state == TaskState.WAITING) {
                ready.remove(x);
            }
            x.state = TaskState.FAILED;
            releaseInputs(x);
            for (Block out : x.outputs) {
                out.done = true;
                out.failure = f;
                if (out.ownerHolds) {
                    out.owner.outDone.add(new RefDone(out.ref, -1, List.of(), null, f));
                }
                work.addAll(out.waiters);
            }
        }
    }

    private void failBlock(Block b, Failure f) {
        if (b.failure != null) {
            return;
        }
        for (Exec e : b.expected) {
            e.reserved -= b.scatterReqSize;
        }
        b.expected.clear();
        b.done = true;
        b.failure = f;
        if (b.ownerHolds) {
            b.owner.outDone.add(new RefDone(b.ref, -1, List.of(), null, f));
        }
        for (Task w : List.copyOf(b.waiters)) {
            failTask(w, f);
        }
    }

    private void releaseInputs(Task t) {
        for (Block in : t.inputs) {
            in.consumers--;
            in.waiters.remove(t);
            maybeDrop(in);
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
        if (b.owner != null) {
            b.owner.owned.remove(b);
        }
        for (Exec e : b.locations) {
            e.outDrops.add(b.ref);
        }
        for (Exec e : b.expected) {
            e.reserved -= b.scatterReqSize;
        }
        Task t = b.producer;
        if (t != null && t.outputs.stream().noneMatch(o -> blocks.get(o.ref) == o)) {
            tasks.remove(t.id);
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

    // ------------------------------------------------------------------ placement and launch

    /**
     * Sends a waiting task ahead to the executor that produces all its missing inputs, so a chain
     * runs there without a leader round trip per link.
     */
    private void tryAhead(Task first) {
        ArrayDeque<Task> work = new ArrayDeque<>();
        work.add(first);
        while (!work.isEmpty()) {
            Task t = work.poll();
            if (t.state != TaskState.WAITING || t.unresolved == 0) {
                continue;
            }
            Exec target = null;
            boolean ok = true;
            for (Block in : t.inputs) {
                if (in.done) {
                    continue;
                }
                Task p = in.producer;
                if (p == null || (p.state != TaskState.QUEUED && p.state != TaskState.LAUNCHED)
                        || (target != null && target != p.exec)) {
                    ok = false;
                    break;
                }
                target = p.exec;
            }
            if (!ok || target == null || !target.alive) {
                continue;
            }
            t.ahead = true;
            assign(t, target);
            for (Block out : t.outputs) {
                work.addAll(out.waiters);
            }
        }
    }

    private void assign(Task t, Exec e) {
        t.state = TaskState.QUEUED;
        t.exec = e;
        e.queue.add(t);
    }

    /** Places ready tasks, launches up to each executor's lookahead, and flushes every outbox. */
    public void afterBatch() {
        if (!ready.isEmpty()) {
            placeReady();
        }
        for (Exec e : executors.values()) {
            if (e.link != null) {
                launch(e);
            }
        }
        stealForIdle();
        flush();
    }

    private void placeReady() {
        List<Exec> live = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.link != null) {
                live.add(e);
            }
        }
        if (live.isEmpty()) {
            return; // they wait for an executor
        }
        List<Placement.Candidate> candidates = new ArrayList<>(live.size());
        int[] load = new int[live.size()];
        for (int i = 0; i < live.size(); i++) {
            load[i] = live.get(i).load();
        }
        Task t;
        while ((t = ready.poll()) != null) {
            if (t.state != TaskState.WAITING) {
                continue;
            }
            candidates.clear();
            boolean pinned = anyLive(t.pinnedTo);
            for (int i = 0; i < live.size(); i++) {
                Exec e = live.get(i);
                if (!pinned || t.pinnedTo.contains(e.id)) {
                    candidates.add(new Placement.Candidate(i, e.host, load[i], e.slots, e.avgTaskNanos));
                }
            }
            int chosen = candidates.get(Placement.choose(candidates, inputsOf(t, live))).index();
            load[chosen]++;
            Exec target = live.get(chosen);
            assign(t, target);
            for (Block out : t.outputs) {
                for (Task w : out.waiters) {
                    tryAhead(w);
                }
            }
        }
    }

    /** Whether any of these executors is live (pinned tasks then run only there). */
    private boolean anyLive(List<String> ids) {
        for (String id : ids) {
            Exec e = executors.get(id);
            if (e != null && e.link != null) {
                return true;
            }
        }
        return false;
    }

    private static List<Placement.Input> inputsOf(Task t, List<Exec> live) {
        if (t.inputs.isEmpty()) {
            return List.of();
        }
        List<Placement.Input> inputs = new ArrayList<>(t.inputs.size());
        for (Block b : t.inputs) {
            List<Integer> holders = new ArrayList<>(b.locations.size());
            List<String> hosts = new ArrayList<>(b.locations.size());
            for (Exec holder : b.locations) {
                int idx = live.indexOf(holder);
                if (idx >= 0) {
                    holders.add(idx);
                }
                hosts.add(holder.host);
            }
            inputs.add(new Placement.Input(Math.max(0, b.size), holders, hosts));
        }
        return inputs;
    }

    private void launch(Exec e) {
        int limit = e.limit();
        while (e.running.size() < limit && !e.queue.isEmpty()) {
            Task t = e.queue.poll();
            t.state = TaskState.LAUNCHED;
            t.onExecutor = true;
            e.running.add(t);
            if (e.knownFns.add(t.fn.id)) {
                e.outFns.add(new FnDef(t.fn.id, t.fn.bytes, null));
            }
            List<Arg> args = t.args;
            if (!t.inputs.isEmpty()) {
                args = new ArrayList<>(t.args.size());
                for (Arg a : t.args) {
                    if (a.isRef()) {
                        Block b = blocks.get(a.ref());
                        List<Peer> where = new ArrayList<>();
                        if (b != null && b.done) {
                            for (Exec holder : b.locations) {
                                where.add(holder.peer());
                            }
                        }
                        args.add(a.withLocations(where));
                    } else {
                        args.add(a);
                    }
                }
            }
            e.outLaunches.add(new TaskLaunch(t.outs, t.fn.id, args));
        }
    }

    /**
     * An executor with room and nothing queued takes queued (not yet launched) work from others
     * when running it here, inputs moved, beats waiting there.
     */
    private void stealForIdle() {
        for (Exec idle : executors.values()) {
            if (idle.link == null || !idle.queue.isEmpty() || idle.running.size() >= idle.slots) {
                continue;
            }
            for (Exec busy : executors.values()) {
                if (busy == idle || busy.queue.isEmpty()) {
                    continue;
                }
                Iterator<Task> it = busy.queue.descendingIterator();
                while (it.hasNext() && idle.running.size() < idle.limit()) {
                    Task t = it.next();
                    if (t.ahead || t.unresolved > 0 || feedsAheadTasks(t)
                            || (!t.pinnedTo.contains(idle.id) && anyLive(t.pinnedTo))) {
                        continue;
                    }
                    double waitThere = (double) busy.load() * busy.avgTaskNanos / busy.slots;
                    double moveHere = 0;
                    for (Block b : t.inputs) {
                        if (!b.locations.contains(idle) && b.size > 0) {
                            moveHere += b.size / Placement.REMOTE_BYTES_PER_NANO;
                        }
                    }
                    if (moveHere >= waitThere) {
                        continue;
                    }
                    it.remove();
                    assign(t, idle);
                    launch(idle);
                }
            }
        }
    }

    /**
     * Whether a task sent ahead to this task's executor waits there for one of its outputs. Such
     * a task may already be launched with no location for that input (it awaits local production),
     * so moving this task elsewhere would leave it waiting forever.
     */
    private static boolean feedsAheadTasks(Task t) {
        for (Block out : t.outputs) {
            for (Task w : out.waiters) {
                if (w.ahead && w.exec == t.exec && (w.state == TaskState.QUEUED || w.state == TaskState.LAUNCHED)) {
                    return true;
                }
            }
        }
        return false;
    }

    private void flush() {
        for (Exec e : executors.values()) {
            if (e.link == null) {
                e.outLaunches.clear();
                e.outFns.clear();
                continue;
            }
            if (!e.outLaunches.isEmpty() || !e.outFns.isEmpty()) {
                e.link.send(new Launch(epoch, List.copyOf(e.outFns), List.copyOf(e.outLaunches)));
                e.outLaunches.clear();
                e.outFns.clear();
            }
            if (!e.outDrops.isEmpty() || !e.outDropFns.isEmpty()) {
                e.link.send(new Drop(epoch, List.copyOf(e.outDrops), List.copyOf(e.outDropFns)));
                e.outDrops.clear();
                e.outDropFns.clear();
            }
        }
        for (Client c : clients.values()) {
            if (!c.outDone.isEmpty()) {
                c.link.send(new RefsDone(List.copyOf(c.outDone)));
                c.outDone.clear();
            }
        }
    }

    private static List<String> locationIds(Block b) {
        List<String> ids = new ArrayList<>(b.locations.size());
        for (Exec e : b.locations) {
            ids.add(e.id);
        }
        return ids;
    }

    // ------------------------------------------------------------------ views for tests and status

    public int liveExecutors() {
        int n = 0;
        for (Exec e : executors.values()) {
            n += e.link != null ? 1 : 0;
        }
        return n;
    }

    public int blockCount() {
        return blocks.size();
    }

    public int taskCount() {
        return tasks.size();
    }
}
