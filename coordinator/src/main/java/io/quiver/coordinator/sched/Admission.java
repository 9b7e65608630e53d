package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Client;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.coordinator.sched.Model.Fn;
import io.quiver.coordinator.sched.Model.Task;
import io.quiver.coordinator.sched.Model.TaskState;
import io.quiver.coordinator.sched.SchedulerEvent.ClientGraceExpired;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.BlockFailure;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.HoldPins;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RequestFailed;
import io.quiver.core.protocol.Message.ScatterPlan;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.TaskSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The clients and what they ask for: their connections and the grace a dropped one gets, the
 * tasks they submit (checked: a function never defined, a reused ref) with their {@code Submit}
 * options, releases and cancels, {@code replicate}, and scatters, admitted only where they fit in
 * memory and done once every target stored them. A resuming client's work is held back until its
 * resume ends, so what it released meanwhile is not run.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it.
 */
final class Admission {
    private static final Logger log = LoggerFactory.getLogger(Admission.class);

    private final Scheduler s;
    private final Map<String, Client> clients = new HashMap<>();
    /** While a resuming client's tasks are added: they are held back until its resume ends. */
    private Client resumingNow;
    /**
     * Re-sent tasks of resuming clients, adopted once all of a client's are here ({@link #adoptResent}):
     * until then, what executors report of them is kept as if they were not re-sent yet.
     */
    private final Set<Task> adoptionPending = Collections.newSetFromMap(new IdentityHashMap<>());

    Admission(Scheduler s) {
        this.s = s;
    }

    Collection<Client> all() {
        return clients.values();
    }

    /** Whether {@code t} was re-sent by a client whose resume has not ended: it is not adopted yet. */
    boolean adoptionPending(Task t) {
        return !adoptionPending.isEmpty() && adoptionPending.contains(t);
    }

    /** The resuming client whose tasks are being added now, or null. */
    Client resumingNow() {
        return resumingNow;
    }

    /** Runs {@code add}, which adds {@code c}'s tasks: held back if {@code c} is resuming. */
    void adding(Client c, Runnable add) {
        resumingNow = c.resuming ? c : null;
        try {
            add.run();
        } finally {
            resumingNow = null;
        }
    }

    /** {@code Scatter.on} and held pins: the executors a value's readers should run on. */
    void onPinned(Client c, List<HoldPins.Pin> pins) {
        for (HoldPins.Pin pin : pins) {
            Block b = s.blocks.get(pin.ref());
            if (b != null && b.owner == c && b.producer == null) {
                b.extras().pinnedOn = List.copyOf(pin.on());
            }
        }
    }

    void graceExpired(ClientGraceExpired g) {
        Client c = clients.get(g.client());
        if (c != null && c.link == null && c.dropped == g.link()) {
            clientGone(c, "its connection stayed down for the grace period");
        }
    }

    void left(String id) {
        Client c = clients.get(id);
        if (c != null) {
            clientGone(c, "it closed");
        }
    }

    Client client(String id) {
        return clients.computeIfAbsent(id, Client::new);
    }

    void onClientConnected(String id, Link link) {
        Client c = client(id);
        if (c.link != null && c.link != link) {
            c.link.close(); // the old connection of a client that came back before we noticed it left
        }
        c.link = link;
        c.dropped = null;
    }

    void onClientLinkClosed(String id, Link link) {
        Client c = clients.get(id);
        if (c == null || c.link != link) {
            return;
        }
        c.link = null;
        c.dropped = link;
        c.outDone.clear(); // it hears again about all it resumes
        s.timers.after(Scheduler.CLIENT_GRACE_NANOS, new ClientGraceExpired(id, link));
    }

    void reply(Client c, Message m) {
        if (c.link != null) {
            c.link.send(m);
        }
    }

