package io.quiver.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.Dataset;
import io.quiver.KV;
import io.quiver.NotSerializableException;
import io.quiver.PairDataset;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.core.client.dataset.DatasetImpl;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode;
import io.quiver.core.plan.LogicalPlan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every operator and action through DatasetImpl, the planner and StageFunction, on TestingJobService. */
class DatasetSemanticsTest {
    private final TestingJobService q = new TestingJobService();

    @AfterEach
    void close() {
        q.close();
    }

    private static List<Integer> ints(int n) {
        return IntStream.range(0, n).boxed().collect(Collectors.toList());
    }

    @Test
    void narrowOperatorsKeepOrder() {
        Dataset<Integer> d = q.parallelize(ints(20), 3);
        assertThat(d.partitions()).isEqualTo(3);
        assertThat(d.map(x -> x * 2).collect()).isEqualTo(ints(20).stream().map(x -> x * 2).toList());
        assertThat(d.filter(x -> x % 3 == 0).collect()).containsExactly(0, 3, 6, 9, 12, 15, 18);
        assertThat(d.flatMap(x -> x < 3 ? List.of(x, x) : List.<Integer>of()).collect())
                .containsExactly(0, 0, 1, 1, 2, 2);
        assertThat(d.mapPartitions(DatasetSemanticsTest::sumPartition).collect()).containsExactly(
                ints(20).subList(0, 6).stream().mapToInt(i -> i).sum(),
                ints(20).subList(6, 13).stream().mapToInt(i -> i).sum(),
                ints(20).subList(13, 20).stream().mapToInt(i -> i).sum());
        assertThat(d.keyBy(x -> "k" + x).collect().get(4)).isEqualTo(KV.of("k4", 4));
        assertThat(d.mapToPair(x -> KV.of(x % 2, x)).mapValues(v -> v * 10).collect().get(3))
                .isEqualTo(KV.of(1, 30));
        assertThat(q.jobs()).isEqualTo(6);
    }

    private static Iterator<Integer> sumPartition(Iterator<Integer> it) {
        int sum = 0;
        while (it.hasNext()) {
            sum += it.next();
        }
        return List.of(sum).iterator();
    }

    @Test
    void rangeAndCountAndEmptyPartitions() {
        assertThat(q.range(0, 10, 4).collect()).isEqualTo(LongStream.range(0, 10).boxed().toList());
        assertThat(q.range(5, 5, 3).count()).isZero();
        assertThat(q.range(0, 3, 8).collect()).containsExactly(0L, 1L, 2L);
        assertThat(q.range(-1_000_000, 1_000_000, 7).count()).isEqualTo(2_000_000);
        assertThat(q.parallelize(List.of(), 4).count()).isZero();
    }

    @Test
    void unionConcatenatesPartitionsInOrder() {
        Dataset<Integer> a = q.parallelize(List.of(1, 2, 3), 2);
        Dataset<Integer> b = q.parallelize(List.of(4, 5), 3);
        Dataset<Integer> u = a.union(b.map(x -> x * 10));
        assertThat(u.partitions()).isEqualTo(5);
        assertThat(u.collect()).containsExactly(1, 2, 3, 40, 50);
        assertThat(a.union(a).collect()).containsExactly(1, 2, 3, 1, 2, 3);
    }

    @Test
    void reduceFoldsPartialsInPartitionOrder() {
        Dataset<String> d = q.parallelize(List.of("a", "b", "c", "d", "e"), 3);
        assertThat(d.reduce((x, y) -> x + y)).isEqualTo("abcde");
        assertThat(q.range(1, 101, 5).reduce(Long::sum)).isEqualTo(5050L);
        assertThat(q.parallelize(List.of(7), 4).reduce(Integer::sum)).isEqualTo(7);
    }

    @Test
    void reduceOfEmptyDatasetFails() {
        assertThatThrownBy(() -> q.range(0, 0, 3).reduce(Long::sum))
                .isInstanceOf(QuiverException.class).hasMessage("reduce of empty dataset");
        assertThatThrownBy(() -> q.range(0, 10, 3).filter(x -> false).reduce(Long::sum))
                .hasMessage("reduce of empty dataset");
    }

