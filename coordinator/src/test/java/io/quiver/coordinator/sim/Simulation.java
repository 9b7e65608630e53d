package io.quiver.coordinator.sim;

import io.quiver.RefId;
import io.quiver.coordinator.sched.SchedulerEvent;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorLinkClosed;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorNodeGone;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorNodeSeen;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorRegistered;
import io.quiver.coordinator.sched.SchedulerEvent.ClientLinkClosed;
import io.quiver.coordinator.sched.SchedulerEvent.TasksFinished;
import io.quiver.coordinator.sched.SchedulerEvent.TasksSubmitted;
import io.quiver.coordinator.sched.SchedulerEvent.BlocksStored;
import io.quiver.coordinator.sched.SchedulerEvent.TermStarted;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Drop;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.TaskResults;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * A deterministic simulation of a Quiver cluster around the leader's scheduler, in the manner of
 * Kafka's {@code RaftEventSimulationTest}: one thread, a fake clock in nanoseconds, one seeded
 * {@link Random} for every choice, and a queue of timed events. Simulated executors and clients
 * talk to the current {@link SimCoordinator} over {@link SimLink}s that deliver in order after
 * random delays; faults (leader crashes and depositions, executor crashes and session expiries,
 * dropped links) are injected at random times. After every event the {@link SimInvariants} are
 * checked; at the end, after the faults stop and everything settles, nothing may still wait.
 *
 * <p>The same seed gives the same run, event for event: nothing here reads the wall clock, and
 * every collection iterated to make a choice has a deterministic order.
 */
final class Simulation {
    /** The faults a run may inject, with how often each is picked. */
    enum Fault {
        LEADER_CRASH(30), LEADER_DEPOSED(25), EXECUTOR_CRASH(20), LINK_DROP(18), EXECUTOR_SESSION_EXPIRY(7),
        /** The leader's ZooKeeper connection is SUSPENDED for a while, then reconnects within its session. */
        ZOOKEEPER_SUSPENDED(5);

        final int weight;

        Fault(int weight) {
            this.weight = weight;
        }
    }

    /** The shape of one run; {@link #random} draws one from the seed. */
    record Config(int executors, int maxSlots, int clients, int actions, long meanActionGapNanos, int faults,
                  java.util.Set<Fault> faultKinds) {
        static Config random(Random r, java.util.Set<Fault> kinds) {
            return new Config(2 + r.nextInt(3), 1 + r.nextInt(3), 1 + r.nextInt(2), 30 + r.nextInt(90),
                    5_000_000L + r.nextInt(40_000_000), kinds.isEmpty() ? 0 : 1 + r.nextInt(4), kinds);
        }

        /** For scripted scenarios: the cluster only, no random workload or faults. */
        static Config scripted(int executors, int slots) {
            return new Config(executors, slots, 1, 0, 0, 0, java.util.EnumSet.noneOf(Fault.class));
        }
    }

    /** A run's outcome: violations (empty if it passed) and what a reader needs to replay it. */
    record Result(long seed, Config config, List<SimInvariants.Violation> violations, String stats, String trace,
                  int refusedCommands, int staleExecuted, int taskRuns) {
        boolean passed() {
            return violations.isEmpty();
        }

        String report() {
            StringBuilder sb = new StringBuilder();
            sb.append("simulation of seed ").append(seed).append(passed() ? " passed" : " FAILED").append('\n');
            // -am: the modules it depends on are built too; they have no test of that name.
            sb.append("replay: mvn -B test -pl coordinator -am -Dsurefire.failIfNoSpecifiedTests=false"
                    + " -Dtest=SimReplayTest -Dquiver.sim.seed=").append(seed);
            if (config.faultKinds().size() != Fault.values().length) {
                sb.append(" '-Dquiver.sim.faults=").append(config.faultKinds()).append('\'');
            }
            sb.append('\n');
            sb.append(config).append('\n').append(stats).append('\n');
            violations.stream().map(SimInvariants.Violation::invariant).distinct()
                    .forEach(i -> sb.append(i).append(" means: ").append(i.meaning).append('\n'));
            int shown = 0;
            for (SimInvariants.Violation v : violations) {
                if (shown++ == 6) {
                    sb.append("  ... ").append(violations.size() - 6).append(" more\n");
                    break;
                }
                sb.append("  ").append(v).append('\n');
            }
            sb.append("last events:\n").append(trace);
            return sb.toString();
        }
    }

