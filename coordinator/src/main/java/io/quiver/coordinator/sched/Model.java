package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.Replicate;
import io.quiver.core.protocol.Message.TaskLaunch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The scheduler's state records. Confined to the scheduler loop, like the {@link Scheduler} that
 * owns them; mutable by design (the loop applies every change in place) and never shared.
 */
final class Model {
    private Model() {}

    /** How much queued work, in time, each slot keeps on its executor (about one round trip and more). */
    static final long LOOKAHEAD_NANOS = 2_000_000;
    static final int MAX_LOOKAHEAD_PER_SLOT = 512;

    /** One executor as the leader tracks it. */
    static final class Exec {
        final String id;
        /** The holders of a value held here only: shared by all such values ({@link Locations}). */
        final Locations alone = Locations.alone(this);
        Link link;
        String host;
        int port;
        int slots;
        long memoryLimit;
        long memoryUsed;
        long reserved;
        boolean alive = true;
        /** Its ZooKeeper record says it is closing on purpose: its going is a departure, not a loss. */
        boolean leaving;
        /** Its Prometheus port, from its ZooKeeper record (0: none). */
        int metricsPort;
        /** Its ZooKeeper node went away while its connection stayed up: lost unless the node returns. */
        boolean nodeGone;
        /** How many times its link dropped or its node went with the link up: names the current grace. */
        int drops;
        double avgTaskNanos = 200_000;
        final ArrayDeque<Task> queue = new ArrayDeque<>();
        final Set<Task> running = new LinkedHashSet<>();
        final Set<Long> knownFns = new HashSet<>();
        // the outbox: sent once per batch, stamped with the leader's epoch
        final List<FnDef> outFns = new ArrayList<>();
        final List<TaskLaunch> outLaunches = new ArrayList<>();
        final List<RefId> outDrops = new ArrayList<>();
        final List<Long> outDropFns = new ArrayList<>();
        final List<Replicate.Copy> outCopies = new ArrayList<>();
        /** Tasks to stop there (cancelled by their client). */
        final List<RefId> outCancels = new ArrayList<>();

        Exec(String id) {
            this.id = id;
        }

        Peer peer() {
            return new Peer(id, host, port);
        }

