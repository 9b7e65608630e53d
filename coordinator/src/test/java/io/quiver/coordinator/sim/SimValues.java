package io.quiver.coordinator.sim;

import io.quiver.RefId;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.core.protocol.JobRefs;
import io.quiver.planner.ClusterView;
import io.quiver.planner.PhysicalPlan;
import io.quiver.planner.Planner;
import io.quiver.planner.Stage;
import io.quiver.planner.TaskInput;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What every value in the simulation is. A task is deterministic and named by its output ref, so
 * the value of an output is a hash of that ref and the values of the task's ref arguments, in
 * order; a scattered value is a hash of its ref. Simulated executors compute values this way, and
 * the test knows the value every ref must have without asking the scheduler.
 */
final class SimValues {
    /** The block size every simulated value claims. */
    static final long BLOCK_SIZE = 1024;
    /** A client function's bytes: one that returns its hash, and one that throws. */
    static final byte[] FN_OK_BYTES = {1};
    static final byte[] FN_THROWS_BYTES = {2};
    /** A planner function placeholder: the simulation never runs stage functions. */
    private static final byte[] STAGE_FN = {7, 7, 7};

    private SimValues() {}

    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    static long taskValue(RefId out, List<Long> inputs) {
        long h = mix(out.owner() * 0x9E3779B97F4A7C15L + out.seq());
        for (long v : inputs) {
            h = mix(h ^ v);
        }
        return h;
    }

    static long scatterValue(RefId ref) {
        return mix(ref.owner() ^ (ref.seq() << 20) ^ 0x5CA77E5L);
    }

    static boolean throwsFn(byte[] fnBytes) {
        return fnBytes.length == 1 && fnBytes[0] == FN_THROWS_BYTES[0];
    }

    static byte[] encode(long value) {
        return ByteBuffer.allocate(8).putLong(value).array();
    }

    static long decode(byte[] inline) {
        return ByteBuffer.wrap(inline).getLong();
    }

    /** A dataset job: range -> mapToPair [-> map(pinned)] -> reduceByKey -> mapValues -> collect. */
    static LogicalPlan jobPlan(int mapPartitions, int reducePartitions, RefId broadcast) {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.range(0, 8L * mapPartitions, mapPartitions));
        n = b.add(LogicalNode.narrow(LogicalNode.Kind.MAP_TO_PAIR, n, STAGE_FN));
        if (broadcast != null) {
            n = b.add(LogicalNode.pinned(LogicalNode.Kind.MAP_PINNED, n, STAGE_FN, broadcast, true));
        }
        n = b.add(LogicalNode.reduceByKey(n, STAGE_FN, reducePartitions));
        n = b.add(LogicalNode.narrow(LogicalNode.Kind.MAP_VALUES, n, STAGE_FN));
        return b.build(n, Action.collect());
    }

    /**
     * What a job must produce: its result refs in partition order and the value of each, derived
     * from the plan the same way the leader derives the job's refs ({@link JobRefs}: stages in
     * order, tasks in order, outputs in order).
     */
    record JobExpectation(List<RefId> results, Map<RefId, Long> values, List<RefId> pinned) {
        static JobExpectation of(RefId job, LogicalPlan logical, RefId broadcast) {
            PhysicalPlan plan = Planner.plan(logical, ClusterView.of(List.of("exec-0")));
            Map<RefId, Long> values = new HashMap<>();
            List<List<List<RefId>>> outputs = new ArrayList<>();
            List<RefId> results = List.of();
            int next = 0;
            for (Stage stage : plan.stages()) {
                List<List<RefId>> stageOuts = new ArrayList<>();
                for (io.quiver.planner.TaskSpec spec : stage.tasks()) {
                    List<Long> inputs = new ArrayList<>();
                    for (TaskInput in : spec.inputs()) {
                        if (in instanceof TaskInput.Pinned p) {
                            inputs.add(scatterValue(p.ref()));
                        } else if (in instanceof TaskInput.StageOutput so) {
                            inputs.add(values.get(outputs.get(so.stageId()).get(so.partition()).get(so.output())));
                        } else if (in instanceof TaskInput.ShuffleRead sr) {
                            // Simulated map outputs carry no bucket summary: every reader gets them all.
                            inputs.add(values.get(outputs.get(sr.stageId()).get(sr.mapTask()).get(0)));
                        }
                    }
                    List<RefId> outs = new ArrayList<>();
                    for (int o = 0; o < stage.outputsPerTask(); o++) {
                        RefId out = JobRefs.ref(job, next++);
                        outs.add(out);
                        values.put(out, taskValue(out, inputs));
                    }
                    stageOuts.add(outs);
                }
                outputs.add(stageOuts);
                if (stage == plan.finalStage()) {
                    results = stageOuts.stream().map(o -> o.get(0)).toList();
                }
            }
            return new JobExpectation(results, values, broadcast == null ? List.of() : List.of(broadcast));
        }
    }
}