    private record Ev(long time, long seq, Runnable action) {}

    static final int TRACE_LINES = 160;
    private static final long MAX_EVENTS = 3_000_000;
    /** How long the run may go on after the last fault before it must have settled. */
    static final long SETTLE_NANOS = 200_000_000_000L;
    private static final boolean TRACE_ALL = "all".equals(System.getProperty("quiver.sim.trace"));

    final long seed;
    private final Random random;
    final Config config;
    private final SimLeader.Factory factory;
    final SimInvariants invariants;
    private final boolean failFast;

    private long now;
    private long seq;
    private final PriorityQueue<Ev> queue = new PriorityQueue<>(
            Comparator.comparingLong(Ev::time).thenComparingLong(Ev::seq));
    private final ArrayDeque<String> trace = new ArrayDeque<>();
    /** Gets every trace line, if set (the replay test compares whole runs). */
    java.util.function.Consumer<String> traceSink;
    private long events;
    private long linkIds;

    private final List<SimCoordinator> coordinators = new ArrayList<>();
    private SimCoordinator current;
    private SimCoordinator published;
    private long zkEpoch;
    private final List<SimExecutor> executors = new ArrayList<>();
    private final Map<String, SimExecutor> executorsById = new HashMap<>();
    private int nextExecutor = 1;
    private final List<SimClient> clients = new ArrayList<>();
    private int nextClient = 1;
    /** Extra delay before clients see a new leader (scenarios use it to keep a deposed leader busy). */
    long clientWatchLag;
    /** When the last scripted or random action or fault is due. */
    private long horizon;
    private final Map<String, Integer> faults = new java.util.TreeMap<>();

    /** A cluster of {@code config} whose every choice comes from {@code seed}. */
    Simulation(long seed, Config config, SimLeader.Factory factory, boolean failFast) {
        this(seed, new Random(seed), config, factory, failFast);
    }

    private Simulation(long seed, Random random, Config config, SimLeader.Factory factory, boolean failFast) {
        this.seed = seed;
        this.random = random;
        this.config = config;
        this.factory = factory;
        this.failFast = failFast;
        this.invariants = new SimInvariants(this);
        for (int i = 0; i < this.config.executors(); i++) {
            startExecutor();
        }
        for (int i = 0; i < this.config.clients(); i++) {
            clients.add(new SimClient(this, nextClient++));
        }
        elect();
    }

    /** One seeded run with a random workload and random faults of every kind. */
    static Result run(long seed, SimLeader.Factory factory, boolean failFast) {
        return run(seed, factory, failFast, java.util.EnumSet.allOf(Fault.class));
    }

    /** One seeded run with a random workload and random faults of {@code kinds} (none: no faults). */
    static Result run(long seed, SimLeader.Factory factory, boolean failFast, java.util.Set<Fault> kinds) {
        return random(seed, factory, failFast, kinds).runToQuiescence();
    }

    /** A cluster with a random workload and random faults of {@code kinds}, ready to run. */
    static Simulation random(long seed, SimLeader.Factory factory, boolean failFast, java.util.Set<Fault> kinds) {
        Random r = new Random(seed);
        Simulation sim = new Simulation(seed, r, Config.random(r, kinds), factory, failFast);
        sim.randomWorkload();
        return sim;
    }

    // ------------------------------------------------------------------ clock and events

    long now() {
        return now;
    }

    void at(long time, Runnable action) {
        queue.add(new Ev(Math.max(time, now), seq++, action));
    }

    void after(long delay, Runnable action) {
        at(now + delay, action);
    }

    long uniform(long lo, long hi) {
        return lo + (long) (random.nextDouble() * (hi - lo));
    }

    int nextInt(int bound) {
        return random.nextInt(bound);
    }

    /** Mostly sub-millisecond, sometimes slow. */
    long netDelay() {
        int p = random.nextInt(100);
        if (p < 80) {
            return uniform(50_000, 1_000_000);
        }
        return p < 98 ? uniform(1_000_000, 5_000_000) : uniform(5_000_000, 30_000_000);
    }