    /** The client is gone for good: release its refs, cancel its work that has not started. */
    private void clientGone(Client c, String why) {
        clients.remove(c.id);
        c.toAdopt.forEach(adoptionPending::remove);
        if (!c.owned.isEmpty()) {
            log.info("client {} left ({}): releasing its {} refs", c.id, why, c.owned.size());
        }
        for (Block b : List.copyOf(c.owned)) {
            b.ownerHolds = false;
            Task t = b.producer;
            if (t != null && (t.state == TaskState.WAITING || t.state == TaskState.QUEUED) && !TaskGraph.stillWanted(t)) {
                s.tasks.cancel(t);
            }
            s.blocks.maybeDrop(b);
        }
        c.owned.clear();
    }

    void onSubmit(Client c, List<FnDef> defs, List<TaskSpec> specs) {
        adding(c, () -> submit(c, defs, specs));
    }

    private void submit(Client c, List<FnDef> defs, List<TaskSpec> specs) {
        for (FnDef f : defs) {
            if (!c.fnsById.containsKey(f.fnId())) {
                Fn fn = s.tasks.newFn(f.bytes());
                fn.clientId = f.fnId();
                c.fnsById.put(f.fnId(), fn);
            }
        }
        List<Task> added = new ArrayList<>(specs.size());
        for (TaskSpec spec : specs) {
            Block known = s.blocks.get(spec.out());
            if (known != null && known.owner == c) {
                resumeKnown(c, known); // sent again by a resuming client
                continue;
            }
            Fn fn = c.fnsById.get(spec.fnId());
            if (fn == null || known != null) {
                String why = fn == null ? "names function " + spec.fnId() + " that was never defined"
                        : "reuses ref id " + spec.out();
                c.outDone.add(new RefDone(spec.out(), -1, List.of(), null,
                        new Failure(Failure.TASK, "io.quiver.QuiverException", "invalid task: it " + why, null, s.leaderId, 0)));
                continue;
            }
            Task t = s.tasks.addTask(spec.out(), List.of(spec.out()), fn, spec.args(), c, false);
            c.owned.addAll(t.outputs());
            added.add(t);
            applyOptions(t, spec.options());
        }
        // Adopt once the whole batch exists, and a resuming client's re-sent tasks once all of them
        // do (they come in several frames): a result found done must not release an input that a
        // later task of the same resume still reads.
        if (c.resuming) {
            c.toAdopt.addAll(added);
            adoptionPending.addAll(added);
            return;
        }
        for (Task t : added) {
            s.tasks.adoptOrSettle(t);
        }
    }

    /** {@code Submit} options: retries, priority, and where it may (or should) run. */
    private void applyOptions(Task t, Message.TaskOptions o) {
        if (o == null || o.equals(Message.TaskOptions.NONE)) {
            return;
        }
        t.extras().retriesLeft = o.retries();
        t.extras().priority = o.priority();
        s.dispatch.prioritized |= o.priority() != 0;
        if (o.on().isEmpty()) {
            return;
        }
        if (o.allowOthers()) {
            t.extras().pinnedTo = o.on(); // a preference: held while one of them is live
            return;
        }
        t.extras().restrictTo = o.on();
        s.tasks.restrict(t);
    }

    /**
     * Cancels the client's unfinished tasks among {@code refs}: queued ones are taken back, running
     * ones stopped on their executor (interrupted), and each fails as cancelled, with everything
     * that depends on it. Finished ones and refs that are not its tasks are left as they are.
     */
    void onCancel(Client c, List<RefId> refs) {
        for (RefId ref : refs) {
            Block b = s.blocks.get(ref);
            Task t = b == null ? null : b.producer;
            if (t == null || b.owner != c || t.finished()) {
                continue;
            }
            if (t.state == TaskState.LAUNCHED && t.exec != null) {
                t.exec.outCancels.add(t.id);
                t.exec.running.remove(t);
                t.onExecutor = false;
            }
            s.tasks.failTask(t, new Failure(Failure.CANCELLED, "java.util.concurrent.CancellationException", "task " + t.id
                    + " was cancelled by its client", null, s.leaderId, t.attempts()));
        }
    }

