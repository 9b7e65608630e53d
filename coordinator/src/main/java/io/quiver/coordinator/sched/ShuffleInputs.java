package io.quiver.coordinator.sched;

import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Task;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which map outputs a shuffle reduce task is launched with: those whose map task reported rows for
 * the reduce task's bucket, or whose summary is unknown (not done yet, or adopted without one). A
 * reduce partition that no map task wrote to is launched with no map output at all, so it fetches
 * nothing.
 *
 * <p>An instance is one shuffle dependency: all M map outputs of a map stage, read by each of a
 * reduce stage's R tasks. It hangs off a leader-side task of its own (never placed, never run: it
 * finishes on the leader once every map output is done), whose inputs are the M map outputs and
 * whose one output is a virtual value that each reduce task reads in their stead. So the leader
 * keeps M + R edges for the shuffle, not M x R: a map output has one waiter (the dependency), a
 * reduce task one input, and a finished map task wakes one counter, not R. Lineage goes through it:
 * a lost map output puts the dependency back to waiting (its readers wait again), and a reduce task
 * recomputed reads it as it read the map outputs. Which map outputs hold rows for which bucket is
 * indexed once, when the dependency completes, so a reduce task's launch costs its non-empty
 * buckets, not M.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it.
 */
final class ShuffleInputs {
    private static final int[] NONE = new int[0];

    /** The dependency's task: its inputs are the map outputs, in map order. */
    final Task dep;
    /** Map output positions given to every reader (summary unknown, or a one-bucket output with rows). */
    private int[] always;
    private int alwaysCount;
    /** Per bucket, positions of the map outputs that reported rows for it; null: not indexed yet. */
    private int[][] byBucket;
    private int[] bucketCount;

    ShuffleInputs(Task dep) {
        this.dep = dep;
    }

    /** The dependency task behind a value a reduce task reads, or null if {@code in} is an ordinary value. */
    static ShuffleInputs of(Block in) {
        return in.producer == null ? null : in.producer.shuffle();
    }

    /** Map outputs changed (finished again after a loss): the index is built anew when next asked. */
    void invalidate() {
        byBucket = null;
        always = null;
        bucketCount = null;
        alwaysCount = 0;
    }

    /** The map outputs a reduce task of bucket {@code bucket} is launched with, in map order. */
    List<Block> inputsFor(int bucket) {
        if (byBucket == null) {
            index();
        }
        List<Block> maps = dep.inputs;
        int[] some = bucket >= 0 && bucket < byBucket.length && byBucket[bucket] != null ? byBucket[bucket] : NONE;
        int n = bucket >= 0 && bucket < bucketCount.length ? bucketCount[bucket] : 0;
        List<Block> out = new ArrayList<>(n + alwaysCount);
        int i = 0;
        int j = 0;
        while (i < alwaysCount || j < n) {
            if (j >= n || (i < alwaysCount && always[i] < some[j])) {
                out.add(maps.get(always[i++]));
            } else {
                out.add(maps.get(some[j++]));
            }
        }
        return out;
    }

    private void index() {
        List<Block> maps = dep.inputs;
        always = NONE;
        alwaysCount = 0;
        int buckets = 0;
        for (Block in : maps) {
            if (in.done && in.bucketRows != null && in.bucketRows.length > 1) {
                buckets = Math.max(buckets, in.bucketRows.length);
            }
        }
        byBucket = new int[buckets][];
        bucketCount = new int[buckets];
        for (int m = 0; m < maps.size(); m++) {
            Block in = maps.get(m);
            int[] rows = in.bucketRows;
            if (!in.done || rows == null) {
                addAlways(m);
            } else if (rows.length == 1) {
                // A one-bucket output is read whole: a one-to-one side (already partitioned) or one partition.
                if (rows[0] != 0) {
                    addAlways(m);
                }
            } else {
                for (int b = 0; b < rows.length; b++) {
                    if (rows[b] != 0) {
                        int[] list = byBucket[b];
                        if (list == null) {
                            list = byBucket[b] = new int[2];
                        } else if (bucketCount[b] == list.length) {
                            list = byBucket[b] = Arrays.copyOf(list, list.length * 2);
                        }
                        list[bucketCount[b]++] = m;
                    }
                }
            }
        }
    }

    private void addAlways(int m) {
        if (alwaysCount == always.length) {
            always = Arrays.copyOf(always, Math.max(4, always.length * 2));
        }
        always[alwaysCount++] = m;
    }

    /**
     * What {@code t} is launched with for input {@code in}, in order: the map outputs behind a
     * shuffle dependency that hold rows for its bucket; {@code in} itself unless {@link #skip}s it.
     */
    static List<Block> launchedWith(Task t, Block in) {
        ShuffleInputs dep = of(in);
        if (dep != null) {
            return dep.inputsFor(t.shuffleBucket());
        }
        return skip(t, in) ? List.of() : List.of(in);
    }

    /** Whether {@code t} is launched without input {@code in}: a done map output with no rows for its bucket. */
    static boolean skip(Task t, Block in) {
        int bucket = t.shuffleBucket();
        if (bucket < 0 || !in.done) {
            return false;
        }
        int[] rows = in.bucketRows;
        if (rows == null) {
            return false;
        }
        // A one-bucket output is read whole: a one-to-one side (already partitioned) or one partition.
        int b = rows.length == 1 ? 0 : bucket;
        return b >= rows.length || rows[b] == 0;
    }
}
