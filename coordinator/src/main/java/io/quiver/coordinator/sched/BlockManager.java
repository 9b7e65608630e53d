package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.core.protocol.JobRefs;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The values this leader knows: who holds which copy, and who still needs each one (its owner's
 * ref, the tasks that read it). A value nobody needs is dropped from its holders here, and with
 * its last value a task is forgotten ({@link TaskGraph#forget}). It also counts each dataset job's
 * values, so a job is known exactly as long as a value of it is.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it.
 */
final class BlockManager {
    private final Scheduler s;
    private final RefTable<Block> blocks = new RefTable<>(b -> b.ref);
    /** How many of {@link #blocks} each job (by {@link JobRefs#jobOf}) has: a job is forgotten with its last. */
    private final Map<RefId, int[]> jobBlocks = new HashMap<>();

    BlockManager(Scheduler s) {
        this.s = s;
    }

    Block get(RefId ref) {
        return blocks.get(ref);
    }

    /** Whether {@code b} is the value this leader knows by its ref (not one dropped, or replaced). */
    boolean holds(Block b) {
        return blocks.get(b.ref) == b;
    }

    /** A live view, shared read-only with {@link Replication}. */
    Collection<Block> all() {
        return blocks;
    }

    int count() {
        return blocks.size();
    }

    /** Whether a job with this id has a value here: sent again, it only re-sends their state. */
    boolean knowsJob(RefId job) {
        return jobBlocks.containsKey(job);
    }

    int jobCount() {
        return jobBlocks.size();
    }

    void put(Block b) {
        if (blocks.put(b) == null) {
            added(b.ref);
        }
    }

    /** Puts back a value that was dropped (to be produced again); false if one is there. */
    boolean putBack(Block b) {
        if (blocks.putIfAbsent(b) != null) {
            return false;
        }
        added(b.ref);
        return true;
    }

    private void added(RefId ref) {
        RefId job = JobRefs.jobOf(ref);
        if (job != null) {
            jobBlocks.computeIfAbsent(job, j -> new int[1])[0]++;
        }
    }

    private void gone(RefId ref) {
        RefId job = JobRefs.jobOf(ref);
        int[] n = job == null ? null : jobBlocks.get(job);
        if (n != null && --n[0] == 0) {
            jobBlocks.remove(job);
        }
    }

    /** Drops a block that no ref and no pending task needs any more. */
    void maybeDrop(Block b) {
        if (b.ownerHolds || b.consumers > 0 || !b.done) {
            return;
        }
        if (blocks.remove(b.ref) == null) {
            return;
        }
        gone(b.ref);
        if (b.pinnable) {
            s.outbox.viewChanged();
        }
        if (b.owner != null) {
            b.owner.owned.remove(b);
        }
        for (Exec e : b.locations()) {
            e.outDrops.add(b.ref);
        }
        s.replication.forget(b);
        s.executors.unreserve(b.expected(), b.scatterReqSize());
        if (b.producer != null && b.producer.shuffle() != null) {
            // A shuffle dependency's readers are done: its map outputs go once nobody else reads them.
            s.tasks.releaseInputs(b.producer);
        }
        if (b.producer != null && holdsNone(b.producer.outputs())) {
            s.tasks.forget(b.producer);
        }
    }

    private boolean holdsNone(java.util.List<Block> outputs) {
        for (Block o : outputs) {
            if (holds(o)) {
                return false;
            }
        }
        return true;
    }

    /** The values no task produces (scattered, broadcast, held), for the status page. */
    List<ClusterSnapshot.ValueRow> valueRows() {
        List<ClusterSnapshot.ValueRow> values = new ArrayList<>();
        for (Block b : blocks) {
            if (b.producer == null && b.failure() == null) {
                List<String> holders = new ArrayList<>(b.locations().size());
                for (Exec e : b.locations()) {
                    holders.add(e.id);
                }
                values.add(new ClusterSnapshot.ValueRow(b.ref.toString(), b.broadcast, b.size, holders, b.done));
            }
        }
        values.sort(Comparator.comparing(ClusterSnapshot.ValueRow::ref));
        return values;
    }
}
