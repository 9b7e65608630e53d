package io.quiver.planner;

import io.quiver.RefId;
import java.io.Serializable;
import java.util.Objects;

/**
 * One argument of a task, in the order {@link io.quiver.core.plan.StageFunction} expects them. The
 * runtime resolves each to a value before running the task.
 */
public sealed interface TaskInput {

    /** A value carried in the task itself: the partition index, a range or text split, a parallelize partition. */
    record Inline(Object value) implements TaskInput {
        public Inline {
            if (!(value instanceof Serializable)) {
                throw new IllegalArgumentException("inline task inputs must be Serializable, got " + value);
            }
        }

        @Override
        public String toString() {
            return "Inline[" + (value instanceof byte[] b ? b.length + " bytes" : value) + "]";
        }
    }

    /** The value of a ref that is already on the cluster (scattered, broadcast or persisted). */
    record Pinned(RefId ref) implements TaskInput {
        public Pinned {
            Objects.requireNonNull(ref, "ref");
        }
    }

    /** Output {@code output} of task {@code partition} of the earlier stage {@code stageId}. */
    record StageOutput(int stageId, int partition, int output) implements TaskInput {}

    /**
     * Bucket {@code bucket} of the map output of task {@code mapTask} of the shuffle-map stage
     * {@code stageId}. The runtime passes that bucket of the map output (a {@link
     * io.quiver.core.plan.ShuffleOutput} slice, cut from the block by its bucket index; a small map
     * output may come whole), and only when the map task reported rows for that bucket: a reduce
     * task gets no argument, and fetches nothing, for the map tasks that wrote none.
     */
    record ShuffleRead(int stageId, int mapTask, int bucket) implements TaskInput {}
}
