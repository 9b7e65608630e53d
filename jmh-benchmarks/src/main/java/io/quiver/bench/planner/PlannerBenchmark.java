package io.quiver.bench.planner;

import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.RefId;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode;
import io.quiver.core.plan.LogicalNode.Kind;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.planner.ClusterView;
import io.quiver.planner.PhysicalPlan;
import io.quiver.planner.Planner;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Issue 3's planner target: planning a 1,000-operator DAG (under 10 ms). Shapes: {@code chain}, 1,000
 * narrow operators that fuse into one stage; {@code mixed}, the same length with a shuffle every 40
 * operators, unions and joins with side branches, and pinned broadcast and scattered refs. Beside
 * {@link #plan}: decoding the shipped plan ({@link #decodeBaseline}), which the leader does first,
 * and the leader's whole path ({@link #decodeAndPlan}).
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar PlannerBenchmark</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PlannerBenchmark {
    static final int OPERATORS = 1_000;
    static final int PARTITIONS = 16;

    @Param({"chain", "mixed"})
    String shape;

    LogicalPlan plan;
    byte[] shipped;
    ClusterView view;

    @Setup
    public void buildPlan() {
        Fn1<Long, Long> inc = x -> x + 1;
        Fn2<Long, Long, Long> sum = Long::sum;
        byte[] fn = JavaSerialization.serialize(inc, "bench map");
        byte[] combine = JavaSerialization.serialize(sum, "bench reduce");
        RefId broadcast = new RefId(1, 1);
        RefId scattered = new RefId(1, 2);
        view = ClusterView.of(List.of("exec-1", "exec-2"))
                .withRef(broadcast, true, "exec-1", "exec-2")
                .withRef(scattered, false, "exec-2");

        LogicalPlan.Builder b = LogicalPlan.builder();
        int at = b.add(LogicalNode.range(0, 1_000_000, PARTITIONS));
        int operators = 0;
        boolean mixed = shape.equals("mixed");
        while (operators < OPERATORS) {
            int i = operators;
            if (!mixed || i % 5 != 4) {
                at = b.add(LogicalNode.narrow(i % 2 == 0 ? Kind.MAP : Kind.FILTER, at, fn));
            } else if (i % 40 == 39) {
                at = b.add(LogicalNode.reduceByKey(b.add(LogicalNode.narrow(Kind.MAP_TO_PAIR, at, fn)), combine,
                        PARTITIONS));
                operators++;
            } else if (i % 200 == 104) {
                int side = b.add(LogicalNode.narrow(Kind.MAP, b.add(LogicalNode.range(0, 1_000, 4)), fn));
                at = b.add(LogicalNode.union(at, side));
                operators += 2;
            } else if (i % 200 == 184) {
                int side = b.add(LogicalNode.narrow(Kind.KEY_BY, b.add(LogicalNode.range(0, 1_000, 4)), fn));
                at = b.add(LogicalNode.join(b.add(LogicalNode.narrow(Kind.KEY_BY, at, fn)), side, PARTITIONS));
                operators += 3;
            } else if (i % 10 == 4) {
                at = b.add(LogicalNode.pinned(Kind.MAP_PINNED, at, fn, broadcast, true));
            } else {
                at = b.add(LogicalNode.pinned(Kind.FILTER_PINNED, at, fn, scattered, false));
            }
            operators++;
        }
        plan = b.build(at, Action.collect());
        shipped = plan.toBytes();
        PhysicalPlan check = Planner.plan(plan, view);
        if (check.stages().isEmpty()) {
            throw new IllegalStateException("no stages for " + plan.size() + " nodes");
        }
    }

    /** Planner.plan alone: the logical plan and the cluster view are built once. */
    @Benchmark
    public PhysicalPlan plan() {
        return Planner.plan(plan, view);
    }

    /** Baseline: decoding the plan as the leader receives it (LogicalPlan.fromBytes). */
    @Benchmark
    public LogicalPlan decodeBaseline() {
        return LogicalPlan.fromBytes(shipped);
    }

    /** What the leader does on a SubmitJob: decode, then plan. */
    @Benchmark
    public PhysicalPlan decodeAndPlan() {
        return Planner.plan(LogicalPlan.fromBytes(shipped), view);
    }
}
