package io.quiver.executor;

import io.quiver.RefId;
import java.util.Map;

/**
 * A snapshot of an executor's counters.
 *
 * @param tasksRun tasks that ran on a worker (succeeded or threw)
 * @param bytesFetched block bytes fetched from peers
 * @param functionsDeserialized functions deserialized (once per function id while it is known)
 * @param memoryUsed bytes of blocks held in memory
 * @param blocks blocks stored (in memory or spilled)
 * @param spills blocks written to disk under memory pressure
 * @param queued tasks launched here that wait for inputs or a slot
 * @param decodes how many times each block's value was decoded here
 * @param fetchRequests fetch requests sent to peers (one per block, per location tried)
 */
public record ExecutorStats(long tasksRun, long bytesFetched, long functionsDeserialized, long memoryUsed, int blocks,
                            long spills, int queued, Map<RefId, Long> decodes, long fetchRequests) {
    public ExecutorStats {
        decodes = Map.copyOf(decodes);
    }

    /** How many times the value of block {@code ref} was decoded on this executor (0 if never). */
    public long deserializations(RefId ref) {
        return decodes.getOrDefault(ref, 0L);
    }
}
