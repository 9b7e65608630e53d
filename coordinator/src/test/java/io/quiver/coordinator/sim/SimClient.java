package io.quiver.coordinator.sim;

import io.quiver.RefId;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.Hold;
import io.quiver.core.protocol.Message.InfoReply;
import io.quiver.core.protocol.Message.InfoRequest;
import io.quiver.core.protocol.Message.JobReply;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Release;
import io.quiver.core.protocol.Message.RequestFailed;
import io.quiver.core.protocol.Message.ScatterPlan;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.SubmitJob;
import io.quiver.core.protocol.Message.TaskSpec;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A simulated client, confined to the simulation thread: it submits tasks, chains, tasks over
 * scattered and broadcast refs and dataset jobs, scatters, releases, and checks every completion
 * against the value the ref must have. On every new connection (after a leader change or a drop)
 * it resumes as the failover plan says: {@code Hold} for refs no task produces, then its live task
 * specs in creation order, then its jobs again, then its pending requests.
 */
final class SimClient implements SimLink.Peer {
    enum Kind { TASK, SCATTER, BROADCAST, JOB_RESULT }

    /** One ref as the client's ref table has it. */
    static final class ClientRef {
        final RefId ref;
        final Kind kind;
        final long createdAt;
        TaskSpec spec;
        FnDef fn;
        List<RefId> inputs = List.of();
        boolean held = true;
        boolean done;
        Long value;
        Message.Failure failure;
        // scatters
        ScatterRequest request;
        List<String> targets;
        // job results
        ClientJob job;

        ClientRef(RefId ref, Kind kind, long createdAt) {
            this.ref = ref;
            this.kind = kind;
            this.createdAt = createdAt;
        }

        boolean planned() {
            return targets != null;
        }

        @Override
        public String toString() {
            return kind.name().toLowerCase() + " " + ref;
        }
    }

    static final class ClientJob {
        final long reqId;
        final RefId job;
        final byte[] plan;
        final SimValues.JobExpectation expect;
        List<RefId> results;

        ClientJob(long reqId, RefId job, byte[] plan, SimValues.JobExpectation expect) {
            this.reqId = reqId;
            this.job = job;
            this.plan = plan;
            this.expect = expect;
        }
    }

    private final Simulation sim;
    private final String id;
    private final long owner;
    private long seq;
    private long nextReqId;
    SimLink link;
    final LinkedHashMap<RefId, ClientRef> refs = new LinkedHashMap<>();
    private final Map<Long, ClientRef> scatterRequests = new LinkedHashMap<>();
    final Map<Long, ClientJob> jobs = new LinkedHashMap<>();
    private final Set<Long> infoRequests = new LinkedHashSet<>();
    private long nextFnId;
    private final Map<RefId, RefDone> early = new HashMap<>();
    int unverifiable;
    /** It said Goodbye: it sends nothing more and ignores what still arrives. */
    boolean gone;

    SimClient(Simulation sim, int number) {
        this.sim = sim;
        this.id = "client-" + number;
        this.owner = number;
    }

    @Override
    public String id() {
        return id;
    }

    private RefId newRef() {
        return new RefId(owner, ++seq);
    }

    private void send(Message m) {
        if (!gone && link != null && link.isOpen()) {
            link.sendToLeader(m);
        }
    }

    // ------------------------------------------------------------------ actions

    RefId submit(List<RefId> inputs, boolean throwing) {
        // Like QuiverClient: every submit ships its own function definition under a fresh id.
        long fnId = ++nextFnId;
        RefId out = newRef();
        List<Arg> args = new ArrayList<>();
        for (RefId in : inputs) {
            args.add(Arg.ref(in));
        }
        ClientRef r = new ClientRef(out, Kind.TASK, sim.now());
        r.spec = new TaskSpec(out, fnId, args);
        r.fn = new FnDef(fnId, throwing ? SimValues.FN_THROWS_BYTES : SimValues.FN_OK_BYTES, null);
        r.inputs = List.copyOf(inputs);
        refs.put(out, r);
        sim.trace(() -> id + " submits " + out + (inputs.isEmpty() ? "" : " over " + inputs) + (throwing ? " (throws)" : ""));
        if (link != null) {
            send(new Submit(List.of(r.fn), List.of(r.spec)));
        }
        return out;
    }

    List<RefId> chain(int length, RefId first) {
        List<RefId> chain = new ArrayList<>();
        RefId prev = first;
        for (int i = 0; i < length; i++) {
            prev = submit(prev == null ? List.of() : List.of(prev), false);
            chain.add(prev);
        }
        return chain;
    }