        /**
         * Whether new work goes there: connected, and its ZooKeeper node present (one whose session
         * ended is paused or cut off from ZooKeeper, and is lost if it does not come back in time).
         */
        boolean live() {
            return alive && link != null && !nodeGone;
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

    /** A value: a task's output, a scattered block, or a persisted partition. */
    static final class Block {
        final RefId ref;
        final Task producer;
        final Client owner;
        boolean ownerHolds;
        int consumers;
        long size = -1;
        boolean done;
        private Locations locations = Locations.NONE;
        /** Null while nobody waits: most values are done and read by nobody, and a leader keeps one per live ref. */
        private Waiters waiters;
        /** Lineage-free or persisted: the planner may pin work to it, so it is in the published view. */
        boolean pinnable;
        boolean broadcast;
        /**
         * A shuffle map output: rows per bucket, as its task reported them; null when not one, or
         * not known (adopted from an inventory): then every reader is given it.
         */
        int[] bucketRows;
        /** Null until the value fails, or is scattered, pinned or copied: most task outputs never are. */
        private BlockExtras extras;
        /** Its place in its owner's {@link OwnedRefs}, while the owner holds it. */
        Block prevOwned;
        Block nextOwned;

        Block(RefId ref, Task producer, Client owner) {
            this.ref = ref;
            this.producer = producer;
            this.owner = owner;
            this.ownerHolds = owner != null;
        }

        /** The executors holding a copy, in the order they came. */
        Set<Exec> locations() {
            return locations;
        }

        /** Whether {@code e} was not a holder yet. */
        boolean addLocation(Exec e) {
            Locations before = locations;
            locations = before.with(e);
            return locations != before;
        }

        /** Whether {@code e} was a holder. */
        boolean removeLocation(Exec e) {
            Locations before = locations;
            locations = before.without(e);
            return locations != before;
        }

        void clearLocations() {
            locations = Locations.NONE;
        }

        /** The tasks waiting for it, a task that reads it twice twice. */
        Collection<Task> waiters() {
            return waiters == null ? List.of() : waiters;
        }

        void addWaiter(Task t) {
            if (waiters == null) {
                waiters = new Waiters();
            }
            waiters.add(t);
        }

        /** Removes one occurrence of {@code t}; whether there was one. */
        boolean removeWaiter(Task t) {
            if (waiters == null || !waiters.remove(t)) {
                return false;
            }
            if (waiters.isEmpty()) {
                waiters = null;
            }
            return true;
        }

        /** Its failure, scatter and copy bookkeeping, made on first use: for writers. */
        BlockExtras extras() {
            if (extras == null) {
                extras = new BlockExtras();
            }
            return extras;
        }

        /** Why it will never be there (its task failed, or every copy is gone for good); null otherwise. */
        Failure failure() {
            return extras == null ? null : extras.failure;
        }

        /** Adopted from a resuming client: waits for executors' inventories until recovery ends. */
        boolean awaitingInventory() {
            return extras != null && extras.awaitingInventory;
        }

        void awaitingInventory(boolean awaiting) {
            if (awaiting || extras != null) {
                extras().awaitingInventory = awaiting;
            }
        }

        /**
         * Broadcast or replicated: executors copying it from a peer ({@link Replication}), each with
         * {@code size} reserved.
         */
        Set<Exec> copying() {
            return extras == null ? Collections.emptySet() : extras.copying;
        }

        /** Scatter only: the targets (by id) still to store it. */
        Set<String> expected() {
            return extras == null ? Collections.emptySet() : extras.expected;
        }

        /** Scatter only: the bytes reserved on each target it waits for. */
        long scatterReqSize() {
            return extras == null ? 0 : extras.scatterReqSize;
        }

        /** Copies asked for by {@code replicate} (0: none; a broadcast has one on every executor). */
        int wantCopies() {
            return extras == null ? 0 : extras.wantCopies;
        }

        /**
         * {@code Scatter.on}: the executors (by id) its consumers run on while any of them is live;
         * empty for every other kind of value.
         */
        List<String> pinnedOn() {
            return extras == null ? List.of() : extras.pinnedOn;
        }

        RefDone refDone(byte[] inline) {
            Failure failure = failure();
            if (failure != null) {
                return new RefDone(ref, -1, List.of(), null, failure);
            }
            List<String> ids = new ArrayList<>(locations.size());
            for (Exec e : locations) {
                ids.add(e.id);
            }
            return new RefDone(ref, size, ids, inline, null);
        }
    }

    /** What only a failed, scattered, pinned or copied value needs: see the {@link Block} methods that read it. */
    static final class BlockExtras {
        Failure failure;
        boolean awaitingInventory;
        final SmallSet<Exec> copying = new SmallSet<>();
        final SmallSet<String> expected = new SmallSet<>();
        long scatterReqSize;
        int wantCopies;
        List<String> pinnedOn = List.of();
    }

    enum TaskState { WAITING, QUEUED, LAUNCHED, DONE, FAILED }

    static final class Task {
        final RefId id;
        final Fn fn;
        final List<Arg> args;
        /** The blocks its ref arguments name, in order, set by {@link TaskGraph} when it links them. */
        List<Block> inputs = List.of();
        final Client owner;
        TaskState state = TaskState.WAITING;
        Exec exec;
        boolean onExecutor;
        boolean ahead;
        int unresolved;
        /** Re-sent by a client still resuming: not placed before its resume ends (see Message.Resume). */
        boolean heldBack;
        /** An input ref was unknown when it was added (released, no lineage): it can be adopted, never run. */
        boolean missingInput;
        /** Its first output; a task with more keeps them all in its {@link TaskExtras}. */
        private Block output;
        /** Null while every field of it has its default: most tasks are plain submits that run once. */
        private TaskExtras extras;

        Task(RefId id, Fn fn, List<Arg> args, Client owner) {
            this.id = id;
            this.fn = fn;
            this.args = args;
            this.owner = owner;
        }

        boolean finished() {
            return state == TaskState.DONE || state == TaskState.FAILED;
        }

        /** Its outputs, in order (immutable: most tasks have one, and keep no list for it). */
        List<Block> outputs() {
            return extras == null || extras.outputs == null ? List.of(output) : extras.outputs;
        }

        /** Sets its outputs, once, when it is added. */
        void outputs(List<Block> outputs) {
            output = outputs.get(0);
            if (outputs.size() > 1) {
                extras().outputs = List.copyOf(outputs);
            }
        }

        /** The refs of its outputs, in order. */
        List<RefId> outs() {
            if (extras == null || extras.outputs == null) {
                return List.of(output.ref);
            }
            List<RefId> refs = new ArrayList<>(extras.outputs.size());
            for (Block b : extras.outputs) {
                refs.add(b.ref);
            }
            return refs;
        }

        /** Its options, job and retry state, made on first use: for writers. */
        TaskExtras extras() {
            if (extras == null) {
                extras = new TaskExtras();
            }
            return extras;
        }

        /**
         * Non-null only for a shuffle dependency's own task (never placed: it finishes on the leader
         * once its map outputs are done), which stands for M map outputs to each of R readers.
         */
        ShuffleInputs shuffle() {
            return extras == null ? null : extras.shuffle;
        }

        /** Runs started so far beyond the first (re-placed after a loss, retried, recomputed). */
        int attempts() {
            return extras == null ? 0 : extras.attempts;
        }

        /** Where the planner pins this task (holders of its non-broadcast pinned inputs); empty: anywhere. */
        List<String> pinnedTo() {
            return extras == null ? List.of() : extras.pinnedTo;
        }

        /** Executors that died while running this task: at {@link Scheduler#MAX_CRASHES} it is marked bad. */
        List<String> crashedOn() {
            return extras == null ? List.of() : extras.crashedOn;
        }

        int fetchRetries() {
            return extras == null ? 0 : extras.fetchRetries;
        }

        /** Why it cannot run (an input failed or is unknown), decided once adoption was tried. */
        Failure inputFailure() {
            return extras == null ? null : extras.inputFailure;
        }

        void inputFailure(Failure f) {
            if (f != null || extras != null) {
                extras().inputFailure = f;
            }
        }

        /**
         * A shuffle reduce task: the bucket it reads from its map outputs, so that it is launched
         * with only those that hold rows for it ({@link ShuffleInputs}); -1 for other tasks.
         */
        int shuffleBucket() {
            return extras == null ? -1 : extras.shuffleBucket;
        }

        /** The dataset job it belongs to, for progress; null for a submitted function. */
        Observed.Job job() {
            return extras == null ? null : extras.job;
        }

        int stage() {
            return extras == null ? -1 : extras.stage;
        }

        /** Runs left when user code throws ({@code Submit.retries}). */
        int retriesLeft() {
            return extras == null ? 0 : extras.retriesLeft;
        }

        /** Higher is placed first among ready tasks ({@code Submit.priority}). */
        int priority() {
            return extras == null ? 0 : extras.priority;
        }

        /** The only executors it may run on ({@code Submit.on} without allowOthers); empty: anywhere. */
        List<String> restrictTo() {
            return extras == null ? List.of() : extras.restrictTo;
        }
    }

    /** What only some tasks need: see the {@link Task} methods that read it. */
    static final class TaskExtras {
        /** Null for a task with one output. */
        List<Block> outputs;
        ShuffleInputs shuffle;
        int attempts;
        List<String> pinnedTo = List.of();
        List<String> crashedOn = List.of();
        int fetchRetries;
        Failure inputFailure;
        int shuffleBucket = -1;
        Observed.Job job;
        int stage = -1;
        int retriesLeft;
        int priority;
        List<String> restrictTo = List.of();
    }

    static final class Fn {
        final long id;
        final byte[] bytes;
        int tasks;
        /** The id its client gave it, the key of {@link Client#fnsById}; -1 for a job's functions. */
        long clientId = -1;

        Fn(long id, byte[] bytes) {
            this.id = id;
            this.bytes = bytes;
        }
    }

    /** A client, by the id of its handshake: it survives reconnects; its link is the current connection. */
    static final class Client {
        final String id;
        Link link;
        /** The link whose drop started the current grace; a newer drop restarts it. */
        Link dropped;
        final Map<Long, Fn> fnsById = new HashMap<>();
        final List<RefDone> outDone = new ArrayList<>();
        // Ordered: what a client leaves is released in the same order every run (a simulation replays it).
        final OwnedRefs owned = new OwnedRefs();
        /** Between its Resume(false) and Resume(true): what it re-sends is held back. */
        boolean resuming;
        /** Tasks added for it while resuming, in creation order. */
        List<Task> resumed = new ArrayList<>();
        /** Its re-sent tasks, in submit order, to adopt once all are here ({@link Admission#adoptResent}). */
        List<Task> toAdopt = new ArrayList<>();

        Client(String id) {
            this.id = id;
        }
    }
}
