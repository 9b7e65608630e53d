package io.quiver.core.client.dataset;

import io.quiver.Ref;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a job returns to the client.
 *
 * @param outputs the final stage's output per partition, in partition order (never null elements:
 *     an ArrayList for COLLECT, a Long for COUNT, an Object[] of length 0 or 1 for REDUCE)
 * @param persisted for each persisted node computed by this job ({@code PhysicalPlan.persistedOutputs()}),
 *     keyed by its index in the logical plan: the refs of its partitions in partition order. The
 *     dataset owns them from now on and closes them on {@code unpersist()}.
 */
public record JobResult(List<Object> outputs, Map<Integer, List<Ref<?>>> persisted) {
    public JobResult {
        outputs = Collections.unmodifiableList(new ArrayList<>(outputs));
        Map<Integer, List<Ref<?>>> copy = new HashMap<>();
        persisted.forEach((node, refs) -> copy.put(node, List.copyOf(refs)));
        persisted = Collections.unmodifiableMap(copy);
    }

    public static JobResult of(List<Object> outputs) {
        return new JobResult(outputs, Map.of());
    }
}
