package io.quiver.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.Dataset;
import io.quiver.KV;
import io.quiver.PairDataset;
import io.quiver.core.client.dataset.DatasetImpl;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode;
import io.quiver.core.plan.LogicalNode.Kind;
import io.quiver.core.plan.LogicalPlan;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The planning rules of part 7: a remembered hash partitioning removes shuffles, a root partition
 * slice runs only the selected result tasks (take), sortByKey is one range shuffle, and
 * mapPartitionsWithIndex sees each dataset's own partition numbers.
 */
class PartitioningPlannerTest {
    private static final byte[] FN = {1, 2, 3};
    private static final ClusterView TWO = ClusterView.of(List.of("exec-0", "exec-1"));

    private static long shuffleMapStages(PhysicalPlan p) {
        return p.stages().stream().filter(s -> s.kind() == Stage.Kind.SHUFFLE_MAP).count();
    }

    @Test
    void reduceByKeyAndGroupByKeyAfterPartitionByWithTheSameCountPlanNoShuffle() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int src = b.add(LogicalNode.range(0, 100, 3));
        int pairs = b.add(LogicalNode.narrow(Kind.MAP_TO_PAIR, src, FN));
        int parted = b.add(LogicalNode.wide(Kind.PARTITION_BY, new int[] {pairs}, null, 4));
        int filtered = b.add(LogicalNode.narrow(Kind.FILTER, parted, FN)); // keeps the partitioning
        int reduced = b.add(LogicalNode.reduceByKey(filtered, FN, 4));
        int grouped = b.add(LogicalNode.groupByKey(reduced, 4));

        PhysicalPlan p = Planner.plan(b.build(grouped, Action.collect()), TWO);