    /** {@code replicate}: more copies of a finished value, made in the background by {@link Replication}. */
    void onReplicate(Client c, Message.ReplicateRequest req) {
        Block b = s.blocks.get(req.ref());
        String why = b == null || b.owner != c ? "ref " + req.ref() + " is not a live ref of this client (closed, or"
                + " never made)" : b.failure() != null ? "ref " + req.ref() + " failed: " + b.failure().message()
                : !b.done ? "ref " + req.ref() + " is not done yet; wait for it (Ref.result()) before replicating it"
                : null;
        if (why != null) {
            reply(c, new RequestFailed(req.reqId(), RequestFailed.INVALID, "replicate: " + why, null, 0, 0));
            return;
        }
        if (req.copies() == Integer.MAX_VALUE) {
            b.broadcast = true;
        } else {
            b.extras().wantCopies = Math.max(b.wantCopies(), req.copies());
        }
        b.pinnable = true;
        s.outbox.viewChanged();
        s.replication.wake();
        reply(c, new Message.Ack(req.reqId())); // copies show in Ref.locations() as they land
    }

    /** A client holds again a ref this leader knows: it hears its state again. */
    void resumeKnown(Client c, Block b) {
        if (!b.ownerHolds) {
            b.ownerHolds = true;
            c.owned.add(b);
        }
        if (b.done) {
            c.outDone.add(b.refDone(null));
        }
    }

    void onRelease(Client c, List<RefId> refs) {
        for (RefId ref : refs) {
            Block b = s.blocks.get(ref);
            if (b == null || b.owner != c || !b.ownerHolds) {
                continue;
            }
            b.ownerHolds = false;
            c.owned.remove(b);
            Task t = b.producer;
            if (t != null && (t.state == TaskState.WAITING || t.state == TaskState.QUEUED) && !TaskGraph.stillWanted(t)
                    && !t.heldBack) {
                s.tasks.cancel(t); // (one held back is settled when its client's resume ends)
            }
            s.blocks.maybeDrop(b);
        }
    }

    /**
     * A client starts or ends re-sending what it holds. At the end, what it re-sent only as lineage
     * and nobody needs now (its readers were found done) is kept dormant, to be run only if a lost
     * result needs it; the rest is placed.
     */
    void onResuming(Client c, boolean end) {
        if (!end) {
            c.resuming = true;
            return;
        }
        c.resuming = false;
        adoptResent(c);
        List<Task> resumed = c.resumed;
        c.resumed = new ArrayList<>();
        for (int i = resumed.size() - 1; i >= 0; i--) {
            Task t = resumed.get(i); // readers before their inputs: a dormant reader releases its inputs
            t.heldBack = false;
            if (t.finished() || t.state == TaskState.LAUNCHED) {
                continue;
            }
            if (!TaskGraph.stillWanted(t)) {
                s.tasks.dormant(t);
                t.outputs().forEach(s.blocks::maybeDrop);
            } else {
                s.tasks.adopt(t); // again: an output that only a reader just made dormant needed may be missing
            }
        }
        for (Task t : resumed) {
            if (t.state == TaskState.WAITING && !t.missingInput && t.inputFailure() == null) {
                if (t.unresolved == 0) {
                    s.tasks.makeReady(t);
                } else {
                    s.dispatch.tryAhead(t);
                }
            }
        }
    }

    /**
     * Adopts what executors reported of the tasks a resuming client re-sent, once all of them are
     * here: at the client's first message after them (they come in several Submit frames, each
     * message of the resume in order), or at the end of its resume.
     */
    void adoptResent(Client c) {
        if (c.toAdopt.isEmpty()) {
            return;
        }
        List<Task> toAdopt = c.toAdopt;
        c.toAdopt = new ArrayList<>();
        toAdopt.forEach(adoptionPending::remove);
        for (Task t : toAdopt) {
            if (s.tasks.get(t.id) == t) { // not forgotten meanwhile
                s.tasks.adoptOrSettle(t);
            }
        }
    }