    long taskNanos() {
        return random.nextInt(10) == 0 ? uniform(10_000_000, 60_000_000) : uniform(200_000, 8_000_000);
    }

    /** Usually the burst ends at once; sometimes more events join it first. */
    long batchDelay() {
        return random.nextInt(4) == 0 ? uniform(0, 300_000) : 0;
    }

    long nextLinkId() {
        return ++linkIds;
    }

    void trace(Supplier<String> line) {
        String s = time(now) + "  " + line.get();
        if (TRACE_ALL) {
            System.out.println(s);
        }
        if (traceSink != null) {
            traceSink.accept(s);
        }
        trace.addLast(s);
        if (trace.size() > TRACE_LINES) {
            trace.removeFirst();
        }
    }

    static String time(long nanos) {
        return String.format("%d.%06ds", nanos / 1_000_000_000L, (nanos / 1000) % 1_000_000);
    }

    // ------------------------------------------------------------------ the cluster

    SimCoordinator published() {
        return published;
    }

    SimCoordinator current() {
        return current;
    }

    SimExecutor executor(String id) {
        return executorsById.get(id);
    }

    List<SimExecutor> liveExecutors() {
        List<SimExecutor> out = new ArrayList<>();
        for (SimExecutor e : executors) {
            if (e.alive) {
                out.add(e);
            }
        }
        return out;
    }

    SimClient client(int index) {
        return clients.get(index);
    }

    SimExecutor startExecutor() {
        SimExecutor e = new SimExecutor(this, nextExecutor++, 1 + random.nextInt(Math.max(1, config.maxSlots())));
        executors.add(e);
        executorsById.put(e.id(), e);
        trace(() -> e.id() + " starts with " + e.slots + " slots");
        e.connect();
        return e;
    }

    /** A coordinator wins the latch, bumps /epoch and publishes itself in /leader. */
    private void elect() {
        long epoch = ++zkEpoch;
        SimCoordinator c = new SimCoordinator(this, epoch, factory);
        coordinators.add(c);
        invariants.leaderElected(c);
        current = c;
        published = c;
        List<String> expected = new ArrayList<>();
        for (SimExecutor e : executors) {
            if (e.alive && e.zkNode) {
                expected.add(e.id());
            }
        }
        trace(() -> c.name() + " elected; expects " + expected);
        c.post(new TermStarted(expected));
        for (SimExecutor e : liveExecutors()) {
            after(uniform(0, 300_000_000L), () -> e.onLeaderPublished(c));
        }
        for (SimClient client : clients) {
            client.onLeaderPublished(c);
        }
    }

    /** A ZooKeeper event reaches whoever leads now. */
    private void zkEvent(SchedulerEvent event) {
        if (current != null) {
            current.post(event);
        }
    }

    private void fault(String kind, Supplier<String> what) {
        faults.merge(kind, 1, Integer::sum);
        trace(() -> "FAULT " + what.get());
    }

    /** The leader's process dies; a standby leads after its session times out. */
    void crashLeader() {
        SimCoordinator c = current;
        if (c == null) {
            return;
        }
        fault("leader crash", () -> c.name() + " crashes");
        current = null;
        c.die();
        after(uniform(500_000_000L, 3_000_000_000L), this::elect);
    }

    /**
     * The leader's session expires while it is paused or partitioned: a standby leads at once, and
     * the old one goes on sending for a while before it dies.
     */
    void deposeLeader() {
        SimCoordinator c = current;
        if (c == null) {
            return;
        }
        fault("leader deposed", () -> c.name() + " is deposed and keeps running for a while");
        c.depose();
        elect();
        after(uniform(200_000_000L, 3_000_000_000L), () -> {
            trace(() -> c.name() + " (deposed) dies");
            c.die();
        });
    }

    void crashExecutor(SimExecutor e) {
        if (!e.alive) {
            return;
        }
        fault("executor crash", () -> e.id() + " crashes");
        invariants.executorCrashed(e);
        e.crash();
        after(uniform(1_000_000_000L, 4_000_000_000L), () -> {
            e.zkNode = false;
            zkEvent(new ExecutorNodeGone(e.id()));
        });
        after(uniform(500_000_000L, 3_000_000_000L), this::startExecutor); // with a new id
    }

