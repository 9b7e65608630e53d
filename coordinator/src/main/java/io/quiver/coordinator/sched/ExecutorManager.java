package io.quiver.coordinator.sched;

import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorGraceExpired;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorNodeData;
import io.quiver.core.protocol.Message.ExecInfo;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.InfoReply;
import io.quiver.core.protocol.Message.Register;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executors this leader knows: who is registered, on which connection, whether its ZooKeeper
 * node is there, and the grace a dropped one gets before it counts as lost. It decides when an
 * executor is lost; what a loss does to tasks and blocks is the {@link Scheduler}'s to apply.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it.
 */
final class ExecutorManager {
    private static final Logger log = LoggerFactory.getLogger(ExecutorManager.class);

    private final Scheduler s;
    /** In registration order: placement and the simulation see them in the same order every run. */
    private final Map<String, Exec> executors = new LinkedHashMap<>();
    /** Node data seen before the executor registered (the record is written first). */
    private final Map<String, ExecutorNodeData> pendingNodeData = new HashMap<>();

    ExecutorManager(Scheduler s) {
        this.s = s;
    }

    /** The live map, shared read-only with {@link Dispatch} and {@link Replication}. */
    Map<String, Exec> map() {
        return executors;
    }

    Collection<Exec> all() {
        return executors.values();
    }

    Exec get(String id) {
        return executors.get(id);
    }

    boolean knows(String id) {
        return executors.containsKey(id);
    }

    /** The executor, if {@code link} is still its connection (messages from an old one are stale). */
    Exec on(String id, Link link) {
        Exec e = executors.get(id);
        return e != null && e.link == link ? e : null;
    }

    boolean anyAlive(List<String> ids) {
        for (String id : ids) {
            Exec e = executors.get(id);
            if (e != null && e.alive) {
                return true;
            }
        }
        return false;
    }

    List<Exec> live() {
        List<Exec> live = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.live()) {
                live.add(e);
            }
        }
        return live;
    }

    List<String> aliveIds() {
        return executors.values().stream().filter(x -> x.alive).map(x -> x.id).toList();
    }

    int liveCount() {
        int n = 0;
        for (Exec e : executors.values()) {
            n += e.live() ? 1 : 0;
        }
        return n;
    }

    /** Frees the memory a scatter reserved on each of {@code targets} that is still here. */
    void unreserve(Collection<String> targets, long bytes) {
        for (String id : targets) {
            Exec e = executors.get(id);
            if (e != null) {
                e.reserved -= bytes;
            }
        }
    }

    InfoReply info(long reqId) {
        List<ExecInfo> list = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.live()) {
                list.add(new ExecInfo(e.id, e.host, e.port, e.slots, e.memoryUsed, e.memoryLimit));
            }
        }
        return new InfoReply(reqId, s.leaderId, s.epoch, list);
    }

    /**
     * The executor (new, or the same one on a new connection) with what it says of itself; its
     * inventory is the scheduler's to adopt.
     */
    Exec register(String id, Link link, Register r) {
        Exec e = executors.get(id);
        if (e == null) {
            e = new Exec(id);
            executors.put(id, e);
            s.observed.event(s.now(), "joined", "executor " + id + " joined (" + r.slots()
                    + (r.slots() == 1 ? " slot, " : " slots, ") + (r.memoryLimit() >> 20) + " MiB"
                    + (r.inventory().isEmpty() ? "" : ", " + r.inventory().size() + " blocks") + ")");
            log.info("executor {} registered with leader {} (epoch {}): {}:{}, {} slots, {} MiB, {} blocks, {} tasks"
                    + " running", id, s.leaderId, s.epoch, r.host(), r.port(), r.slots(), r.memoryLimit() >> 20,
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
        s.outbox.viewChanged();
        return e;
    }

    /** Its connection dropped: it has the grace period to come back. */
    void linkClosed(String id, Link link) {
        Exec x = executors.get(id);
        if (x != null && x.link == link) {
            x.link = null;
            s.outbox.viewChanged();
            s.timers.after(Scheduler.EXECUTOR_GRACE_NANOS, new ExecutorGraceExpired(id, ++x.drops));
        }
    }

    /** Why the executor is lost now that its grace expired, or null if it is not. */
    String graceExpired(ExecutorGraceExpired g) {
        Exec x = executors.get(g.executor());
        if (x == null || g.drop() != x.drops || (x.link != null && !x.nodeGone)) {
            return null;
        }
        return x.link == null ? "its connection stayed down for the grace period"
                : "its ZooKeeper node went away and did not come back";
    }

    /** Its ZooKeeper node went: lost at once if its connection is down too (true), else given the grace. */
    boolean nodeGone(String id) {
        Exec x = executors.get(id);
        if (x == null) {
            return false;
        }
        if (x.link == null) {
            return true;
        }
        // Its session ended but its connection is up: a ZooKeeper outage, or a frozen process.
        x.nodeGone = true;
        s.timers.after(Scheduler.EXECUTOR_GRACE_NANOS, new ExecutorGraceExpired(id, ++x.drops));
        return false;
    }

    void nodeSeen(String id) {
        Exec x = executors.get(id);
        if (x != null) {
            x.nodeGone = false;
        }
    }

    void leaving(String id) {
        Exec x = executors.get(id);
        if (x != null) {
            x.leaving = true;
        }
    }

    void nodeData(ExecutorNodeData d) {
        Exec x = executors.get(d.executor());
        if (x != null) {
            x.metricsPort = d.metricsPort();
            x.leaving = d.leaving();
        }
        pendingNodeData.put(d.executor(), d);
    }

    /**
     * Takes a lost executor out (its queued and running tasks are still on it, for the caller to
     * place again). If it is alive after all, it registers again as a new incarnation.
     */
    void remove(Exec e, String why) {
        executors.remove(e.id);
        e.alive = false;
        s.outbox.viewChanged();
        if (e.link != null) {
            e.link.close();
        }
        pendingNodeData.remove(e.id);
        if (e.leaving) {
            log.info("executor {} left ({}); {} running and {} queued tasks run again elsewhere", e.id, why,
                    e.running.size(), e.queue.size());
            s.observed.event(s.now(), "left", "executor " + e.id + " left");
        } else {
            log.warn("executor {} lost ({}); {} running and {} queued tasks run again elsewhere", e.id, why,
                    e.running.size(), e.queue.size());
            s.observed.event(s.now(), "lost", "executor " + e.id + " lost: " + why + "; "
                    + e.running.size() + " running and " + e.queue.size() + " queued tasks run again elsewhere");
        }
    }
}
