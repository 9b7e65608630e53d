package io.quiver.coordinator.sched;

import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.coordinator.sched.Model.Task;
import io.quiver.coordinator.sched.Model.TaskState;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.TaskLaunch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Where tasks run: places ready tasks by {@link Placement}'s score, sends chains ahead to the
 * executor producing their inputs, keeps each executor's lookahead filled, and lets an idle
 * executor take queued work when moving it beats waiting. It decides with {@link Placement}'s
 * pure functions and applies the result to the executors' queues and outboxes.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it.
 */
final class Dispatch {
    /**
     * Map outputs up to this size go to their reduce tasks whole (fetched once per executor and
     * shared), larger ones as slices of the reduce task's bucket.
     */
    static final long WHOLE_MAP_OUTPUT_BYTES = Long.getLong("quiver.shuffle.wholeMapOutputBytes", 256 << 10);

    private final Map<String, Exec> executors;
    private final ArrayDeque<Task> ready;

    /** Some task has a priority other than 0: ready tasks are placed highest first. */
    boolean prioritized;

    Dispatch(Map<String, Exec> executors, ArrayDeque<Task> ready) {
        this.executors = executors;
        this.ready = ready;
    }

    /** Places what is ready, launches up to each executor's lookahead, then balances idle executors. */
    void run() {
        if (!ready.isEmpty()) {
            placeReady();
        }
        for (Exec e : executors.values()) {
            if (e.live()) {
                launch(e);
            }
        }
        stealForIdle();
    }

    static void assign(Task t, Exec e) {
        t.state = TaskState.QUEUED;
        t.exec = e;
        e.queue.add(t);
    }

    /** Takes a task back from wherever it waits or runs, as the leader sees it. */
    static void unassign(Task t) {
        if (t.exec != null && !t.exec.running.remove(t)) {
            t.exec.queue.remove(t); // a scan of the queue: only for a task that was not running yet
        }
        t.exec = null;
        t.onExecutor = false;
        t.ahead = false;
    }

    /**
     * {@link #unassign} for a task that ran on its executor and already left its running set: a
     * launched task is in no queue, so the queue (a linear scan) is not searched.
     */
    static void unassignRan(Task t) {
        t.exec = null;
        t.onExecutor = false;
        t.ahead = false;
    }