    /** The executor's ZooKeeper session expires; it comes back under a new one and registers again. */
    void expireExecutorSession(SimExecutor e) {
        if (!e.alive || !e.zkNode) {
            return;
        }
        fault("executor session expiry", () -> e.id() + "'s ZooKeeper session expires");
        e.zkNode = false;
        invariants.loss(e, now);
        zkEvent(new ExecutorNodeGone(e.id()));
        after(uniform(500_000_000L, 3_000_000_000L), () -> {
            if (!e.alive) {
                return;
            }
            e.zkNode = true;
            trace(() -> e.id() + "'s ZooKeeper node is back");
            zkEvent(new ExecutorNodeSeen(e.id()));
            e.reconnect();
        });
    }

    /** The leader's ZooKeeper connection is SUSPENDED, then back within the session. */
    void suspendZooKeeper() {
        SimCoordinator c = current;
        if (c == null) {
            return;
        }
        fault("zookeeper suspended", () -> c.name() + "'s ZooKeeper connection is suspended");
        c.post(new SchedulerEvent.ZooKeeperSuspended());
        after(uniform(100_000_000L, 5_000_000_000L), () -> {
            trace(() -> c.name() + "'s ZooKeeper connection is back");
            c.post(new SchedulerEvent.ZooKeeperReconnected());
        });
    }

    /** A client closes on purpose (Goodbye) and another one starts. */
    void clientLeaves(SimClient c) {
        int i = clients.indexOf(c);
        if (i < 0) {
            return;
        }
        SimClient next = new SimClient(this, nextClient++);
        clients.set(i, next);
        c.leave();
        next.connect();
    }

    /** The network cuts one connection: what is in flight is lost, both ends see it close. */
    void dropRandomLink() {
        List<SimLink> open = new ArrayList<>();
        for (SimExecutor e : executors) {
            if (e.alive && e.link != null && e.link.isOpen()) {
                open.add(e.link);
            }
        }
        for (SimClient c : clients) {
            if (c.link != null && c.link.isOpen()) {
                open.add(c.link);
            }
        }
        if (open.isEmpty()) {
            return;
        }
        SimLink l = open.get(random.nextInt(open.size()));
        fault("link drop", () -> "the network drops " + l);
        l.cut("network");
    }

    // ------------------------------------------------------------------ workload

    /** Random client actions, and random faults while they go on. */
    void randomWorkload() {
        long t = 1_000_000;
        for (int i = 0; i < config.actions(); i++) {
            t += (long) (-Math.log(1 - random.nextDouble()) * config.meanActionGapNanos());
            at(t, this::randomAction);
        }
        long end = t + 1_000_000_000L;
        horizon = Math.max(horizon, end);
        for (int i = 0; i < config.faults(); i++) {
            at(uniform(50_000_000L, end), this::randomFault);
        }
    }

    private void randomFault() {
        int total = 0;
        for (Fault f : config.faultKinds()) {
            total += f.weight;
        }
        int p = random.nextInt(total);
        Fault kind = null;
        for (Fault f : config.faultKinds()) {
            kind = f;
            if ((p -= f.weight) < 0) {
                break;
            }
        }
        List<SimExecutor> live = liveExecutors();
        switch (kind) {
            case LEADER_CRASH -> crashLeader();
            case LEADER_DEPOSED -> deposeLeader();
            case EXECUTOR_CRASH -> {
                if (!live.isEmpty()) {
                    crashExecutor(live.get(random.nextInt(live.size())));
                }
            }
            case LINK_DROP -> dropRandomLink();
            case EXECUTOR_SESSION_EXPIRY -> {
                if (!live.isEmpty()) {
                    expireExecutorSession(live.get(random.nextInt(live.size())));
                }
            }
            case ZOOKEEPER_SUSPENDED -> suspendZooKeeper();
        }
    }