    /** A resuming client's refs without lineage: adopt the copies executors hold. */
    void onHeld(Client c, List<HeldRef> held) {
        for (HeldRef h : held) {
            Block known = s.blocks.get(h.ref());
            if (known != null) {
                if (known.owner == c) {
                    resumeKnown(c, known);
                }
                continue;
            }
            Block b = new Block(h.ref(), null, c);
            b.pinnable = true;
            b.broadcast = h.kind() == HeldRef.BROADCAST;
            b.size = h.size();
            s.blocks.put(b);
            c.owned.add(b);
            s.outbox.viewChanged();
            List<Unclaimed.Copy> copies = s.recovery.unclaimed.takeBlock(h.ref());
            if (copies != null) {
                for (Unclaimed.Copy copy : copies) {
                    b.addLocation(copy.holder());
                }
            }
            for (String target : h.pendingTargets()) {
                Exec e = s.executors.get(target);
                if (e == null || !b.locations().contains(e)) {
                    b.extras().expected.add(target);
                }
            }
            if (s.recovery.active()) {
                // Executors may still register with their copies: decide when recovery ends.
                b.extras().awaitingInventory = true;
                // Unregistered targets are dropped from expected then too.
                if (b.expected().isEmpty() && !b.locations().isEmpty()) {
                    settleHeld(b);
                }
            } else {
                b.expected().removeIf(id -> !s.executors.knows(id));
                settleHeld(b);
            }
        }
    }

    /** A held ref is done once its copies are known and no pending target remains; lost if none is left. */
    void settleHeld(Block b) {
        b.awaitingInventory(false);
        if (b.done || !b.expected().isEmpty()) {
            return;
        }
        if (b.locations().isEmpty()) {
            s.tasks.failBlock(b, new Failure(Failure.LOST, "io.quiver.DataLostException", "no executor holds " + b.ref
                    + " after the leader change to " + s.leaderId + " (epoch " + s.epoch + "): every executor that had"
                    + " a copy is gone, and a scattered value has no lineage to recompute it; scatter it again,"
                    + " with Scatter.replicas(n) or broadcast() to survive executor loss", null, s.leaderId, 0));
            return;
        }
        scatterProgress(b);
    }

