package io.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.Dataset;
import io.quiver.KV;
import io.quiver.NotSerializableException;
import io.quiver.PairDataset;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.TaskFailedException;
import io.quiver.executor.ExecutorStats;
import io.quiver.local.LocalCluster;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Shuffles that scale with the data, not with map x reduce partitions, balanced repartition,
 * coalesce, and the errors of issue 10, on a LocalCluster of two in-process executors. Cases
 * follow Spark's RDDSuite and PairRDDFunctionsSuite where named.
 */
class ShuffleScaleTest {
    static LocalCluster cluster;
    static Quiver q;

    @BeforeAll
    static void start() {
        cluster = LocalCluster.start(LocalCluster.options().executors(2).executorMemory(256L << 20));
        q = cluster.connect();
    }

    @AfterAll
    static void stop() {
        if (q != null) {
            q.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private static long sum(ToLongFunction<ExecutorStats> counter) {
        long total = 0;
        for (String id : cluster.executorIds()) {
            total += counter.applyAsLong(cluster.executor(id).stats());
        }
        return total;
    }

    private static List<Integer> range(int n) {
        return IntStream.range(0, n).boxed().toList();
    }

    /** The size of every partition, in partition order. */
    private static <T> List<Long> sizes(Dataset<T> d) {
        return d.mapPartitions(it -> {
            long n = 0;
            for (; it.hasNext(); it.next()) {
                n++;
            }
            return List.of(n).iterator();
        }).collect();
    }

    // ---- scale (the 1000 -> 2001 case itself is measured by ShuffleScaleBenchmark)

    @Test
    void spark4019RepartitionOfTenElementsTo201PartitionsKeepsEveryElement() {
        // RDDSuite "repartitioned RDDs" / SPARK-4019, scaled from 1000 -> 2001 to keep the suite lean
        Dataset<Integer> out = q.parallelize(range(10), 100).repartition(201);
        List<Integer> got = new ArrayList<>(out.collect());
        Collections.sort(got);
        assertThat(got).isEqualTo(range(10));
        assertThat(sizes(out)).hasSize(201);
        assertThat(out.count()).isEqualTo(10);
    }

    @Test
    void groupByKeyOfFourElementsInto500PartitionsGroupsThem() {
        // PairRDDFunctionsSuite "groupByKey with many output partitions", few keys, many empty buckets
        Map<Integer, List<Integer>> groups = q.parallelize(List.of(1, 1, 2, 3), 500)
                .mapToPair(x -> KV.of(x, x * 10)).groupByKey().collectAsMap();
        assertThat(groups).containsOnlyKeys(1, 2, 3);
        assertThat(groups.get(1)).containsExactlyInAnyOrder(10, 10);
        assertThat(groups.get(3)).containsExactly(30);
    }

    @Test
    void aReducePartitionWithNoRowsSendsNoFetch() {
        // Two rows over 200 reduce partitions: at most the two non-empty buckets are fetched
        // (their map outputs, once each); the 198 empty reduce partitions fetch nothing.
        long before = sum(ExecutorStats::fetchRequests);
        long n = q.parallelize(List.of("a", "b"), 2).repartition(200).count();
        long fetches = sum(ExecutorStats::fetchRequests) - before;
        assertThat(n).isEqualTo(2);
        assertThat(fetches).as("fetch requests for 2 rows in 200 reduce partitions").isLessThanOrEqualTo(2);

        before = sum(ExecutorStats::fetchRequests);
        Map<String, Integer> sums = q.parallelize(List.of("x", "y", "x"), 3).mapToPair(s -> KV.of(s, 1))
                .reduceByKey(Integer::sum, 300).collectAsMap();
        fetches = sum(ExecutorStats::fetchRequests) - before;
        assertThat(sums).isEqualTo(Map.of("x", 2, "y", 1));
        assertThat(fetches).as("fetch requests for 3 map outputs and 2 keys in 300 partitions")
                .isLessThanOrEqualTo(3);
    }

    @Test
    void largeMapOutputsAreReadAsSlicesOneRequestPerReduceTaskAndHolder() {
        // Map outputs of about 1.6 MB each, over the whole-fetch limit: every reduce task asks the
        // other executor once for its buckets of the map outputs there (Spark's batched fetch) and
        // cuts its buckets of the local ones in place.
        long before = sum(ExecutorStats::fetchRequests);
        Map<Long, List<Long>> groups = q.range(0, 400_000, 4).mapToPair(i -> KV.of(i % 50_000, i))
                .reduceByKey((a, b) -> a + b, 16).mapValues(v -> List.of(v)).collectAsMap();
        long fetches = sum(ExecutorStats::fetchRequests) - before;
        assertThat(groups).hasSize(50_000);
        // key k sums k, k + 50000, ..., k + 350000: 8k + 50000 * 28
        assertThat(groups.get(7L)).containsExactly(8 * 7L + 50_000L * 28);
        assertThat(fetches).as("slice requests of 16 reduce tasks from their one other holder").isLessThanOrEqualTo(16);

        List<Long> keys = q.range(0, 400_000, 4).keyBy(i -> Long.reverse(i * 0x9E3779B97F4A7C15L))
                .sortByKey(false).keys().collect();
        assertThat(keys).hasSize(400_000);
        int unsorted = -1;
        for (int i = 1; i < keys.size() && unsorted < 0; i++) {
            unsorted = keys.get(i - 1) < keys.get(i) ? i : -1;
        }
        assertThat(unsorted).as("first index out of descending order").isEqualTo(-1);
    }

    @Test
    void joinAcrossManyMostlyEmptyPartitionsFindsItsMatches() {
        PairDataset<Integer, String> left = q.parallelize(List.of(1, 2, 3), 400).mapToPair(x -> KV.of(x, "l" + x));
        PairDataset<Integer, String> right = q.parallelize(List.of(2, 3, 4), 400).mapToPair(x -> KV.of(x, "r" + x));
        Map<Integer, KV<String, String>> joined = left.join(right).collectAsMap();
        assertThat(joined).isEqualTo(Map.of(2, KV.of("l2", "r2"), 3, KV.of("l3", "r3")));
    }

    // ---- balance

    @Test
    void repartitionBalanceOf100ElementsIn10PartitionsInto20LeavesNoPartitionEmpty() {
        // RDDSuite "repartitioned RDDs perform load balancing": Spark starts each map task's round
        // robin at a random bucket seeded by its partition index
        List<Long> twenty = sizes(q.parallelize(range(100), 10).repartition(20));
        assertThat(twenty).hasSize(20).allMatch(n -> n > 0);
        assertThat(twenty.stream().mapToLong(Long::longValue).sum()).isEqualTo(100);

        List<Long> even = sizes(q.parallelize(range(1000), 10).repartition(20));
        assertThat(even).as("100 rows per map task dealt over 20 buckets").containsOnly(50L);
        List<Long> two = sizes(q.parallelize(range(1000), 10).repartition(2));
        assertThat(two).containsExactly(500L, 500L);
    }

    // ---- coalesce

    @Test
    void coalesceMergesContiguousPartitionsInOrderWithoutAShuffle() {
        // RDDSuite "coalesced RDDs": 1 to 10 in 10 partitions, coalesced to 3, keep order
        Dataset<Integer> data = q.parallelize(range(10), 10);
        Dataset<Integer> three = data.coalesce(3);
        assertThat(three.collect()).isEqualTo(range(10));
        assertThat(sizes(three)).containsExactly(4L, 3L, 3L);
        assertThat(sizes(data.coalesce(1))).containsExactly(10L);
        assertThat(data.coalesce(20)).as("coalesce never adds partitions").isSameAs(data);
        assertThat(data.coalesce(10)).isSameAs(data);
        assertThat(data.map(x -> x * 2).coalesce(4).filter(x -> x % 3 == 0).collect())
                .isEqualTo(List.of(0, 6, 12, 18));
        assertThat(q.range(0, 0, 5).coalesce(2).count()).isZero();
        assertThat(three.explain()).contains("coalesce");
        assertThatThrownBy(() -> data.coalesce(0)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("coalesce: partitions must be > 0, got 0");
    }

    @Test
    void coalesceOfPairsStaysAPairDataset() {
        PairDataset<Integer, Integer> pairs = q.parallelize(range(20), 8).mapToPair(x -> KV.of(x % 4, x));
        Map<Integer, Integer> sums = pairs.coalesce(3).reduceByKey(Integer::sum).collectAsMap();
        assertThat(sums).isEqualTo(range(20).stream().collect(Collectors.groupingBy(x -> x % 4,
                Collectors.summingInt(x -> x))));
    }

    // ---- errors

    @Test
    void arrayKeysAreRejectedByTheShuffleNamingTheOperator() {
        // PairRDDFunctionsSuite: "Default partitioner cannot partition array keys"
        PairDataset<int[], Integer> arrays = q.parallelize(List.of(1, 1, 2), 2).mapToPair(x -> KV.of(new int[] {x}, x));
        assertThatThrownBy(() -> arrays.reduceByKey(Integer::sum).collect())
                .isInstanceOfSatisfying(TaskFailedException.class, e -> assertThat(e.remoteMessage())
                        .contains("reduceByKey: cannot partition array keys").contains("use a List"));
        assertThatThrownBy(() -> arrays.groupByKey().collect())
                .isInstanceOfSatisfying(TaskFailedException.class, e -> assertThat(e.remoteMessage())
                        .contains("groupByKey: cannot partition array keys"));
        assertThatThrownBy(() -> arrays.join(arrays).collect())
                .isInstanceOfSatisfying(TaskFailedException.class, e -> assertThat(e.remoteMessage())
                        .contains("join: cannot partition array keys"));
    }

    /** A value whose writeObject throws an unchecked exception. */
    static final class BadWriter implements Serializable {
        private static final long serialVersionUID = 1L;
        final int x = 1;

        private void writeObject(ObjectOutputStream out) throws IOException {
            throw new IllegalStateException("cannot write me");
        }
    }

    @Test
    void aWriteObjectThatThrowsBecomesANotSerializableExceptionNamingTheClass() {
        BadWriter bad = new BadWriter();
        assertThatThrownBy(() -> q.scatter(bad)).isInstanceOfSatisfying(NotSerializableException.class, e -> {
            assertThat(e.getMessage()).contains(BadWriter.class.getName()).contains("cannot write me")
                    .contains("fix that method");
            assertThat(e.offendingClass()).isEqualTo(BadWriter.class.getName());
        });
        assertThatThrownBy(() -> q.submit(() -> bad.x)).isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("the function passed to submit").hasMessageContaining("cannot write me");
        assertThatThrownBy(() -> q.parallelize(List.of(bad), 1)).isInstanceOf(NotSerializableException.class)
                .hasMessageContaining(BadWriter.class.getName());
    }

    @Test
    void mapShipsAFunctionOverOneMebibyteAsSubmitDoes() throws Exception {
        byte[] big = new byte[(1 << 20) + 4096];
        big[big.length - 1] = 7;
        Ref<Integer> one = q.submit(() -> big.length + big[big.length - 1]);
        List<Ref<Integer>> many = q.map(x -> x + big[big.length - 1], List.of(1, 2, 3));
        assertThat(one.result(Duration.ofSeconds(60))).isEqualTo(big.length + 7);
        List<Integer> got = new ArrayList<>();
        for (Ref<Integer> r : many) {
            got.add(r.result(Duration.ofSeconds(60)));
        }
        assertThat(got).containsExactly(8, 9, 10);
    }
}