    private void randomAction() {
        SimClient c = clients.get(random.nextInt(clients.size()));
        List<SimClient.ClientRef> usable = c.usable();
        int p = random.nextInt(100);
        if (p < 33) {
            List<RefId> inputs = new ArrayList<>();
            int n = usable.isEmpty() ? 0 : random.nextInt(3);
            for (int i = 0; i < n; i++) {
                inputs.add(usable.get(random.nextInt(usable.size())).ref);
            }
            c.submit(inputs, random.nextInt(100) < 4);
        } else if (p < 48) {
            RefId first = !usable.isEmpty() && random.nextInt(3) == 0 ? usable.get(random.nextInt(usable.size())).ref : null;
            c.chain(2 + random.nextInt(11), first);
        } else if (p < 62) {
            int m = random.nextInt(10);
            if (m < 4) {
                c.scatter((byte) 0, 1);
            } else if (m < 6) {
                c.scatter((byte) 1, 2);
            } else {
                c.scatter((byte) 2, 0);
            }
        } else if (p < 72) {
            List<SimClient.ClientRef> scattered = usable.stream().filter(r -> r.request != null).toList();
            if (!scattered.isEmpty()) {
                RefId s = scattered.get(random.nextInt(scattered.size())).ref;
                int n = 1 + random.nextInt(4);
                for (int i = 0; i < n; i++) {
                    c.submit(List.of(s), false);
                }
            }
        } else if (p < 80) {
            List<SimClient.ClientRef> broadcasts = usable.stream()
                    .filter(r -> r.kind == SimClient.Kind.BROADCAST).toList();
            RefId pinned = !broadcasts.isEmpty() && random.nextInt(5) < 2
                    ? broadcasts.get(random.nextInt(broadcasts.size())).ref : null;
            c.job(2 + random.nextInt(3), 1 + random.nextInt(3), pinned);
        } else if (p < 92) {
            List<SimClient.ClientRef> held = c.refs.values().stream().filter(r -> r.held).toList();
            if (!held.isEmpty()) {
                c.release(held.get(random.nextInt(held.size())).ref);
            }
        } else if (p < 93) {
            clientLeaves(c);
        } else {
            c.info();
        }
    }

    // ------------------------------------------------------------------ running

    /**
     * Runs until no event is left (the faults and the workload are over and everything settled),
     * checking the invariants after every event; then checks that nothing still waits.
     */
    Result runToQuiescence() {
        Ev ev;
        while ((ev = queue.poll()) != null) {
            now = ev.time();
            ev.action().run();
            events++;
            invariants.checkLeaders(coordinators);
            if (failFast && !invariants.violations.isEmpty()) {
                return result();
            }
            if (events > MAX_EVENTS || now > horizon + SETTLE_NANOS) {
                trace(() -> "giving up: " + queue.size() + " events still queued");
                invariants.checkQuiescent(clients, executors);
                return result();
            }
        }
        trace(() -> "quiescent");
        if (!failFast || invariants.violations.isEmpty()) {
            invariants.checkQuiescent(clients, executors);
        }
        return result();
    }

    /**
     * For scripted scenarios: runs events until {@code condition} holds (checking the invariants as
     * {@link #runToQuiescence} does); false if the queue ran dry or a violation stopped the run first.
     */
    boolean runUntil(java.util.function.BooleanSupplier condition) {
        Ev ev;
        while (!condition.getAsBoolean()) {
            if ((ev = queue.poll()) == null || events > MAX_EVENTS) {
                return false;
            }
            now = ev.time();
            ev.action().run();
            events++;
            invariants.checkLeaders(coordinators);
            if (failFast && !invariants.violations.isEmpty()) {
                return false;
            }
        }
        horizon = Math.max(horizon, now);
        return true;
    }

    /** Runs {@code action} at {@code time}, as part of a scripted scenario. */
    void script(long time, Runnable action) {
        horizon = Math.max(horizon, time);
        at(time, action);
    }

    private Result result() {
        return new Result(seed, config, List.copyOf(invariants.violations), stats(), String.join("\n", trace),
                invariants.refusedCommands, invariants.staleExecuted, invariants.executions);
    }