    @Test
    void reduceByKeyCombinesAndKeepsPartitionCount() {
        PairDataset<Integer, Long> sums = q.range(0, 1000, 4).mapToPair(i -> KV.of((int) (i % 7), i))
                .reduceByKey(Long::sum);
        assertThat(sums.partitions()).isEqualTo(4);
        Map<Integer, Long> expected = LongStream.range(0, 1000).boxed()
                .collect(Collectors.groupingBy(i -> (int) (i % 7), Collectors.summingLong(i -> i)));
        assertThat(sums.collectAsMap()).isEqualTo(expected);
        PairDataset<Integer, Long> three = q.range(0, 1000, 4).mapToPair(i -> KV.of((int) (i % 7), i))
                .reduceByKey(Long::sum, 3);
        assertThat(three.partitions()).isEqualTo(3);
        assertThat(three.collectAsMap()).isEqualTo(expected);
        assertThat(three.count()).isEqualTo(7);
    }

    @Test
    void reduceByKeyOverARangeTakesEachRowThroughItsOperatorsIntoTheTable() {
        // one operator, a JDK sum: primitive keys and values
        Map<Integer, Double> one = q.range(0, 10_000, 4).mapToPair(i -> KV.of((int) (i % 100), (double) (i % 7)))
                .reduceByKey(Double::sum).collectAsMap();
        assertThat(one).isEqualTo(LongStream.range(0, 10_000).boxed().collect(Collectors.groupingBy(
                i -> (int) (i % 100), Collectors.summingDouble(i -> (double) (i % 7)))));
        // a filter first, Long keys, negative numbers
        Map<Long, Long> two = q.range(-500, 5_000, 3).filter(i -> i % 3 != 0).mapToPair(i -> KV.of(i % 11, i))
                .reduceByKey(Long::max).collectAsMap();
        assertThat(two).isEqualTo(LongStream.range(-500, 5_000).filter(i -> i % 3 != 0).boxed()
                .collect(Collectors.toMap(i -> i % 11, i -> i, Long::max)));
        // four operators (a loop over them), a pinned one among them, a user's own function
        Ref<Long> offset = q.scatter(7L, true);
        Map<Integer, Integer> four = q.range(0, 3_000, 5).map(offset, (i, o) -> i * 3 + o)
                .keyBy(i -> (int) (i % 13)).mapValues(i -> (int) (i % 1_000)).filter(kv -> kv.value() > 10)
                .reduceByKey((a, b) -> Math.min(a, b)).collectAsMap();
        assertThat(four).isEqualTo(LongStream.range(0, 3_000).map(i -> i * 3 + 7).boxed()
                .filter(i -> i % 1_000 > 10)
                .collect(Collectors.toMap(i -> (int) (i % 13), i -> (int) (i % 1_000), Math::min)));
        // a flatMap runs in batches, the operators after it row by row
        Map<Long, Integer> counts = q.range(0, 100, 3).flatMap(i -> List.of(i, -i)).mapToPair(i -> KV.of(i % 5, 1))
                .reduceByKey(Integer::sum).collectAsMap();
        assertThat(counts).isEqualTo(LongStream.range(0, 100).flatMap(i -> LongStream.of(i, -i)).boxed()
                .collect(Collectors.toMap(i -> i % 5, i -> 1, Integer::sum)));
        // the checks of the batch path hold on the row path
        assertThatThrownBy(() -> q.range(0, 10, 2).<Long, Long>mapToPair(i -> i == 5 ? KV.of(null, i) : KV.of(i, i))
                .reduceByKey(Long::sum).collect()).isInstanceOf(QuiverException.class)
                .hasMessageStartingWith("reduceByKey: null key");
        assertThatThrownBy(() -> q.range(0, 10, 2).<Long, Long>mapToPair(i -> null).reduceByKey(Long::sum).count())
                .hasMessageStartingWith("reduceByKey: null element is not a KV pair");
        assertThatThrownBy(() -> q.range(0, 10, 2).mapToPair(i -> KV.of(new long[] {i}, i)).reduceByKey(Long::sum)
                .count()).hasMessageStartingWith("reduceByKey: cannot partition array keys");
    }

