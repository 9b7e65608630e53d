package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.Replicate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a broadcast value on every live executor: an executor that joins after the value was
 * scattered (or while its scatter was still streaming) gets a copy from a peer that holds it, in
 * the background, over the data plane ({@link Replicate}; the executor fetches it as it fetches a
 * task input). Memory is reserved on the target while the copy is under way, and a copy that does
 * not fit is not asked for. Tasks need not wait for it: one placed there meanwhile fetches the
 * value itself, and both fetches are the same one on the executor.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it. The scheduler calls
 * {@link #wake()} when membership or a broadcast changes, and {@link #run()} after each batch.
 */
final class Replication {
    private static final Logger log = LoggerFactory.getLogger(Replication.class);
    /** Copies of one value to one executor that failed this often are not asked for again. */
    static final int MAX_ATTEMPTS = 3;

    private record Target(RefId ref, String executor) {}

    private final Map<String, Exec> executors;
    private final Collection<Block> blocks;
    private final Map<Target, Integer> failures = new HashMap<>();
    private boolean dirty;

    Replication(Map<String, Exec> executors, Collection<Block> blocks) {
        this.executors = executors;
        this.blocks = blocks;
    }

    /** Something changed that may leave a broadcast missing somewhere: look again after this batch. */
    void wake() {
        dirty = true;
    }

    /** Asks every live executor that lacks a finished broadcast value to copy it from a holder. */
    void run() {
        if (!dirty) {
            return;
        }
        dirty = false;
        for (Block b : blocks) {
            if (!(b.broadcast || b.wantCopies() > 0) || !b.done || b.failure() != null || b.awaitingInventory()) {
                continue;
            }
            int missing = b.broadcast ? Integer.MAX_VALUE : b.wantCopies() - b.locations().size() - b.copying().size();
            if (missing <= 0) {
                continue;
            }
            List<Peer> from = new ArrayList<>(b.locations().size());
            for (Exec holder : b.locations()) {
                if (holder.live()) {
                    from.add(holder.peer());
                }
            }
            if (from.isEmpty()) {
                continue;
            }
            List<Exec> targets = new ArrayList<>(executors.values());
            if (!b.broadcast) {
                targets.sort(java.util.Comparator.comparingLong(Exec::free).reversed()); // most room first
            }
            for (Exec e : targets) {
                if (missing <= 0) {
                    break;
                }
                if (!e.live() || b.locations().contains(e) || b.copying().contains(e)
                        || failures.getOrDefault(new Target(b.ref, e.id), 0) >= MAX_ATTEMPTS) {
                    continue;
                }
                long size = Math.max(0, b.size);
                if (e.free() < size) {
                    log.warn("broadcast {} ({} bytes) does not fit on executor {} ({} bytes free): it is not copied"
                            + " there; tasks placed there fetch it as an input", b.ref, size, e.id, e.free());
                    continue;
                }
                b.extras().copying.add(e);
                missing--;
                e.reserved += size;
                // Spread the copies over the holders: each target starts with another one.
                List<Peer> order = new ArrayList<>(from.size());
                int first = b.copying().size() % from.size();
                for (int i = 0; i < from.size(); i++) {
                    order.add(from.get((first + i) % from.size()));
                }
                e.outCopies.add(new Replicate.Copy(b.ref, size, order));
            }
        }
    }

    /** {@code e} stored {@code b} (by this copy or any other way): its reservation ends. */
    void stored(Block b, Exec e) {
        if (b.copying().remove(e)) {
            e.reserved -= Math.max(0, b.size);
            failures.remove(new Target(b.ref, e.id));
        }
    }

    /** {@code e} could not copy {@code b}: its reservation ends; tried again, a few times at most. */
    void failed(Block b, Exec e, String reason) {
        if (!b.copying().remove(e)) {
            return;
        }
        e.reserved -= Math.max(0, b.size);
        int attempts = failures.merge(new Target(b.ref, e.id), 1, Integer::sum);
        log.warn("executor {} could not copy broadcast {} (attempt {} of {}): {}", e.id, b.ref, attempts,
                MAX_ATTEMPTS, reason);
        dirty = true;
    }

    /** {@code b} is dropped: copies under way end, and whatever arrives is dropped with it. */
    void forget(Block b) {
        for (Exec e : b.copying()) {
            e.reserved -= Math.max(0, b.size);
            e.outDrops.add(b.ref);
        }
        b.copying().clear();
        failures.keySet().removeIf(t -> t.ref().equals(b.ref));
    }

    /** {@code e} is gone: it copies nothing any more, and the values it held may be missing elsewhere now. */
    void lost(Exec e) {
        for (Block b : blocks) {
            b.copying().remove(e);
        }
        failures.keySet().removeIf(t -> t.executor().equals(e.id));
        dirty = true;
    }
}