    /**
     * Sends a waiting task ahead to the executor that produces all its missing inputs, so a chain
     * runs there without a leader round trip per link.
     */
    void tryAhead(Task first) {
        ArrayDeque<Task> work = new ArrayDeque<>();
        work.add(first);
        while (!work.isEmpty()) {
            Task t = work.poll();
            if (t.state != TaskState.WAITING || t.unresolved == 0 || t.missingInput || t.heldBack) {
                continue;
            }
            if (t.shuffleBucket() >= 0 || t.shuffle() != null) {
                // A shuffle reader waits for its map outputs' summaries: sent ahead, it would carry
                // (and fetch) every map output, not only those holding rows for its bucket. A shuffle
                // dependency is never placed: it completes on the leader.
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
            List<String> pins = ok && target != null ? pins(t) : null;
            if (!ok || target == null || !target.live() || (pins != null && !pins.contains(target.id))) {
                continue;
            }
            t.ahead = true;
            assign(t, target);
            for (Block out : t.outputs()) {
                work.addAll(out.waiters());
            }
        }
    }

    private void placeReady() {
        List<Exec> live = new ArrayList<>();
        for (Exec e : executors.values()) {
            if (e.live()) {
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
        if (prioritized && ready.size() > 1 && ready.stream().anyMatch(t -> t.priority() != 0)) {
            List<Task> byPriority = new ArrayList<>(ready);
            byPriority.sort((a, b) -> Integer.compare(b.priority(), a.priority())); // stable: FIFO within a priority
            ready.clear();
            ready.addAll(byPriority);
        }
        List<Task> deferred = null;
        Task t;
        while ((t = ready.poll()) != null) {
            if (t.state != TaskState.WAITING || t.missingInput || t.unresolved > 0) {
                continue; // (an input lost since it became ready: it is ready again when the input is back)
            }
            if (t.heldBack) {
                if (deferred == null) {
                    deferred = new ArrayList<>();
                }
                deferred.add(t); // until its client's resume ends
                continue;
            }
            candidates.clear();
            List<String> pins = pins(t);
            for (int i = 0; i < live.size(); i++) {
                Exec e = live.get(i);
                if (pins == null || pins.contains(e.id)) {
                    candidates.add(new Placement.Candidate(i, e.host, load[i], e.slots, e.avgTaskNanos));
                }
            }
            if (candidates.isEmpty()) {
                // Pinned to executors that are reconnecting: it waits for them (or for their loss).
                if (deferred == null) {
                    deferred = new ArrayList<>();
                }
                deferred.add(t);
                continue;
            }
            int chosen = candidates.get(Placement.choose(candidates, inputsOf(t, live))).index();
            load[chosen]++;
            assign(t, live.get(chosen));
            for (Block out : t.outputs()) {
                for (Task w : out.waiters()) {
                    tryAhead(w);
                }
            }
        }
        if (deferred != null) {
            ready.addAll(deferred);
        }
    }

    /**
     * Where a task may run, by executor id, or null for anywhere. A planner pin ({@code pinnedTo})
     * holds while one of its executors is live. An input scattered {@code Scatter.on(...)} holds its
     * consumers to those of its executors that are not lost (they wait for one that is reconnecting
     * within its grace); when all of them are lost but a copy
     * survives elsewhere (an executor fetched it for a task), to the executors holding that copy, so
     * the pin follows the value. With neither, the value is lost and its readers fail as lost.
     * Several pinned inputs: any executor one of them names (as the planner's preferences).
     */
    private List<String> pins(Task t) {
        if (!t.restrictTo().isEmpty()) {
            return t.restrictTo(); // Submit.on: only there, waiting for one that is reconnecting
        }
        List<String> out = null;
        for (Block in : t.inputs) {
            if (in.pinnedOn().isEmpty()) {
                continue;
            }
            if (out == null) {
                out = new ArrayList<>(anyLive(t.pinnedTo()) ? t.pinnedTo() : List.of());
            }
            boolean onLive = false; // not lost: one reconnecting within its grace keeps them
            for (String id : in.pinnedOn()) {
                Exec e = executors.get(id);
                if (e != null && e.alive) {
                    onLive = true;
                    if (!out.contains(id)) {
                        out.add(id);
                    }
                }
            }
            if (!onLive) {
                for (Exec holder : in.locations()) {
                    if (holder.live() && !out.contains(holder.id)) {
                        out.add(holder.id);
                    }
                }
            }
        }
        if (out == null) {
            return anyLive(t.pinnedTo()) ? t.pinnedTo() : null;
        }
        return out.isEmpty() ? null : out;
    }

    /** Whether any of these executors is live (pinned tasks then run only there). */
    private boolean anyLive(List<String> ids) {
        for (String id : ids) {
            Exec e = executors.get(id);
            if (e != null && e.live()) {
                return true;
            }
        }
        return false;
    }

    private static List<Placement.Input> inputsOf(Task t, List<Exec> live) {
        if (t.inputs.isEmpty()) {
            return List.of();
        }
        List<Placement.Input> inputs = new ArrayList<>(t.shuffleBucket() < 0 ? t.inputs.size() : 4);
        for (Block in : t.inputs) {
            // Only what it is launched with is fetched: no cost anywhere for the rest.
            for (Block b : ShuffleInputs.launchedWith(t, in)) {
                inputs.add(input(b, live));
            }
        }
        return inputs;
    }

    private static Placement.Input input(Block b, List<Exec> live) {
        List<Integer> holders = new ArrayList<>(b.locations().size());
        List<String> hosts = new ArrayList<>(b.locations().size());
        for (Exec holder : b.locations()) {
            int idx = live.indexOf(holder);
            if (idx >= 0) {
                holders.add(idx);
            }
            hosts.add(holder.host);
        }
        return new Placement.Input(Math.max(0, b.size), holders, hosts);
    }

    private static void launch(Exec e) {
        int limit = e.limit();
        int stalled = -1;
        if (e.running.size() >= limit) {
            launchProducersOfAheadReaders(e);
        }
        while (!e.queue.isEmpty()) {
            if (e.running.size() >= limit) {
                // Launched tasks whose inputs were lost after launch wait there for a recompute; they
                // hold no slot, and the recompute may be queued right here behind them.
                if (stalled < 0) {
                    stalled = stalled(e);
                }
                if (e.running.size() - stalled >= limit) {
                    break;
                }
            }
            launchNext(e);
        }
    }

    /** Launches the head of the queue: it is running there now, as the leader sees it. */
    private static void launchNext(Exec e) {
        Task t = e.queue.poll();
        t.state = TaskState.LAUNCHED;
        t.onExecutor = true;
        e.running.add(t);
        if (e.knownFns.add(t.fn.id)) {
            e.outFns.add(new FnDef(t.fn.id, t.fn.bytes, null));
            e.outDropFns.remove(t.fn.id); // dropped and needed again in the same batch
        }
        List<Arg> args = t.args;
        if (!t.inputs.isEmpty()) {
            // Ref arguments and t.inputs are in the same order: every ref argument became an input.
            args = new ArrayList<>(t.args.size());
            int input = 0;
            for (Arg a : t.args) {
                if (!a.isRef()) {
                    args.add(a);
                    continue;
                }
                Block in = t.inputs.get(input++);
                if (ShuffleInputs.of(in) == null) {
                    if (!ShuffleInputs.skip(t, in)) { // else no rows for this reduce task there: nothing to fetch
                        args.add(wholeIfSmall(a.withLocations(locations(in)), in));
                    }
                    continue;
                }
                // A shuffle dependency: the map outputs with rows for this task's bucket, in map order,
                // each read as its bucket's slice.
                for (Block b : ShuffleInputs.launchedWith(t, in)) {
                    Arg read = t.shuffleBucket() >= 0 ? Arg.slice(b.ref, t.shuffleBucket()) : Arg.ref(b.ref);
                    args.add(wholeIfSmall(read.withLocations(locations(b)), b));
                }
            }
        }
        e.outLaunches.add(new TaskLaunch(t.outs(), t.fn.id, args));
    }

    /**
     * A small map output is fetched whole, once per executor for all its reduce tasks there, rather
     * than as a slice request per reduce task.
     */
    private static Arg wholeIfSmall(Arg a, Block b) {
        return a.isSlice() && b.done && b.size >= 0 && b.size <= WHOLE_MAP_OUTPUT_BYTES ? a.whole() : a;
    }

    private static List<Peer> locations(Block b) {
        List<Peer> where = new ArrayList<>(b.locations().size());
        if (b.done) {
            for (Exec holder : b.locations()) {
                where.add(holder.peer());
            }
        }
        return where;
    }

    /**
     * Readers launched ahead here wait for producers queued here; those go out whatever the
     * lookahead, as the readers may be what fills it (a producer whose launch was lost and that
     * was placed here again queues behind them, and would wait for ever).
     */
    private static void launchProducersOfAheadReaders(Exec e) {
        List<Task> producers = null;
        for (Task w : e.running) {
            if (!w.ahead || w.unresolved == 0) {
                continue;
            }
            for (Block in : w.inputs) {
                Task p = in.producer;
                if (!in.done && p != null && p.state == TaskState.QUEUED && p.exec == e) {
                    if (producers == null) {
                        producers = new ArrayList<>(1);
                    }
                    if (!producers.contains(p)) {
                        producers.add(p);
                    }
                }
            }
        }
        if (producers != null) {
            for (Task p : producers) {
                e.queue.remove(p);
                e.queue.addFirst(p);
            }
            for (int i = 0; i < producers.size(); i++) {
                launchNext(e);
            }
        }
    }

    private static int stalled(Exec e) {
        int n = 0;
        for (Task t : e.running) {
            if (t.unresolved > 0 && !t.ahead) {
                n++;
            }
        }
        return n;
    }

    /**
     * An executor with room and nothing queued takes queued (not yet launched) work from others
     * when running it here, inputs moved, beats waiting there.
     */
    private void stealForIdle() {
        for (Exec idle : executors.values()) {
            if (!idle.live() || !idle.queue.isEmpty() || idle.running.size() >= idle.slots) {
                continue;
            }
            for (Exec busy : executors.values()) {
                if (busy == idle || busy.queue.isEmpty()) {
                    continue;
                }
                Iterator<Task> it = busy.queue.descendingIterator();
                while (it.hasNext() && idle.running.size() < idle.limit()) {
                    Task t = it.next();
                    if (t.ahead || t.unresolved > 0 || feedsAheadTasks(t)) {
                        continue;
                    }
                    List<String> pins = pins(t);
                    if (pins != null && !pins.contains(idle.id)) {
                        continue;
                    }
                    double waitThere = (double) busy.load() * busy.avgTaskNanos / busy.slots;
                    double moveHere = 0;
                    for (Block in : t.inputs) {
                        for (Block b : ShuffleInputs.launchedWith(t, in)) {
                            if (!b.locations().contains(idle) && b.size > 0) {
                                moveHere += b.size / Placement.REMOTE_BYTES_PER_NANO;
                            }
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
        for (Block out : t.outputs()) {
            for (Task w : out.waiters()) {
                if (w.ahead && w.exec == t.exec && (w.state == TaskState.QUEUED || w.state == TaskState.LAUNCHED)) {
                    return true;
                }
            }
        }
        return false;
    }
}
