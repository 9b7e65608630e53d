package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Client;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.core.protocol.Batches;
import io.quiver.core.protocol.Message.CancelTasks;
import io.quiver.core.protocol.Message.Drop;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Replicate;
import io.quiver.planner.ClusterView;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What leaves the scheduler after a batch: each executor's cancels, drops, launches and copies
 * and each client's completions, queued on the peers during the batch and sent here as one message
 * of each kind per peer, every command stamped with this leader's epoch (executors refuse older
 * ones); and the {@link ClusterView} that jobs are planned against, published when it changed.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it; only {@link #view()}
 * is read from other threads.
 */
final class Outbox {
    /** What a ref adds to a message, at most. */
    private static final long REF_BYTES = 16;

    private final long epoch;
    private boolean viewDirty = true;
    private volatile ClusterView view = ClusterView.of(List.of());

    Outbox(long epoch) {
        this.epoch = epoch;
    }

    /** Membership or a pinnable value's copies changed: publish the view after this batch. */
    void viewChanged() {
        viewDirty = true;
    }

    ClusterView view() {
        return view;
    }

    /** Sends every peer's batched messages. */
    void flush(Collection<Exec> executors, Collection<Client> clients) {
        for (Exec e : executors) {
            if (e.link == null) {
                e.outLaunches.clear(); // their tasks are taken back when it registers again, or is lost
                e.outFns.forEach(f -> e.knownFns.remove(f.fnId())); // never sent
                e.outFns.clear();
                e.outCopies.clear();
                e.outCancels.clear(); // it registers again without them, or is lost
                continue;
            }
            if (!e.outCancels.isEmpty()) {
                for (List<RefId> part : Batches.split(List.copyOf(e.outCancels), r -> REF_BYTES)) {
                    e.link.send(new CancelTasks(epoch, part));
                }
                e.outCancels.clear();
            }
            // Drops first: a function dropped and launched again in one batch must end up defined.
            if (!e.outDrops.isEmpty() || !e.outDropFns.isEmpty()) {
                List<Long> fns = List.copyOf(e.outDropFns);
                for (List<RefId> part : Batches.split(List.copyOf(e.outDrops), r -> REF_BYTES)) {
                    e.link.send(new Drop(epoch, part, fns));
                    fns = List.of();
                }
                if (!fns.isEmpty()) {
                    e.link.send(new Drop(epoch, List.of(), fns));
                }
                e.outDrops.clear();
                e.outDropFns.clear();
            }
            if (!e.outLaunches.isEmpty() || !e.outFns.isEmpty()) {
                e.link.send(new Launch(epoch, List.copyOf(e.outFns), List.copyOf(e.outLaunches)));
                e.outLaunches.clear();
                e.outFns.clear();
            }
            if (!e.outCopies.isEmpty()) {
                e.link.send(new Replicate(epoch, List.copyOf(e.outCopies)));
                e.outCopies.clear();
            }
        }
        for (Client c : clients) {
            if (!c.outDone.isEmpty()) {
                if (c.link != null) {
                    // After a failover, every ref a client holds is reported in one batch.
                    for (List<RefDone> part : Batches.split(List.copyOf(c.outDone), RefDone::sizeBound)) {
                        c.link.send(new RefsDone(part));
                    }
                }
                c.outDone.clear();
            }
        }
    }

    /** Publishes the live executors and where every pinnable value is, if either changed. */
    void publishViewIfChanged(Collection<Exec> executors, Collection<Block> blocks) {
        if (!viewDirty) {
            return;
        }
        viewDirty = false;
        List<String> live = new ArrayList<>();
        for (Exec e : executors) {
            if (e.live()) {
                live.add(e.id);
            }
        }
        Map<RefId, ClusterView.RefLocation> refs = new HashMap<>();
        for (Block b : blocks) {
            if (b.pinnable && b.failure() == null && !b.locations().isEmpty()) {
                Set<String> holders = new HashSet<>();
                for (Exec e : b.locations()) {
                    holders.add(e.id);
                }
                refs.put(b.ref, new ClusterView.RefLocation(new TreeSet<>(holders), b.broadcast));
            }
        }
        view = new ClusterView(live, refs);
    }
}