    @Test
    void shufflesHashKeysWithFloorMod() {
        List<Integer> keys = List.of(Integer.MIN_VALUE, -1, -7, 0, 5, Integer.MAX_VALUE);
        Map<Integer, Integer> counts = q.parallelize(keys, 2).mapToPair(k -> KV.of(k, 1))
                .reduceByKey(Integer::sum, 5).collectAsMap();
        assertThat(counts).containsOnlyKeys(keys).allSatisfy((k, v) -> assertThat(v).isEqualTo(1));
    }

    @Test
    void groupByKeyGathersAllValues() {
        PairDataset<String, List<Integer>> groups = q.parallelize(ints(30), 4).keyBy(x -> x % 3 == 0 ? "three" : "other")
                .groupByKey();
        assertThat(groups.partitions()).isEqualTo(4);
        Map<String, List<Integer>> m = groups.collectAsMap();
        assertThat(m.get("three")).containsExactlyInAnyOrder(0, 3, 6, 9, 12, 15, 18, 21, 24, 27);
        assertThat(m.get("other")).hasSize(20);
    }

    @Test
    void joinPairsEveryMatchingValue() {
        PairDataset<Integer, String> left = q.parallelize(List.of(KV.of(1, "a"), KV.of(2, "b"), KV.of(1, "c"),
                KV.of(3, "d")), 2).mapToPair(kv -> kv);
        PairDataset<Integer, Integer> right = q.parallelize(List.of(KV.of(1, 10), KV.of(1, 11), KV.of(2, 20),
                KV.of(4, 40)), 3).mapToPair(kv -> kv);
        PairDataset<Integer, KV<String, Integer>> joined = left.join(right);
        assertThat(joined.partitions()).isEqualTo(3);
        assertThat(joined.collect()).containsExactlyInAnyOrder(
                KV.of(1, KV.of("a", 10)), KV.of(1, KV.of("a", 11)), KV.of(1, KV.of("c", 10)),
                KV.of(1, KV.of("c", 11)), KV.of(2, KV.of("b", 20)));
        assertThat(q.lastPlan().stages()).hasSize(3);
    }

    @Test
    void repartitionKeepsEveryElement() {
        Dataset<Integer> d = q.parallelize(ints(100), 3).repartition(7);
        assertThat(d.partitions()).isEqualTo(7);
        assertThat(d.collect()).containsExactlyInAnyOrderElementsOf(ints(100));
        assertThat(q.parallelize(ints(10), 5).repartition(1).count()).isEqualTo(10);
    }

    @Test
    void coalesceKeepsOrderAndMergesContiguousPartitions() {
        Dataset<Integer> d = q.parallelize(ints(100), 10).coalesce(3);
        assertThat(d.partitions()).isEqualTo(3);
        assertThat(d.collect()).isEqualTo(ints(100));
        assertThat(q.lastPlan().stage(1).tasks().get(1).inputs()).hasSize(1 + 3);
        assertThat(q.parallelize(ints(0), 4).coalesce(2).collect()).isEmpty();
        assertThat(q.parallelize(ints(7), 3).union(q.parallelize(ints(5), 2)).coalesce(2).count()).isEqualTo(12);
    }

    @Test
    void repartitionSpreadsSmallPartitionsOverEveryOutputPartition() {
        // Spark's RDDSuite "repartitioned RDDs perform load balancing"
        List<Long> sizes = q.parallelize(ints(100), 10).repartition(20).mapPartitions(it -> {
            long n = 0;
            for (; it.hasNext(); it.next()) {
                n++;
            }
            return List.of(n).iterator();
        }).collect();
        assertThat(sizes).hasSize(20).allMatch(n -> n > 0);
    }

    @Test
    void collectAsMapKeepsTheLastValueForADuplicateKey() {
        Map<String, Integer> m = q.parallelize(List.of(KV.of("a", 1), KV.of("b", 2), KV.of("a", 3)), 2)
                .mapToPair(kv -> kv).collectAsMap();
        assertThat(m).isEqualTo(Map.of("a", 3, "b", 2));
    }

