package io.quiver.executor;

import io.quiver.core.loop.EventLoop;
import io.quiver.RefId;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.Drop;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.executor.block.BlockStore;
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
import java.util.concurrent.BlockingQueue;
import java.util.function.BiConsumer;

/**
 * Confined to the executor loop ({@link EventLoop}): Netty handlers, workers and fetches post
 * events to it, never call it from other threads. The executor's slot bookkeeping: known
 * functions, tasks waiting for inputs, the ready queue and how many tasks the workers hold.
 *
 * <p>A task becomes ready once every input block is in the store. A missing input is fetched
 * from the locations the leader gave, or, with none given, awaited: an earlier task launched here
 * produces it (the leader sends chains ahead), and when that task fails its dependants fail with
 * the same {@link Failure}. A shuffle read ({@link Arg#isSlice()}) of a map output held elsewhere is
 * fetched as a slice, with the task's other slices from the same holder in one request ({@link
 * Fetcher#fetchSlices}); of a local one it is cut at run time, so it waits for nothing. Ready tasks
 * go to the workers in launch order, a bounded number per slot, so that a worker finds its next
 * task without waiting for this loop. A task whose one missing input is the first output of a task
 * the workers hold, made here, is attached to it ({@link Task#next}) and runs right after it on
 * the same worker, ahead of the ready ones, up to {@link #MAX_ATTACHED} links beyond that bound: a
 * chain runs without waking this loop per link. If the producer fails, its attached links come
 * back here to wait, and fail as its other dependants do.
 *
 * <p>A task runs with the code of the client that submitted it ({@link ClientCode}, found by the
 * owner of its refs): until that code is here the task waits, at most {@link #CODE_WAIT_MILLIS}.
 * When the client goes, its waiting and queued tasks fail, its functions are forgotten, and its
 * loader is closed once its last running task ends.
 */
final class TaskSlots {
    static final int MAX_REMEMBERED_FAILURES = 10_000;
    /** How long a task waits for its client's code to arrive. */
    static final long CODE_WAIT_MILLIS = Long.getLong("quiver.executor.codeWaitMs", 60_000);
    /**
     * Most links of a chain attached to one handed-out task: past them the next link waits for the
     * loop as any task does, and other ready tasks get a turn at the worker.
     */
    static final int MAX_ATTACHED = TaskRunner.BATCH;

    /** What this executor is doing, as a new leader needs to know it (see {@code Register}). */
    record Snapshot(List<RefId> active, List<TaskResult> failed) {}
    private final String executorId;
    private final int slots;
    private final BlockStore store;
    private final BlockingQueue<Task> handoff;
    private final Reports reports;
    private final BiConsumer<RefId, List<Peer>> fetcher;
    private final BiConsumer<List<Fetcher.SliceWant>, Fetcher.SliceSink> slicer;