    String stats() {
        Map<String, Integer> refs = new java.util.TreeMap<>();
        int unverifiable = 0;
        for (SimClient c : clients) {
            SimClient.count(c.refs.values()).forEach((k, v) -> refs.merge(k, v, Integer::sum));
            unverifiable += c.unverifiable;
        }
        return "stats: " + events + " events, " + time(now) + " simulated, " + coordinators.size() + " terms, "
                + executors.size() + " executors started, faults " + faults + ", refs " + refs + ", "
                + invariants.executions + " task runs (" + invariants.recomputed + " unexcused re-runs), "
                + invariants.refusedCommands + " stale commands refused, " + invariants.staleExecuted
                + " executed, " + unverifiable + " values not verifiable";
    }

    // ------------------------------------------------------------------ readable trace

    static String describe(Object o) {
        if (o instanceof Launch l) {
            return "Launch(epoch " + l.epoch() + ", fns " + l.fns().stream().map(f -> Long.toString(f.fnId())).toList()
                    + ", tasks " + refs(l.tasks().stream().map(TaskLaunch::outs).map(x -> x.get(0)).toList())
                    + " with fns " + l.tasks().stream().map(t -> Long.toString(t.fnId())).toList() + ")";
        } else if (o instanceof Drop d) {
            // Sorted: today's scheduler collects drops from identity-hashed sets, so their order varies.
            return "Drop(epoch " + d.epoch() + ", " + refs(d.refs().stream().sorted().toList()) + ", "
                    + "fns " + d.fnIds() + ")";
        } else if (o instanceof Message.Replicate r) {
            return "Replicate(epoch " + r.epoch() + ", " + refs(r.copies().stream().map(Message.Replicate.Copy::ref).toList())
                    + ")";
        } else if (o instanceof Register r) {
            return "Register(inventory " + refs(r.inventory().stream().map(Message.BlockInfo::ref).toList()) + ", active "
                    + refs(r.active()) + ", failed " + refs(r.failed().stream().map(TaskResult::task).toList()) + ")";
        } else if (o instanceof TaskResults r) {
            return "TaskResults" + r.results().stream()
                    .map(x -> x.task() + (x.failure() == null ? "" : " FAILED")).collect(Collectors.joining(", ", "[", "]"));
        } else if (o instanceof StoredBlocks s) {
            return "StoredBlocks" + refs(s.stored().stream().map(Message.BlockInfo::ref).toList());
        } else if (o instanceof RefsDone d) {
            return "RefsDone" + d.refs().stream().map(Simulation::done).collect(Collectors.joining(", ", "[", "]"));
        } else if (o instanceof Submit s) {
            return "Submit(" + s.fns().size() + " fns, " + refs(s.tasks().stream().map(Message.TaskSpec::out).toList()) + ")";
        } else if (o instanceof TasksSubmitted t) {
            return "TasksSubmitted(" + t.client() + ", " + t.fns().size() + " fns, "
                    + refs(t.tasks().stream().map(Message.TaskSpec::out).toList()) + ")";
        } else if (o instanceof ExecutorRegistered r) {
            return "ExecutorRegistered(" + r.executor() + ", " + r.link() + ", " + describe(r.register()) + ")";
        } else if (o instanceof TasksFinished f) {
            return "TasksFinished(" + f.executor() + ", " + describe(f.results()) + ")";
        } else if (o instanceof BlocksStored b) {
            return "BlocksStored(" + b.executor() + ", " + describe(b.stored()) + ")";
        } else if (o instanceof ExecutorLinkClosed c) {
            return "ExecutorLinkClosed(" + c.executor() + ", " + c.link() + ")";
        } else if (o instanceof ClientLinkClosed c) {
            return "ClientLinkClosed(" + c.client() + ", " + c.link() + ")";
        } else if (o instanceof Message.JobReply j) {
            return "JobReply(req " + j.reqId() + ", results " + refs(j.results()) + ")";
        }
        return String.valueOf(o);
    }

    private static String done(RefDone d) {
        return d.ref() + (d.failure() == null ? "" : " FAILED(" + d.failure().kind() + ": " + d.failure().message() + ")");
    }

    private static String refs(List<RefId> refs) {
        if (refs.size() <= 6) {
            return refs.toString();
        }
        return "[" + refs.get(0) + ", " + refs.get(1) + ", ... " + (refs.size() - 3) + " more ..., "
                + refs.get(refs.size() - 1) + "]";
    }
}