    @Test
    void collectAsyncReturnsARefToTheList() {
        Ref<List<Long>> ref = q.range(0, 5, 2).collectAsync();
        assertThat(ref.result()).containsExactly(0L, 1L, 2L, 3L, 4L);
    }

    @Test
    void pairDatasetOverridesKeepThePairType() {
        PairDataset<Integer, Integer> p = q.parallelize(ints(10), 2).keyBy(x -> x % 2);
        PairDataset<Integer, Integer> filtered = p.filter(kv -> kv.value() > 3);
        PairDataset<Integer, Integer> unioned = filtered.union(p);
        PairDataset<Integer, Integer> repartitioned = unioned.repartition(3);
        PairDataset<Integer, Integer> persisted = repartitioned.persist();
        assertThat(persisted.reduceByKey(Integer::sum).collectAsMap())
                .isEqualTo(Map.of(0, 2 * (0 + 2 + 4 + 6 + 8) - 0 - 2, 1, 2 * (1 + 3 + 5 + 7 + 9) - 1 - 3));
    }

    @Test
    void nullElementsFlowThroughNarrowOperators() {
        Dataset<String> d = q.parallelize(Arrays.asList("a", null, "b", null), 3);
        assertThat(d.collect()).containsExactly("a", null, "b", null);
        assertThat(d.count()).isEqualTo(4);
        assertThat(d.filter(s -> s != null).collect()).containsExactly("a", "b");
        assertThat(d.map(s -> s == null ? 0 : 1).collect()).containsExactly(1, 0, 1, 0);
        assertThat(d.repartition(2).collect()).containsExactlyInAnyOrder("a", null, "b", null);
        assertThat(d.keyBy(s -> s == null ? "none" : s).groupByKey().collectAsMap().get("none"))
                .containsExactly(null, null);
        assertThat(d.reduce((x, y) -> x + y)).isEqualTo("anullbnull");
        Map<String, Integer> withNullValues = d.mapToPair(s -> KV.of("k", (Integer) null))
                .reduceByKey((x, y) -> x == null ? y : x).collectAsMap();
        assertThat(withNullValues).containsEntry("k", null);
    }

    @Test
    void aNullKeyFailsTheShuffleNamingTheOperator() {
        Dataset<String> d = q.parallelize(Arrays.asList("a", null), 2);
        assertThatThrownBy(() -> d.keyBy(s -> s).reduceByKey((x, y) -> x).collect())
                .isInstanceOf(QuiverException.class).hasMessageStartingWith("reduceByKey: null key");
        assertThatThrownBy(() -> d.keyBy(s -> s).groupByKey().collect())
                .hasMessageStartingWith("groupByKey: null key");
        PairDataset<String, String> ok = d.filter(s -> s != null).keyBy(s -> s);
        assertThatThrownBy(() -> d.keyBy(s -> s).join(ok).collect()).hasMessageStartingWith("join: null key");
        assertThatThrownBy(() -> d.<String, String>mapToPair(s -> null).reduceByKey((x, y) -> x).count())
                .hasMessageStartingWith("reduceByKey: null element is not a KV pair");
    }

    @Test
    void userExceptionsPropagateWithTheirType() {
        Dataset<Integer> d = q.parallelize(ints(5), 2).map(x -> {
            if (x == 3) {
                throw new IllegalStateException("three is bad");
            }
            return x;
        });
        assertThatThrownBy(d::collect).isInstanceOf(IllegalStateException.class).hasMessage("three is bad");
    }

    @Test
    void pinnedInputsReachTheFunctions() {
        Ref<Set<String>> stop = q.scatter(Set.of("the", "a"), true);
        Ref<Map<String, Integer>> lengths = q.scatter(new HashMap<>(Map.of("cat", 3, "sat", 33)), false, "exec-1");
        List<Integer> out = q.parallelize(List.of("the", "cat", "a", "sat"), 2)
                .filter(stop, (w, s) -> !s.contains(w))
                .map(lengths, (w, m) -> m.get(w))
                .collect();
        assertThat(out).containsExactly(3, 33);
        assertThat(q.lastPlan().finalStage().tasks())
                .allSatisfy(t -> assertThat(t.preferredExecutors()).containsExactly("exec-1"));
        assertThat(q.runner().pinnedBytesFetched()).isZero();
    }