    void onScatterRequest(Client c, ScatterRequest req) {
        Block known = s.blocks.get(req.ref());
        if (known != null) {
            if (known.owner == c && known.producer == null && !known.expected().isEmpty()) {
                // The same request again (its plan was lost with a connection): the same targets.
                List<Message.Peer> targets = new ArrayList<>();
                for (String id : known.expected()) {
                    Exec e = s.executors.get(id);
                    if (e != null && e.live()) {
                        targets.add(e.peer());
                    }
                }
                reply(c, new ScatterPlan(req.reqId(), req.ref(), targets));
                return;
            }
            reply(c, new RequestFailed(req.reqId(), RequestFailed.INVALID, "ref " + req.ref() + " already exists",
                    null, 0, 0));
            return;
        }
        List<Exec> live = s.executors.live();
        if (live.isEmpty()) {
            reply(c, new RequestFailed(req.reqId(), RequestFailed.UNAVAILABLE,
                    "no executors are registered with leader " + s.leaderId + "; start executors first", null, 0, 0));
            return;
        }
        List<Exec> targets = new ArrayList<>();
        Comparator<Exec> byRoom = Comparator.comparingLong(Exec::free).reversed()
                .thenComparingInt(Exec::load).thenComparing(e -> e.id);
        switch (req.mode()) {
            case ScatterRequest.BROADCAST -> targets.addAll(live);
            case ScatterRequest.ON -> {
                for (String id : req.on()) {
                    Exec e = s.executors.get(id);
                    if (e == null || !e.live()) {
                        reply(c, new RequestFailed(req.reqId(), RequestFailed.INVALID, "Scatter.on names executor '"
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
                    reply(c, new RequestFailed(req.reqId(), RequestFailed.INVALID, "Scatter.replicas(" + n
                            + ") needs " + n + " executors but only " + live.size() + " are live", null, 0, 0));
                    return;
                }
                live.sort(byRoom);
                targets.addAll(live.subList(0, n));
            }
        }
        for (Exec e : targets) {
            if (e.free() < req.size()) {
                reply(c, new RequestFailed(req.reqId(), RequestFailed.INSUFFICIENT_MEMORY, String.format(
                        "scatter of %s does not fit on executor %s (%s limit, %s used, %s reserved, %s free);"
                                + " start executors with --memory of at least %s more, release refs you no longer"
                                + " need, or scatter %s",
                        mib(req.size()), e.id, mib(e.memoryLimit), mib(e.memoryUsed), mib(e.reserved),
                        mib(Math.max(0, e.free())), mib(req.size() - Math.max(0, e.free())),
                        req.mode() == ScatterRequest.BROADCAST ? "without broadcast" : "to fewer or other executors"),
                        e.id, Math.max(0, e.free()), req.size()));
                return;
            }
        }
        Block b = new Block(req.ref(), null, c);
        b.extras().scatterReqSize = req.size();
        b.size = req.size();
        b.broadcast = req.mode() == ScatterRequest.BROADCAST;
        b.pinnable = true;
        if (req.mode() == ScatterRequest.ON) {
            b.extras().pinnedOn = targets.stream().map(e -> e.id).toList();
        }
        for (Exec e : targets) {
            b.extras().expected.add(e.id);
            e.reserved += req.size();
        }
        s.blocks.put(b);
        c.owned.add(b);
        s.outbox.viewChanged();
        reply(c, new ScatterPlan(req.reqId(), req.ref(), targets.stream().map(Exec::peer).toList()));
    }

    private static String mib(long bytes) {
        return bytes >= (1 << 20) ? (bytes >> 20) + " MiB" : bytes + " bytes";
    }

    void onStoredBlocks(Exec e, StoredBlocks stored) {
        e.memoryUsed = stored.memoryUsed();
        for (BlockInfo info : stored.stored()) {
            Block b = s.blocks.get(info.ref());
            if (b == null) {
                // Released meanwhile, or planned by an earlier leader for a client that has not
                // resumed yet: kept for it until the orphan time, then dropped.
                s.recovery.unclaimed.block(info.ref(), e, info.size(), info.bucketRows(), s.now());
                s.recovery.armOrphanSweep();
                continue;
            }
            if (b.expected().remove(e.id)) {
                e.reserved -= b.scatterReqSize();
            }
            boolean added = b.addLocation(e);
            boolean copied = added && b.done;
            if (added && b.broadcast) {
                s.observed.broadcastBytes += Math.max(0, info.size());
            }
            s.replication.stored(b, e);
            if (copied && b.failure() == null && b.ownerHolds) {
                b.owner.outDone.add(b.refDone(null)); // a copy made after it was done: Ref.locations() grows
            }
            if (b.size < 0) {
                b.size = info.size();
            }
            if (b.pinnable) {
                s.outbox.viewChanged();
            }
            if (!b.awaitingInventory()) {
                scatterProgress(b);
            }
        }
        for (BlockFailure f : stored.failed()) {
            Block b = s.blocks.get(f.ref());
            if (b != null) {
                s.replication.failed(b, e, f.reason());
            }
            if (b != null && b.expected().remove(e.id)) {
                e.reserved -= b.scatterReqSize();
                s.tasks.failBlock(b, new Failure(Failure.LOST, "io.quiver.QuiverException", "storing " + f.ref() + " on "
                        + e.id + " failed: " + f.reason(), null, e.id, 1));
            }
        }
    }

    /** A scattered block is ready once every target has stored it. */
    void scatterProgress(Block b) {
        if (b.producer != null || b.done || !b.expected().isEmpty()) {
            return;
        }
        if (b.locations().isEmpty()) {
            s.tasks.failBlock(b, new Failure(Failure.LOST, "io.quiver.DataLostException", "every target of the scatter of "
                    + b.ref + " was lost before storing it", null, s.leaderId, 0));
            return;
        }
        b.done = true;
        if (b.broadcast) {
            s.replication.wake(); // executors that joined while it streamed get it now
        }
        if (b.ownerHolds) {
            b.owner.outDone.add(b.refDone(null));
        }
        for (Task w : b.waiters()) {
            if (w.state == TaskState.WAITING && --w.unresolved == 0) {
                s.tasks.makeReady(w);
            }
        }
        s.blocks.maybeDrop(b);
    }
}
