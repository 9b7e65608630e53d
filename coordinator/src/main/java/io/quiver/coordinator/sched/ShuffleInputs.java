package io.quiver.coordinator.sched;

import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Task;

/**
 * Which map outputs a shuffle reduce task is launched with: those whose map task reported rows for
 * the reduce task's bucket, or whose summary is unknown (not done yet, or adopted without one). A
 * reduce partition that no map task wrote to is launched with no map output at all, so it fetches
 * nothing; the task still depends on every map output, so a lost one is recomputed from lineage as
 * before. Pure; called on the scheduler loop.
 */
final class ShuffleInputs {
    private ShuffleInputs() {}

    /** Whether {@code t} is launched without input {@code in}: a done map output with no rows for its bucket. */
    static boolean skip(Task t, Block in) {
        int bucket = t.shuffleBucket;
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