        assertThat(shuffleMapStages(p)).as(p.explain()).isEqualTo(1); // partitionBy's own shuffle only
        Stage result = p.finalStage();
        assertThat(result.operators()).containsExactly("partitionBy(hash)", "filter",
                "reduceByKey (no shuffle: input already hash-partitioned into 4)",
                "groupByKey (no shuffle: input already hash-partitioned into 4)");
        assertThat(result.partitions()).isEqualTo(4);
        assertThat(p.explain()).contains("reduceByKey (no shuffle: input already hash-partitioned into 4)");
    }

    @Test
    void aDifferentPartitionCountShufflesAgain() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int src = b.add(LogicalNode.range(0, 100, 3));
        int pairs = b.add(LogicalNode.narrow(Kind.MAP_TO_PAIR, src, FN));
        int parted = b.add(LogicalNode.wide(Kind.PARTITION_BY, new int[] {pairs}, null, 4));
        int mapped = b.add(LogicalNode.narrow(Kind.MAP, parted, FN)); // may change keys: forgets it
        int reduced = b.add(LogicalNode.reduceByKey(mapped, FN, 4));
        int again = b.add(LogicalNode.reduceByKey(reduced, FN, 5));

        PhysicalPlan p = Planner.plan(b.build(again, Action.collect()), TWO);

        assertThat(shuffleMapStages(p)).as(p.explain()).isEqualTo(3);
    }

    @Test
    void joinOfTwoCoPartitionedSidesReadsEachPartitionOneToOne() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int left = b.add(LogicalNode.wide(Kind.PARTITION_BY, new int[] {b.add(LogicalNode.narrow(Kind.MAP_TO_PAIR,
                b.add(LogicalNode.range(0, 10, 2)), FN))}, null, 3));
        int right = b.add(LogicalNode.wide(Kind.PARTITION_BY, new int[] {b.add(LogicalNode.narrow(Kind.MAP_TO_PAIR,
                b.add(LogicalNode.range(0, 10, 5)), FN))}, null, 3));
        int joined = b.add(LogicalNode.join(left, right, 3));

        PhysicalPlan p = Planner.plan(b.build(joined, Action.collect()), TWO);

        Stage join = p.finalStage();
        assertThat(p.explain()).contains("one-to-one for join left, no shuffle: already hash-partitioned into 3")
                .contains("one-to-one for join right, no shuffle: already hash-partitioned into 3");
        // task 2 reads partition 2 of each side, nothing else
        // (the one bucket of map task 2's output: that side is already partitioned)
        List<TaskInput> reads = join.tasks().get(2).inputs().stream()
                .filter(i -> i instanceof TaskInput.ShuffleRead).toList();
        assertThat(reads).hasSize(2).allSatisfy(i -> {
            TaskInput.ShuffleRead sr = (TaskInput.ShuffleRead) i;
            assertThat(sr.mapTask()).isEqualTo(2);
            assertThat(sr.bucket()).isZero();
        });
        for (int parent : join.parents()) {
            assertThat(p.stage(parent).outputsPerTask()).isEqualTo(1);
        }
    }

    @Test
    void datasetsRememberPartitionByThroughPersistAndExplainShowsIt() {
        try (TestingJobService q = new TestingJobService()) {
            PairDataset<Integer, Integer> parted = q.parallelize(List.of(1, 2, 3, 4, 5, 6, 7), 3)
                    .mapToPair(x -> KV.of(x % 3, x)).partitionBy(4).persist();
            parted.count(); // materialize: later jobs read the persisted partitions
            PairDataset<Integer, Integer> sums = parted.reduceByKey(Integer::sum, 4);
            String explain = sums.explain();
            assertThat(explain).contains("physical plan: 1 stage")
                    .contains("reduceByKey (no shuffle: input already hash-partitioned into 4)");
            assertThat(sums.collectAsMap()).isEqualTo(java.util.Map.of(0, 9, 1, 12, 2, 7));
            assertThat(q.lastPlan().stages()).hasSize(1);
            assertThat(parted.groupByKey().explain()).doesNotContain("shuffle map"); // keeps the 4 partitions
            assertThat(parted.groupByKey(5).explain()).contains("shuffle map for groupByKey");
        }
    }

    @Test
    void combineByKeyFamilyAfterPartitionByPlansNoShuffle() {
        try (TestingJobService q = new TestingJobService()) {
            PairDataset<Integer, Integer> parted = q.parallelize(List.of(1, 2, 3, 4, 5, 6, 7), 3)
                    .mapToPair(x -> KV.of(x % 3, x)).partitionBy(3);
            PairDataset<Integer, Integer> folded = parted.foldByKey(0, Integer::sum);
            assertThat(folded.explain()).contains("physical plan: 2 stages"); // partitionBy's shuffle only
            assertThat(folded.collectAsMap()).isEqualTo(java.util.Map.of(0, 9, 1, 12, 2, 7));
            assertThat(parted.aggregateByKey(0, (a, v) -> a + 1, Integer::sum).collectAsMap())
                    .isEqualTo(java.util.Map.of(0, 2, 1, 3, 2, 2));
        }
    }

    @Test
    void takeOfTenFromAThousandPartitionsRunsOneTask() {
        try (TestingJobService q = new TestingJobService()) {
            Dataset<Long> d = q.range(0, 100_000, 1000);
            long before = q.runner().tasksRun();
            assertThat(d.take(10)).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
            assertThat(q.runner().tasksRun() - before).isEqualTo(1);
        }
    }

    @Test
    void takeScalesUpByAtMostFourTimesWhatItScanned() {
        try (TestingJobService q = new TestingJobService()) {
            // only the last 10 of 1,000 partitions hold elements
            Dataset<Long> d = q.range(0, 100_000, 1000).filter(x -> x >= 99_000);
            long before = q.runner().tasksRun();
            List<Long> ten = d.take(10);
            assertThat(ten).containsExactly(99_000L, 99_001L, 99_002L, 99_003L, 99_004L, 99_005L, 99_006L, 99_007L,
                    99_008L, 99_009L);
            // rounds of 1, 4, 20, 100, 500, then the remaining 375 partitions
            assertThat(q.runner().tasksRun() - before).isEqualTo(1000);
            assertThat(q.jobs()).isEqualTo(6);
        }
    }

    @Test
    void aPartitionsSliceMustBeTheRootAndInRange() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int src = b.add(LogicalNode.range(0, 10, 3));
        int slice = b.add(LogicalNode.partitions(src, 2, 4));
        assertThatThrownBy(() -> b.build(slice, Action.collect())).hasMessageContaining("partitions (node 1)");
    }

    @Test
    void sortByKeyIsOneRangeShuffleAndMapPartitionsWithIndexSeesEachSidesNumbers() {
        try (TestingJobService q = new TestingJobService()) {
            List<Integer> data = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                data.add((i * 37) % 101);
            }
            PairDataset<Integer, Integer> sorted = q.parallelize(data, 5).keyBy(x -> x).sortByKey(true);
            PhysicalPlan plan = Planner.plan(((DatasetImpl<?>) sorted).logicalPlan(Action.collect()),
                    q.clusterView());
            assertThat(shuffleMapStages(plan)).isEqualTo(1);
            assertThat(plan.finalStage().operators()).containsExactly("sortByKey");
            List<Integer> keys = sorted.keys().collect();
            assertThat(keys).isSorted().hasSize(200);
            // every partition non-empty: the sampled bounds balance 101 distinct keys over 5
            List<KV<Integer, Integer>> perPartition = sorted.mapPartitionsWithIndex(
                    (i, it) -> {
                        int n = 0;
                        for (; it.hasNext(); it.next()) {
                            n++;
                        }
                        return List.of(KV.of(i, n)).iterator();
                    }).collect();
            assertThat(perPartition).hasSize(5).allSatisfy(kv -> assertThat(kv.value()).isBetween(10, 90));
        }
    }
}