    @Test
    void persistKeepsPartitionsAndLaterJobsPinThem() {
        Dataset<Long> base = q.range(0, 100, 4).map(x -> x * 2);
        Dataset<Long> p = base.persist();
        assertThat(base.persist()).extracting(Dataset::partitions).isEqualTo(4);
        assertThat(p.count()).isEqualTo(100);
        assertThat(q.lastPlan().stages()).extracting(Stage::kind)
                .containsExactly(Stage.Kind.PERSIST, Stage.Kind.RESULT);
        assertThat(q.liveRefs()).isEqualTo(4);

        LogicalPlan second = ((DatasetImpl<Long>) p.filter(x -> x % 4 == 0)).logicalPlan(Action.collect());
        assertThat(second.node(0).kind()).isEqualTo(LogicalNode.Kind.PERSISTED);
        assertThat(second.size()).isEqualTo(2);

        long fetchedBefore = q.runner().pinnedBytesFetched();
        assertThat(p.filter(x -> x % 4 == 0).count()).isEqualTo(50);
        Stage only = q.lastPlan().finalStage();
        assertThat(q.lastPlan().stages()).hasSize(1);
        assertThat(only.pinnedInputs()).hasSize(4).allSatisfy(pi -> assertThat(pi.broadcast()).isFalse());
        assertThat(only.tasks()).allSatisfy(t -> assertThat(t.preferredExecutors()).hasSize(1));
        assertThat(q.runner().pinnedBytesFetched()).isEqualTo(fetchedBefore); // zero bytes moved
        assertThat(base.persist().collect()).isEqualTo(LongStream.range(0, 100).map(x -> x * 2).boxed().toList());

        p.unpersist();
        assertThat(q.liveRefs()).isZero();
        assertThat(p.count()).isEqualTo(100); // recomputed from lineage
        assertThat(q.lastPlan().stages()).hasSize(1);
        assertThat(q.liveRefs()).isZero();
    }

    @Test
    void aPersistedDatasetUsedTwiceInOneJobIsComputedOnce() {
        Dataset<Integer> p = q.parallelize(ints(10), 2).map(x -> x + 1).persist();
        assertThat(p.union(p.map(x -> -x)).collect()).hasSize(20);
        assertThat(q.lastPlan().stages()).hasSize(2);
        long tasks = q.runner().tasksRun();
        assertThat(p.union(p).count()).isEqualTo(20);
        assertThat(q.runner().tasksRun() - tasks).isEqualTo(4); // only the result stage ran
    }

    @Test
    void persistedShuffleOutputIsReused() {
        PairDataset<Integer, Integer> sums = q.parallelize(ints(100), 4).keyBy(x -> x % 5)
                .reduceByKey(Integer::sum).persist();
        Map<Integer, Integer> first = sums.collectAsMap();
        long tasks = q.runner().tasksRun();
        assertThat(sums.collectAsMap()).isEqualTo(first);
        assertThat(q.runner().tasksRun() - tasks).isEqualTo(4);
        assertThat(sums.join(sums).count()).isEqualTo(5);
    }

    @Test
    void explainShowsThePhysicalPlan() {
        Ref<Set<String>> stop = q.scatter(Set.of("x"), true);
        String text = q.parallelize(List.of("a", "b"), 2).filter(stop, (w, s) -> !s.contains(w))
                .mapToPair(w -> KV.of(w, 1)).reduceByKey(Integer::sum).explain();
        assertThat(text).contains("stage 0 (shuffle map for reduceByKey with map-side combine, 2 buckets)")
                .contains("pinned broadcast " + stop.id())
                .contains("parents: stage 0 (shuffle: reduceByKey)");
        assertThat(q.jobs()).isZero();
    }

    // ---- validation on the client

