package io.quiver.core.client.dataset;

import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.RefId;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode;
import io.quiver.core.plan.LogicalPlan;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the client's linked dataset graph into a flat {@link LogicalPlan}, with an explicit stack
 * (a 1,000-operator pipeline must not recurse). Shared nodes appear once. Persist markers become
 * a persist mark on their input (first job), a {@code PERSISTED} source (later jobs), or nothing
 * (after {@code unpersist()}). Checks here what may have changed since the pipeline was built:
 * pinned refs still live.
 */
final class PlanFlattener {
    /** The plan and, by node index, the persist handles whose partitions the job computes. */
    record Flat(LogicalPlan plan, Map<Integer, PersistHandle> persisting) {}

    private PlanFlattener() {}

    static Flat flatten(JobService service, ClientNode root, Action action) {
        LogicalPlan.Builder b = LogicalPlan.builder();
        IdentityHashMap<ClientNode, Integer> index = new IdentityHashMap<>();
        Map<Integer, PersistHandle> persisting = new HashMap<>();
        Deque<ClientNode> stack = new ArrayDeque<>();
        stack.push(root);
        while (!stack.isEmpty()) {
            ClientNode n = stack.peek();
            if (index.containsKey(n)) {
                stack.pop();
                continue;
            }
            if (n.isPersistMarker() && n.persist.state() == PersistHandle.State.MATERIALIZED) {
                List<Ref<?>> refs = n.persist.refs();
                if (refs != null && allLive(service, refs)) {
                    List<RefId> ids = new ArrayList<>(refs.size());
                    refs.forEach(r -> ids.add(r.id()));
                    index.put(n, b.add(LogicalNode.persisted(ids, n.hashPartitions)));
                    stack.pop();
                    continue;
                }
                if (refs != null) {
                    n.persist.reset(refs); // released under us: recompute from lineage
                }
            }
            boolean pushed = false;
            for (int i = n.inputs.length - 1; i >= 0; i--) {
                if (!index.containsKey(n.inputs[i])) {
                    stack.push(n.inputs[i]);
                    pushed = true;
                }
            }
            if (pushed) {
                continue;
            }
            stack.pop();
            if (n.isPersistMarker()) {
                int at = index.get(n.inputs[0]);
                if (n.persist.state() == PersistHandle.State.PENDING && !persisting.containsKey(at)) {
                    b.markPersist(at);
                    persisting.put(at, n.persist);
                }
                index.put(n, at);
                continue;
            }
            index.put(n, b.add(toLogical(service, n, index)));
        }
        return new Flat(b.build(index.get(root), action), persisting);
    }

    private static boolean allLive(JobService service, List<Ref<?>> refs) {
        for (Ref<?> r : refs) {
            if (service.refState(r) != JobService.RefState.LIVE) {
                return false;
            }
        }
        return true;
    }

    private static LogicalNode toLogical(JobService service, ClientNode n, Map<ClientNode, Integer> index) {
        return switch (n.kind) {
            case PARALLELIZE -> LogicalNode.parallelize(n.items);
            case RANGE -> LogicalNode.range(n.from, n.to, n.partitions);
            case TEXT_FILE -> LogicalNode.textFile(n.path, n.fileLength, n.partitions);
            case MAP_PINNED, FILTER_PINNED -> {
                DatasetImpl.checkRef(service, n.kind.displayName(), n.pinned);
                yield LogicalNode.pinned(n.kind, index.get(n.inputs[0]), n.functionBytes(), n.pinned.id(),
                        service.isBroadcast(n.pinned));
            }
            case UNION -> LogicalNode.union(index.get(n.inputs[0]), index.get(n.inputs[1]));
            case REDUCE_BY_KEY -> LogicalNode.reduceByKey(index.get(n.inputs[0]), n.functionBytes(), n.partitions);
            case GROUP_BY_KEY -> LogicalNode.groupByKey(index.get(n.inputs[0]), n.partitions);
            case JOIN -> LogicalNode.join(index.get(n.inputs[0]), index.get(n.inputs[1]), n.partitions);
            case REPARTITION -> LogicalNode.repartition(index.get(n.inputs[0]), n.partitions);
            case COALESCE -> LogicalNode.coalesce(index.get(n.inputs[0]), n.partitions);
            case COGROUP, PARTITION_BY, SORT_BY_KEY -> {
                int[] in = new int[n.inputs.length];
                for (int i = 0; i < in.length; i++) {
                    in[i] = index.get(n.inputs[i]);
                }
                yield LogicalNode.wide(n.kind, in, n.functionBytes(), n.partitions);
            }
            case PARTITIONS -> LogicalNode.partitions(index.get(n.inputs[0]), (int) n.from, (int) n.to);
            case PERSISTED -> throw new QuiverException("internal: a client node is never PERSISTED");
            default -> LogicalNode.narrow(n.kind, index.get(n.inputs[0]), n.functionBytes());
        };
    }
}