    /** mode as Scatter.Mode's ordinal: 0 SINGLE, 1 REPLICAS, 2 BROADCAST. */
    RefId scatter(byte mode, int replicas) {
        RefId ref = newRef();
        ClientRef r = new ClientRef(ref, mode == 2 ? Kind.BROADCAST : Kind.SCATTER, sim.now());
        long reqId = ++nextReqId;
        r.request = new ScatterRequest(reqId, ref, SimValues.BLOCK_SIZE, mode, replicas, List.of());
        refs.put(ref, r);
        scatterRequests.put(reqId, r);
        sim.trace(() -> id + " scatters " + ref + (mode == 2 ? " (broadcast)" : " (" + replicas + " replicas)"));
        send(r.request);
        return ref;
    }

    RefId job(int mapPartitions, int reducePartitions, RefId broadcast) {
        RefId job = newRef();
        LogicalPlan plan = SimValues.jobPlan(mapPartitions, reducePartitions, broadcast);
        ClientJob j = new ClientJob(++nextReqId, job, plan.toBytes(), SimValues.JobExpectation.of(job, plan, broadcast));
        jobs.put(j.reqId, j);
        sim.trace(() -> id + " submits job " + job + " (" + mapPartitions + " x " + reducePartitions
                + (broadcast == null ? "" : ", over " + broadcast) + ")");
        send(new SubmitJob(j.reqId, job, j.plan, false));
        return job;
    }

    void release(RefId ref) {
        ClientRef r = refs.get(ref);
        if (r == null || !r.held) {
            return;
        }
        r.held = false;
        sim.trace(() -> id + " releases " + ref);
        if (r.request != null && !r.planned()) {
            scatterRequests.values().remove(r);
        }
        send(new Release(List.of(ref)));
    }

    /** Goodbye: the leader releases everything this client held at once. */
    void leave() {
        sim.trace(() -> id + " says goodbye");
        send(new Message.Goodbye());
        gone = true;
        if (link != null) {
            SimLink l = link;
            link = null;
            l.closeByPeer(id + " left");
        }
    }

    void info() {
        long reqId = ++nextReqId;
        infoRequests.add(reqId);
        send(new InfoRequest(reqId));
    }