    @Test
    void nonPositivePartitionCountsAreRejected() {
        assertThatThrownBy(() -> q.parallelize(List.of(1), 0)).isInstanceOf(QuiverException.class)
                .hasMessage("parallelize: partitions must be > 0, got 0; pass a positive partition count");
        assertThatThrownBy(() -> q.range(0, 1, -2)).hasMessageStartingWith("range: partitions must be > 0, got -2");
        Dataset<Long> d = q.range(0, 10, 2);
        assertThatThrownBy(() -> d.repartition(0)).hasMessageStartingWith("repartition: partitions must be > 0");
        assertThatThrownBy(() -> d.keyBy(x -> x).reduceByKey(Long::sum, 0))
                .hasMessageStartingWith("reduceByKey: partitions must be > 0");
    }

    @Test
    void aReleasedRefIsRejectedWhenPinnedAndWhenRun() {
        Ref<Integer> ref = q.scatter(3, false, "exec-0");
        Dataset<Long> d = q.range(0, 10, 2).map(ref, (x, r) -> x + r);
        ref.close();
        assertThatThrownBy(d::collect).isInstanceOf(QuiverException.class)
                .hasMessage("map(pinned): pinned ref " + ref.id() + " was released (closed); pin a live ref,"
                        + " e.g. scatter the value again");
        assertThatThrownBy(() -> q.range(0, 10, 2).filter(ref, (x, r) -> true))
                .hasMessageStartingWith("filter(pinned): pinned ref " + ref.id() + " was released");
    }

    @Test
    void refsAndDatasetsOfAnotherQuiverAreRejected() {
        try (TestingJobService other = new TestingJobService()) {
            Ref<Integer> foreign = other.scatter(1, true);
            assertThatThrownBy(() -> q.range(0, 10, 2).map(foreign, (x, r) -> x))
                    .hasMessage("map(pinned): pinned ref " + foreign.id() + " was created by a different Quiver;"
                            + " scatter the value with this one");
            Dataset<Long> theirs = other.range(0, 10, 2);
            assertThatThrownBy(() -> q.range(0, 10, 2).union(theirs))
                    .hasMessage("union: dataset was created by a different Quiver; build it from this one");
            PairDataset<Long, Long> theirPairs = theirs.keyBy(x -> x);
            assertThatThrownBy(() -> q.range(0, 10, 2).keyBy(x -> x).join(theirPairs))
                    .hasMessage("join: dataset was created by a different Quiver; build it from this one");
        }
    }

    @Test
    void aNonSerializableCaptureFailsTheActionNamingTheClass() {
        Object notSerializable = new Object();
        Dataset<String> d = q.range(0, 3, 1).map(x -> x + notSerializable.toString());
        assertThatThrownBy(d::collect).isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("the function of map").hasMessageContaining("java.lang.Object");
    }

    // ---- depth

    @Test
    void aThousandOperatorPipelineRuns() {
        Dataset<Long> d = q.range(0, 1000, 4);
        for (int i = 0; i < 1000; i++) {
            d = i % 100 == 50 ? d.mapPartitions(it -> it) : d.map(x -> x + 1);
        }
        assertThat(d.collect()).isEqualTo(LongStream.range(990, 1990).boxed().toList());
        assertThat(q.lastPlan().stages()).hasSize(1);
    }

    @Test
    void aThousandNestedMapPartitionsRun() {
        Dataset<Integer> d = q.parallelize(ints(3000), 2);
        for (int i = 0; i < 1000; i++) {
            d = d.mapPartitions(PipelineProperties::incrementAll);
        }
        assertThat(d.collect()).isEqualTo(IntStream.range(1000, 4000).boxed().toList());
    }

    @Test
    void aThousandOperatorDagWithShufflesRuns() {
        Dataset<Integer> d = q.parallelize(ints(200), 4);
        List<Integer> model = ints(200);
        for (int i = 0; i < 1000; i++) {
            if (i % 100 == 99) {
                d = d.repartition(3);
            } else if (i % 100 == 49) {
                d = d.union(q.parallelize(List.of(-1), 1)).filter(x -> x >= 0);
            } else {
                d = d.map(x -> x + 1);
                model = model.stream().map(x -> x + 1).toList();
            }
        }
        List<Integer> expected = new ArrayList<>(model);
        assertThat(d.collect()).containsExactlyInAnyOrderElementsOf(expected);
    }
}