    private final Map<Long, FunctionEntry> functions = new HashMap<>();
    private final PriorityQueue<Task> ready = new PriorityQueue<>(Comparator.comparingLong(t -> t.seq));
    private final Map<RefId, List<Task>> waiting = new HashMap<>();
    /** Outputs of tasks that failed here (and of their dependants), until dropped. */
    private final Map<RefId, Failure> failed = new HashMap<>();
    /** Tasks given to this executor and not finished, by task id: reported to a new leader. */
    private final Set<RefId> active = new LinkedHashSet<>();
    /** The tasks of {@link #active}, by id, for a cancel. */
    private final Map<RefId, Task> byId = new HashMap<>();
    /**
     * The latest failures by task id, for a new leader that never heard of them (the old one may
     * have died before reading them). Bounded: a leader that saw them drops nothing by them.
     */
    private final Map<RefId, Failure> failedTasks = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<RefId, Failure> eldest) {
            return size() > MAX_REMEMBERED_FAILURES;
        }
    };
    /** The code of each client here, by the owner of its refs. */
    private final Map<Long, ClientCode> codes = new HashMap<>();
    /** Tasks whose client's code has not arrived yet, by owner. */
    private final Map<Long, List<Task>> awaitingCode = new HashMap<>();
    /** Owners whose client left: their late tasks fail at once. */
    private final Set<Long> goneOwners = java.util.Collections.newSetFromMap(new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
            return size() > MAX_REMEMBERED_FAILURES;
        }
    });
    private final EventLoop loop;
    private long nextSeq;
    private int awaitingCodeTasks;
    private int waitingTasks;
    private int handedOut;
    private volatile int queued;

    TaskSlots(String executorId, int slots, BlockStore store, BlockingQueue<Task> handoff, Reports reports,
              BiConsumer<RefId, List<Peer>> fetcher, BiConsumer<List<Fetcher.SliceWant>, Fetcher.SliceSink> slicer,
              EventLoop loop) {
        this.slicer = slicer;
        this.loop = loop;
        this.executorId = executorId;
        this.slots = slots;
        this.store = store;
        this.handoff = handoff;
        this.reports = reports;
        this.fetcher = fetcher;
    }

    /** The tasks still to finish here and the failures remembered, for registering with a new leader. */
    Snapshot snapshot() {
        List<TaskResult> failures = new ArrayList<>(failedTasks.size());
        failedTasks.forEach((task, f) -> failures.add(new TaskResult(task, 0, List.of(), null, f)));
        return new Snapshot(List.copyOf(active), failures);
    }

    /** Tasks launched here and not yet handed to a worker. Readable from any thread. */
    int queued() {
        return queued;
    }

    void launch(Launch launch) {
        for (FnDef def : launch.fns()) {
            FunctionEntry known = functions.get(def.fnId());
            // Sent again (after a leader change): keep the deserialized one unless the definition differs.
            if (known == null || !known.sameDefinition(def)) {
                functions.put(def.fnId(), new FunctionEntry(def));
            }
        }
        for (TaskLaunch t : launch.tasks()) {
            admit(t);
        }
        dispatch();
    }

    private void admit(TaskLaunch launch) {
        if (launch.outs().isEmpty()) {
            // Nothing to report it under: the leader sent a malformed launch.
            org.slf4j.LoggerFactory.getLogger(TaskSlots.class).warn("ignoring a task of function {} with no outputs",
                    launch.fnId());
            return;
        }
        FunctionEntry fn = functions.get(launch.fnId());
        Task task = new Task(launch, nextSeq++, fn);
        Task previous = byId.get(task.id());
        if (previous != null && previous.reported && !previous.done) {
            // Its worker reported it (a failure the leader retries at once) and the leader launched
            // it again before this loop saw it end: this is a new attempt, and the old one's end
            // must change nothing.
            previous.superseded = true;
            active.remove(previous.id());
            byId.remove(previous.id());
        }
        if (!active.add(task.id())) {
            // The same task again: a new leader adopted it as running here and launched it anyway.
            return;
        }
        byId.put(task.id(), task);
        for (RefId out : launch.outs()) {
            failed.remove(out); // a new attempt: what an earlier one failed with is no longer its outcome
        }
        failedTasks.remove(task.id());
        if (fn == null) {
            fail(task, new Failure(Failure.TASK, "io.quiver.QuiverException", "function " + launch.fnId()
                    + " is unknown on executor " + executorId + " (never sent, or dropped)", "", executorId, 1));
            return;
        }
        long owner = owner(task.id());
        ClientCode code = codes.get(owner);
        if (code == null) {
            if (goneOwners.contains(owner)) {
                fail(task, clientGone(owner));
                return;
            }
            List<Task> list = awaitingCode.get(owner);
            if (list == null) {
                List<Task> fresh = new ArrayList<>();
                awaitingCode.put(owner, fresh);
                loop.schedule(() -> codeTimedOut(owner, fresh), CODE_WAIT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
                list = fresh;
            }
            list.add(task);
            awaitingCodeTasks++;
            return;
        }
        attach(task, code);
        admitInputs(task);
    }

    /** The client that minted a ref: job refs carry the client's owner with every bit flipped (JobRefs). */
    static long owner(RefId ref) {
        return ref.owner() < 0 ? ~ref.owner() : ref.owner();
    }

    private void attach(Task task, ClientCode code) {
        task.code = code;
        code.tasks++;
        if (task.function.owner == null) {
            task.function.owner = code.owner;
        }
    }

    /** The task ended (ran, or failed before running): its client's loader may close if the client left. */
    private void detach(Task task) {
        ClientCode code = task.code;
        if (code != null && !task.detached) {
            task.detached = true;
            if (--code.tasks == 0 && code.gone) {
                code.close();
            }
        }
    }

    /** The client's code is here (ClientCodes made its loader): its waiting tasks go on. */
    void codeReady(ClientCode code) {
        codes.put(code.owner, code);
        goneOwners.remove(code.owner);
        List<Task> list = awaitingCode.remove(code.owner);
        if (list != null) {
            for (Task t : list) {
                awaitingCodeTasks--;
                if (!t.done) {
                    attach(t, code);
                    admitInputs(t);
                }
            }
        }
        dispatch();
    }

    /**
     * The client left: its tasks not yet handed to a worker fail (the leader cancels them anyway),
     * its functions are forgotten, and its loader closes once the tasks the workers hold end. Those
     * (attached links of a chain among them) run, as a running task does.
     */
    void codeGone(ClientCode code) {
        if (codes.get(code.owner) == code) {
            codes.remove(code.owner);
        }
        goneOwners.add(code.owner);
        code.gone = true;
        Failure f = clientGone(code.owner);
        List<Task> awaiting = awaitingCode.remove(code.owner);
        if (awaiting != null) {
            for (Task t : awaiting) {
                awaitingCodeTasks--;
                if (!t.done) {
                    fail(t, f);
                }
            }
        }
        functions.values().removeIf(e -> e.owner != null && e.owner == code.owner);
        List<Task> queuedHere = new ArrayList<>();
        for (Task t : ready) {
            if (t.code == code) {
                queuedHere.add(t);
            }
        }
        for (Task t : queuedHere) {
            ready.remove(t);
            fail(t, f);
        }
        for (java.util.Iterator<List<Task>> it = waiting.values().iterator(); it.hasNext(); ) {
            List<Task> list = it.next();
            for (Task t : list) {
                if (!t.done && t.code == code) {
                    fail(t, f);
                }
            }
            list.removeIf(t -> t.done);
            if (list.isEmpty()) {
                it.remove();
            }
        }
        // Tasks waiting only for slices are in no waiting list: find them among the active ones.
        List<Task> awaitingSlices = new ArrayList<>();
        for (Task t : byId.values()) {
            if (!t.done && t.code == code && t.slices != null && t.missing > 0) {
                awaitingSlices.add(t);
            }
        }
        for (Task t : awaitingSlices) {
            fail(t, f);
        }
        if (code.tasks == 0) {
            code.close();
        }
        dispatch();
    }

    private void codeTimedOut(long owner, List<Task> list) {
        if (awaitingCode.get(owner) != list) {
            return; // the code came, or the client left
        }
        awaitingCode.remove(owner);
        Failure f = new Failure(Failure.TASK, "io.quiver.QuiverException", "the code of the client that submitted"
                + " this task (owner " + Long.toHexString(owner) + ") did not reach executor " + executorId + " within "
                + CODE_WAIT_MILLIS + " ms; the client may have died, or cannot reach this executor's data port (check"
                + " the client's log)", "", executorId, 1);
        for (Task t : list) {
            awaitingCodeTasks--;
            if (!t.done) {
                fail(t, f);
            }
        }
        dispatch();
    }

    private Failure clientGone(long owner) {
        return new Failure(Failure.TASK, "io.quiver.QuiverException", "the client that submitted this task (owner "
                + Long.toHexString(owner) + ") has disconnected from executor " + executorId, "", executorId, 1);
    }

    private void admitInputs(Task task) {
        FunctionEntry fn = task.function;
        TaskLaunch launch = task.launch;
        Failure inputFailed = null;
        if (fn.def().block() != null) {
            inputFailed = need(task, fn.def().block(), List.of());
        }
        List<Fetcher.SliceWant> wants = null;
        List<Arg> args = launch.args();
        for (int i = 0; i < args.size() && inputFailed == null; i++) {
            Arg arg = args.get(i);
            if (!arg.isRef()) {
                continue;
            }
            if (arg.isSlice() && !store.contains(arg.ref()) && elsewhere(arg.locations())) {
                if (wants == null) {
                    wants = new ArrayList<>();
                }
                wants.add(new Fetcher.SliceWant(i, arg.ref(), arg.bucket(), arg.locations(), executorId));
                continue;
            }
            inputFailed = need(task, arg.ref(), arg.locations());
        }
        if (inputFailed == null && wants != null) {
            task.missing += wants.size();
            task.slices = new io.netty.buffer.ByteBuf[args.size()];
        }
        if (inputFailed != null) {
            if (task.missing > 0) {
                waitingTasks++; // counted out again when fail() sees it waiting
            }
            fail(task, inputFailed);
        } else if (task.missing == 0) {
            ready.add(task);
        } else {
            waitingTasks++;
            if (wants == null) {
                attachToProducer(task);
            }
        }
        if (inputFailed == null && wants != null) {
            slicer.accept(wants, new Fetcher.SliceSink() {
                @Override
                public void arrived(List<Fetcher.SliceWant> got, List<io.netty.buffer.ByteBuf> slices) {
                    loop.execute(() -> slicesArrived(task, got, slices));
                }

                @Override
                public void failed(Fetcher.SliceWant want, Failure failure) {
                    loop.execute(() -> sliceFailed(task, failure));
                }
            });
        }
    }

    private boolean elsewhere(List<Peer> locations) {
        for (Peer p : locations) {
            if (!p.id().equals(executorId)) {
                return true;
            }
        }
        return false;
    }

    /** Slices of a task's map outputs arrived (owned here now). */
    private void slicesArrived(Task task, List<Fetcher.SliceWant> got, List<io.netty.buffer.ByteBuf> slices) {
        if (task.done || task.slices == null) {
            slices.forEach(io.netty.buffer.ByteBuf::release);
            return;
        }
        for (int i = 0; i < got.size(); i++) {
            int arg = got.get(i).arg;
            if (task.slices[arg] != null) {
                task.slices[arg].release();
            }
            task.slices[arg] = slices.get(i);
        }
        task.missing -= got.size();
        if (task.missing == 0) {
            waitingTasks--;
            ready.add(task);
            dispatch();
        }
    }

    /** A slice could be fetched from none of its locations: the task fails as on a failed block fetch. */
    private void sliceFailed(Task task, Failure failure) {
        if (task.done) {
            return;
        }
        fail(task, failure);
        failOutputs(new ArrayList<>(task.launch.outs()), failure);
        dispatch();
    }

    /** Registers the task as waiting for {@code ref} unless it is here; returns its failure if it failed. */
    private Failure need(Task task, RefId ref, List<Peer> locations) {
        if (store.contains(ref)) {
            return null;
        }
        Failure f = failed.get(ref);
        if (f != null) {
            if (locations.isEmpty()) {
                return f; // to be made here, and it failed here
            }
            // The leader knows copies elsewhere: it was made again since it failed here (a failed
            // fetch is not the block's fate).
            failed.remove(ref);
        }
        task.missing++;
        List<Task> list = waiting.get(ref);
        if (list == null) {
            list = new ArrayList<>(2);
            waiting.put(ref, list);
            if (!locations.isEmpty()) {
                fetcher.accept(ref, locations);
            }
        }
        list.add(task);
        return null;
    }

    /** A worker finished a task: its outputs are in the store, or it failed with {@code failure}. */
    void taskDone(Task task, Failure failure) {
        handedOut--;
        task.done = true;
        task.handedOut = false;
        detach(task);
        if (failure != null && task.successor != null) {
            giveBack(task.successor); // its worker did not run them: they wait again, for this task's fate
        }
        task.successor = null;
        if (task.superseded) {
            dispatch();
            return; // a newer attempt of it is here; its outputs are that attempt's
        }
        active.remove(task.id());
        byId.remove(task.id(), task);
        if (failure == null) {
            for (RefId out : task.launch.outs()) {
                blockArrived(out, false);
            }
        } else {
            failedTasks.put(task.id(), failure);
            failOutputs(task.launch.outs(), failure);
        }
        dispatch();
    }

    /** A block arrived in the store (put by a peer, fetched, or a task output). */
    void blockArrived(RefId ref) {
        blockArrived(ref, true);
    }

    private void blockArrived(RefId ref, boolean dispatch) {
        List<Task> list = waiting.remove(ref);
        if (list == null) {
            return;
        }
        for (Task t : list) {
            if (!t.done && --t.missing == 0) {
                waitingTasks--;
                ready.add(t);
            }
        }
        if (dispatch) {
            dispatch();
        }
    }

    /** Every location of {@code ref} failed to serve it: the tasks waiting for it fail. */
    void fetchFailed(RefId ref, Failure failure) {
        if (store.contains(ref)) {
            blockArrived(ref); // it arrived by another way meanwhile
            return;
        }
        List<Task> list = waiting.remove(ref);
        if (list != null) {
            List<RefId> outs = new ArrayList<>();
            for (Task t : list) {
                if (!t.done) {
                    fail(t, failure);
                    outs.addAll(t.launch.outs());
                }
            }
            failOutputs(outs, failure);
        }
        dispatch();
    }

    /**
     * Stops tasks the leader cancelled: one not started yet fails as soon as a worker takes it
     * (its dependants here with it); a running one is interrupted. The epoch was checked by the caller.
     */
    void cancel(List<RefId> tasks) {
        for (RefId id : tasks) {
            Task t = byId.get(id);
            if (t != null) {
                t.cancel();
            }
        }
    }

    /** Forgets blocks and functions as the leader asks. The epoch was checked by the caller. */
    void drop(Drop drop) {
        for (Long fnId : drop.fnIds()) {
            functions.remove(fnId);
        }
        for (RefId ref : drop.refs()) {
            store.drop(ref);
            failed.remove(ref);
            failedTasks.remove(ref);
        }
        reports.status();
    }

    /**
     * The executor is closing: the fetched slices of tasks that never reached a worker go back.
     * Call once the loop and the workers have stopped.
     */
    void releaseSlices() {
        for (Task t : byId.values()) {
            if (!t.reported && !t.started()) {
                t.releaseSlices();
            }
        }
    }

    /** Fails the tasks waiting for {@code refs}, and transitively theirs, with {@code failure}. */
    private void failOutputs(List<RefId> refs, Failure failure) {
        ArrayDeque<RefId> work = new ArrayDeque<>(refs);
        while (!work.isEmpty()) {
            RefId ref = work.poll();
            failed.put(ref, failure);
            List<Task> list = waiting.remove(ref);
            if (list == null) {
                continue;
            }
            for (Task t : list) {
                if (!t.done) {
                    fail(t, failure);
                    work.addAll(t.launch.outs());
                }
            }
        }
    }

    private void fail(Task task, Failure failure) {
        if (task.missing > 0) {
            waitingTasks--;
        }
        task.done = true;
        task.releaseSlices();
        detach(task);
        active.remove(task.id());
        byId.remove(task.id(), task);
        failedTasks.put(task.id(), failure);
        for (RefId out : task.launch.outs()) {
            failed.put(out, failure);
        }
        reports.taskResult(new TaskResult(task.launch.outs().get(0), 0, List.of(), null, failure));
    }

    /**
     * Attaches to {@code producer}, which the workers hold, the task waiting for nothing but its
     * output, then to that one the next, up to {@link #MAX_ATTACHED} links.
     */
    private void attachSuccessors(Task producer) {
        Task p = producer;
        while (p.chainDepth < MAX_ATTACHED) {
            List<Task> list = waiting.get(p.id());
            Task s = null;
            for (int i = 0; list != null && i < list.size(); i++) {
                Task t = list.get(i);
                if (!t.done && t.missing == 1 && t.slices == null && madeHere(t, p.id())) {
                    s = t;
                    break;
                }
            }
            if (s == null || !attachLink(p, s, list)) {
                return;
            }
            p = s;
        }
    }

    /** A task just admitted to wait for one input: attached if that input's producer is at the workers. */
    private void attachToProducer(Task task) {
        if (task.missing != 1) {
            return;
        }
        RefId missing = null; // stays null when the one missing block is the function's
        for (Arg a : task.launch.args()) {
            if (a.isRef() && !store.contains(a.ref())) {
                missing = a.ref();
                break;
            }
        }
        Task p = missing == null ? null : byId.get(missing);
        if (p != null && p.handedOut && !p.done && p.successor == null && p.chainDepth < MAX_ATTACHED
                && madeHere(task, missing) && attachLink(p, task, waiting.get(missing))) {
            attachSuccessors(task);
        }
    }

    /** Whether {@code task} reads {@code ref} only as made here (the leader gave no location to fetch it from). */
    private static boolean madeHere(Task task, RefId ref) {
        for (Arg a : task.launch.args()) {
            if (a.isRef() && a.ref().equals(ref) && !a.locations().isEmpty()) {
                return false;
            }
        }
        return true;
    }

    /** Makes {@code s}, waiting in {@code list} for {@code p}'s output, run right after {@code p}. */
    private boolean attachLink(Task p, Task s, List<Task> list) {
        if (!p.next.compareAndSet(null, s)) {
            return false; // p's worker is already past it: s becomes ready when p's end arrives
        }
        list.remove(s);
        if (list.isEmpty()) {
            waiting.remove(p.id());
        }
        waitingTasks--;
        s.missing = 0;
        s.handedOut = true;
        s.chainDepth = p.chainDepth + 1;
        p.successor = s;
        handedOut++;
        return true;
    }

    /**
     * Attached links whose producer failed: not run, they wait again for their inputs, as they did
     * when admitted ({@link #need}).
     */
    private void giveBack(Task first) {
        List<Task> links = new ArrayList<>();
        for (Task s = first; s != null; s = s.successor) {
            links.add(s);
        }
        for (Task s : links) {
            handedOut--;
            s.handedOut = false;
            s.successor = null;
            s.next.set(null); // no worker holds it: it can be attached to again
            s.missing = 0;
            Failure inputFailed = s.function.def().block() == null ? null : need(s, s.function.def().block(), List.of());
            for (Arg a : s.launch.args()) {
                if (inputFailed == null && a.isRef()) {
                    inputFailed = need(s, a.ref(), a.locations());
                }
            }
            if (s.missing > 0) {
                waitingTasks++; // counted out again when fail() sees it waiting
            }
            if (inputFailed != null) {
                fail(s, inputFailed);
                failOutputs(new ArrayList<>(s.launch.outs()), inputFailed);
            } else if (s.missing == 0) {
                ready.add(s);
            }
        }
    }

    private void dispatch() {
        // Enough queued at the workers for them to batch what they tell (TaskRunner.BATCH).
        int limit = slots * (TaskRunner.BATCH + 2);
        while (handedOut < limit && !ready.isEmpty()) {
            Task t = ready.poll();
            handedOut++;
            t.handedOut = true;
            t.chainDepth = 0;
            attachSuccessors(t); // before a worker can take it, so that they come in time
            handoff.add(t);
        }
        queued = ready.size() + waitingTasks + awaitingCodeTasks;
    }
}