    /** Held refs usable as inputs: not failed, and (for scatters) placed by a leader. */
    List<ClientRef> usable() {
        List<ClientRef> out = new ArrayList<>();
        for (ClientRef r : refs.values()) {
            if (r.held && r.failure == null && (r.request == null || r.planned())) {
                out.add(r);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ connection

    void onLeaderPublished(SimCoordinator leader) {
        sim.after(sim.clientWatchLag + sim.uniform(0, 300_000_000L), () -> {
            if (gone || sim.published() != leader) {
                return;
            }
            if (link != null && link.leader != leader) {
                SimLink old = link;
                link = null;
                old.closeByPeer(id + " moves to " + leader.name());
            }
            connect();
        });
    }

    void connect() {
        if (gone || link != null) {
            return;
        }
        SimCoordinator target = sim.published();
        if (target == null) {
            return;
        }
        link = SimLink.connect(sim, target, this);
        resume();
    }

    @Override
    public void onClosed(SimLink closed) {
        if (closed != link) {
            return;
        }
        link = null;
        sim.after(sim.uniform(10_000_000L, 300_000_000L), this::connect);
    }

    /** What a client sends on a new connection, in the plan's order. */
    private void resume() {
        send(new Message.Resume(false));
        // A job goes again while a result is live: held, or read by a live task although released
        // (the client's Lineage does the same). What such a job pins stays held for it, even if
        // the user released it meanwhile, and is released again after it.
        List<ClientRef> live = liveTasks();
        Set<RefId> readByLive = new HashSet<>();
        live.forEach(r -> readByLive.addAll(r.inputs));
        List<ClientJob> liveJobs = new ArrayList<>();
        Set<RefId> pinnedByLiveJobs = new HashSet<>();
        for (ClientJob j : jobs.values()) {
            if (j.results == null
                    || j.results.stream().anyMatch(ref -> refs.get(ref).held || readByLive.contains(ref))) {
                liveJobs.add(j);
                pinnedByLiveJobs.addAll(j.expect.pinned());
            }
        }
        List<HeldRef> held = new ArrayList<>();
        List<RefId> pinnedOnly = new ArrayList<>();
        for (ClientRef r : refs.values()) {
            boolean forJob = !r.held && pinnedByLiveJobs.contains(r.ref);
            if ((r.held || forJob) && r.request != null && r.planned() && r.failure == null) {
                held.add(new HeldRef(r.ref, r.kind == Kind.BROADCAST ? HeldRef.BROADCAST : HeldRef.SCATTERED,
                        SimValues.BLOCK_SIZE, r.done ? List.of() : r.targets));
                if (forJob) {
                    pinnedOnly.add(r.ref);
                }
            }
        }
        if (!held.isEmpty()) {
            send(new Hold(held));
        }
        // Jobs before tasks: a task may read a job's output.
        List<RefId> releasedResults = new ArrayList<>();
        for (ClientJob j : liveJobs) {
            send(new SubmitJob(j.reqId, j.job, j.plan, false));
            if (j.results != null) {
                // Results the user already released: the job sent again must not compute them again.
                j.results.stream().filter(ref -> !refs.get(ref).held).forEach(releasedResults::add);
            }
        }
        List<TaskSpec> specs = new ArrayList<>();
        List<FnDef> fns = new ArrayList<>();
        List<RefId> lineageOnly = new ArrayList<>();
        for (ClientRef r : live) {
            specs.add(r.spec);
            fns.add(r.fn);
            if (!r.held) {
                lineageOnly.add(r.ref);
            }
        }
        if (!specs.isEmpty()) {
            send(new Submit(fns, specs));
        }
        // After the tasks, which may read them: refs kept only for lineage, job results released,
        // and released refs kept only for a job that reads them.
        lineageOnly.addAll(releasedResults);
        lineageOnly.addAll(pinnedOnly);
        if (!lineageOnly.isEmpty()) {
            send(new Release(lineageOnly));
        }
        for (ClientRef r : scatterRequests.values()) {
            send(r.request);
        }
        for (long reqId : infoRequests) {
            send(new InfoRequest(reqId));
        }
        send(new Message.Resume(true));
        int n = specs.size();
        sim.trace(() -> id + " resumes with " + link.leader.name() + ": " + held.size() + " held, " + n + " specs ("
                + lineageOnly.size() + " for lineage only), " + jobs.size() + " jobs, " + scatterRequests.size()
                + " scatter requests");
    }

    /** Held task refs, and their lineage (released inputs, transitively), in creation order. */
    private List<ClientRef> liveTasks() {
        Set<RefId> live = new HashSet<>();
        ArrayDeque<ClientRef> work = new ArrayDeque<>();
        for (ClientRef r : refs.values()) {
            if (r.kind == Kind.TASK && r.held && live.add(r.ref)) {
                work.add(r);
            }
        }
        while (!work.isEmpty()) {
            ClientRef r = work.poll();
            // Through done refs too: a held ref's whole lineage goes again, in case its result was lost.
            for (RefId in : r.inputs) {
                ClientRef input = refs.get(in);
                if (input != null && input.kind == Kind.TASK && live.add(in)) {
                    work.add(input);
                }
            }
        }
        List<ClientRef> out = new ArrayList<>();
        for (ClientRef r : refs.values()) {
            if (live.contains(r.ref)) {
                out.add(r);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ replies

    @Override
    public void onMessage(SimLink from, Message m) {
        if (gone) {
            return;
        }
        if (m instanceof RefsDone done) {
            for (RefDone d : done.refs()) {
                ClientRef r = refs.get(d.ref());
                if (r == null) {
                    early.put(d.ref(), d);
                } else {
                    onDone(r, d);
                }
            }
        } else if (m instanceof ScatterPlan plan) {
            ClientRef r = scatterRequests.remove(plan.reqId());
            if (r == null) {
                return;
            }
            r.targets = plan.targets().stream().map(Peer::id).toList();
            sim.invariants.scatterPlanned(r.ref, r.targets);
            long value = SimValues.scatterValue(r.ref);
            for (String target : r.targets) {
                SimExecutor e = sim.executor(target);
                if (e != null) {
                    sim.after(sim.netDelay() * 3, () -> e.onPut(r.ref, value));
                }
            }
        } else if (m instanceof RequestFailed f) {
            ClientRef r = scatterRequests.remove(f.reqId());
            if (r != null) {
                r.done = true;
                r.failure = new Message.Failure("request", "RequestFailed(" + f.kind() + ")", f.message(), "", f.executorId(), 0);
                sim.invariants.scatterRefused(this, r, f);
            } else if (jobs.containsKey(f.reqId())) {
                sim.invariants.jobRefused(this, jobs.get(f.reqId()), f);
                jobs.remove(f.reqId());
            }
        } else if (m instanceof JobReply reply) {
            onJobReply(reply);
        } else if (m instanceof InfoReply info) {
            infoRequests.remove(info.reqId());
            sim.invariants.infoReply(from.leader, info);
        }
    }

    private void onJobReply(JobReply reply) {
        ClientJob j = jobs.get(reply.reqId());
        if (j == null) {
            return;
        }
        if (j.results != null) {
            if (!j.results.equals(reply.results())) {
                sim.invariants.jobResultsChanged(this, j, reply.results());
            }
            return;
        }
        j.results = List.copyOf(reply.results());
        sim.invariants.jobPlanned(this, j);
        for (RefId ref : j.results) {
            ClientRef r = new ClientRef(ref, Kind.JOB_RESULT, sim.now());
            r.job = j;
            refs.put(ref, r);
            RefDone d = early.remove(ref);
            if (d != null) {
                onDone(r, d);
            }
        }
    }

    private void onDone(ClientRef r, RefDone d) {
        if (!r.held) {
            return;
        }
        Long value = null;
        if (d.failure() == null) {
            value = d.inline() != null ? Long.valueOf(SimValues.decode(d.inline())) : gather(r.ref, d.locations());
            if (value == null) {
                unverifiable++;
            }
        }
        if (r.done) {
            sim.invariants.doneAgain(this, r, d, value);
            return;
        }
        r.done = true;
        r.value = value;
        r.failure = d.failure();
        sim.invariants.refDone(this, r, d, value);
    }

    /** Fetches a value from an executor the leader named (the client's direct gather). */
    private Long gather(RefId ref, List<String> locations) {
        for (String loc : locations) {
            SimExecutor e = sim.executor(loc);
            if (e != null && e.alive && e.store.containsKey(ref)) {
                return e.store.get(ref);
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ what refs must be

    /** The value {@code ref} must have, or null if it must fail (its lineage throws). */
    Long expected(RefId ref) {
        ClientRef r = refs.get(ref);
        switch (r.kind) {
            case SCATTER, BROADCAST -> {
                return SimValues.scatterValue(ref);
            }
            case JOB_RESULT -> {
                return r.job.expect.values().get(ref);
            }
            default -> {
                if (SimValues.throwsFn(r.fn.bytes())) {
                    return null;
                }
                List<Long> inputs = new ArrayList<>();
                for (RefId in : r.inputs) {
                    Long v = expected(in);
                    if (v == null) {
                        return null;
                    }
                    inputs.add(v);
                }
                return SimValues.taskValue(ref, inputs);
            }
        }
    }

    /** The scattered refs in {@code ref}'s lineage, and the task refs (for the bad-task rule). */
    void lineage(RefId ref, Set<RefId> scatters, Set<RefId> tasks) {
        ArrayDeque<RefId> work = new ArrayDeque<>(List.of(ref));
        Set<RefId> seen = new HashSet<>();
        while (!work.isEmpty()) {
            RefId x = work.poll();
            if (!seen.add(x)) {
                continue;
            }
            ClientRef r = refs.get(x);
            if (r == null) {
                tasks.add(x); // a job's internal ref
                continue;
            }
            switch (r.kind) {
                case SCATTER, BROADCAST -> scatters.add(x);
                case JOB_RESULT -> {
                    tasks.add(x);
                    tasks.addAll(r.job.expect.values().keySet());
                    scatters.addAll(r.job.expect.pinned());
                }
                default -> {
                    tasks.add(x);
                    work.addAll(r.inputs);
                }
            }
        }
    }

    /** Held refs that never completed, and requests never answered. */
    List<String> waiting() {
        List<String> out = new ArrayList<>();
        for (ClientRef r : refs.values()) {
            if (r.held && !r.done) {
                out.add(r + " (created at " + Simulation.time(r.createdAt) + ")");
            }
        }
        for (ClientJob j : jobs.values()) {
            if (j.results == null) {
                out.add("job " + j.job + " never got a JobReply");
            }
        }
        for (long reqId : infoRequests) {
            out.add("info request " + reqId + " never answered");
        }
        return out;
    }

    Map<RefId, ClientRef> refs() {
        return refs;
    }

    static Map<String, Integer> count(Iterable<ClientRef> refs) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (ClientRef r : refs) {
            String k = !r.held ? "released" : !r.done ? "pending" : r.failure != null ? "failed" : "ok";
            m.merge(k, 1, Integer::sum);
        }
        return m;
    }
}
