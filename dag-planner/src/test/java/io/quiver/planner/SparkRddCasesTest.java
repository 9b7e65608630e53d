package io.quiver.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.Dataset;
import io.quiver.KV;
import io.quiver.PairDataset;
import io.quiver.QuiverException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cases ported in spirit from Spark's {@code RDDSuite}, {@code SortingSuite} and {@code
 * PairRDDFunctionsSuite} (each test names the case it follows), on the in-process runner, plus
 * the clear errors of the section-8 operators.
 */
class SparkRddCasesTest {
    private final TestingJobService q = new TestingJobService();

    @AfterEach
    void close() {
        q.close();
    }

    private static <T> List<KV<Integer, T>> sortedByKey(List<KV<Integer, T>> pairs) {
        List<KV<Integer, T>> out = new ArrayList<>(pairs);
        out.sort(Comparator.comparing(KV::key));
        return out;
    }

    // ---- RDDSuite

    @Test
    void rddSuiteBasicOperations() {
        Dataset<Integer> nums = q.parallelize(List.of(1, 2, 3, 4), 2);
        assertThat(nums.fold(0, Integer::sum)).isEqualTo(10);
        assertThat(nums.mapPartitionsWithIndex((i, it) -> List.of(i).iterator()).collect()).containsExactly(0, 1);
        assertThat(nums.take(2)).containsExactly(1, 2);
        assertThat(nums.first()).isEqualTo(1);
        assertThat(nums.distinct().collect()).containsExactlyInAnyOrder(1, 2, 3, 4);
    }

    @Test
    void rddSuiteFoldWithOpModifyingFirstArg() {
        // "fold with op modifying first arg": each partition folds into its own copy of the zero
        Dataset<int[]> rdd = q.parallelize(IntStream.range(1, 5).boxed().toList(), 2).map(x -> new int[] {x});
        int[] sum = rdd.fold(new int[] {0}, (a, b) -> {
            a[0] += b[0];
            return a;
        });
        assertThat(sum[0]).isEqualTo(10);
    }

    @Test
    void rddSuiteAggregate() {
        // "aggregate": word counts merged as maps
        Dataset<KV<String, Integer>> pairs = q.parallelize(List.of(KV.of("a", 1), KV.of("b", 2), KV.of("a", 2),
                KV.of("c", 5), KV.of("a", 3)), 2);
        java.util.HashMap<String, Integer> merged = pairs.aggregate(new java.util.HashMap<String, Integer>(),
                (m, kv) -> {
                    m.merge(kv.key(), kv.value(), Integer::sum);
                    return m;
                }, (m1, m2) -> {
                    m2.forEach((k, v) -> m1.merge(k, v, Integer::sum));
                    return m1;
                });
        assertThat(merged).isEqualTo(Map.of("a", 6, "b", 2, "c", 5));
    }

    @Test
    void rddSuiteTake() {
        // "take": every n from 0 to past the end, and partitions that are empty
        Dataset<Integer> nums = q.parallelize(List.of(1, 2, 3, 4, 5), 8);
        for (int n = 0; n <= 6; n++) {
            assertThat(nums.take(n)).isEqualTo(List.of(1, 2, 3, 4, 5).subList(0, Math.min(n, 5)));
        }
        assertThat(q.parallelize(List.<Integer>of(), 3).take(1)).isEmpty();
    }

    @Test
    void rddSuiteTopWithPredefinedAndCustomOrdering() {
        // "top with predefined ordering", "top with custom ordering"
        Dataset<Integer> nums = q.parallelize(List.of(5, 9, 1, 7, 3, 9), 3);
        assertThat(nums.top(3, Comparator.naturalOrder())).containsExactly(9, 9, 7);
        assertThat(nums.top(2, (Comparator<Integer> & Serializable) (a, b) -> Integer.compare(b, a)))
                .containsExactly(1, 3);
    }

    @Test
    void rddSuiteTakeOrderedWithPredefinedAndCustomOrdering() {
        // "takeOrdered with predefined ordering", "takeOrdered with limit 0", "takeOrdered with custom ordering"
        Dataset<Integer> nums = q.parallelize(List.of(10, 2, 8, 4, 6, 1), 3);
        assertThat(nums.takeOrdered(5, Comparator.naturalOrder())).containsExactly(1, 2, 4, 6, 8);
        assertThat(nums.takeOrdered(0, Comparator.naturalOrder())).isEmpty();
        assertThat(nums.takeOrdered(3, Comparator.reverseOrder())).containsExactly(10, 8, 6);
    }

    @Test
    void rddSuiteIsEmpty() {
        // "isEmpty": empty parallelize, a filter that removes all, and a non-empty one
        assertThat(q.parallelize(List.of(), 2).isEmpty()).isTrue();
        assertThat(q.parallelize(List.of(1, 2, 3), 2).filter(x -> x > 5).isEmpty()).isTrue();
        assertThat(q.parallelize(List.of(1, 2, 3), 2).isEmpty()).isFalse();
    }

    @Test
    void rddSuiteZippedRddsWithIndex() {
        // "zipWithIndex", "zipWithIndex with a single partition", "zipWithIndex chained with other RDDs"
        assertThat(q.parallelize(List.of("a", "b", "c", "d"), 3).zipWithIndex().collect()).containsExactly(
                KV.of("a", 0L), KV.of("b", 1L), KV.of("c", 2L), KV.of("d", 3L));
        assertThat(q.parallelize(List.of("a", "b"), 1).zipWithIndex().values().collect()).containsExactly(0L, 1L);
        assertThat(q.range(0, 10, 4).zipWithIndex().map(kv -> kv.key() - kv.value()).distinct().collect())
                .containsExactly(0L);
    }

    @Test
    void rddSuiteIntersectionStripsDuplicatesInAnInput() {
        // "intersection strips duplicates in an input"
        Dataset<Integer> a = q.parallelize(List.of(1, 2, 3, 3), 2);
        Dataset<Integer> b = q.parallelize(List.of(3, 3, 4, 5), 3);
        assertThat(a.intersection(b).collect()).containsExactly(3);
        assertThat(q.parallelize(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 3).intersection(
                q.parallelize(List.of(3, 4, 5, 6, 7, 8, 9, 10, 11, 12), 2)).collect())
                .containsExactlyInAnyOrder(3, 4, 5, 6, 7, 8, 9, 10);
    }

    @Test
    void rddSuiteCartesianOnEmptyRdd() {
        // "cartesian on empty RDD", and a small product
        Dataset<Integer> empty = q.parallelize(List.of(), 2);
        Dataset<Integer> some = q.parallelize(List.of(1, 2, 3), 2);
        assertThat(empty.cartesian(some).collect()).isEmpty();
        assertThat(some.cartesian(q.parallelize(List.of("x", "y"), 1)).collect()).containsExactly(KV.of(1, "x"),
                KV.of(1, "y"), KV.of(2, "x"), KV.of(2, "y"), KV.of(3, "x"), KV.of(3, "y"));
    }

    @Test
    void rddSuiteRandomSamplesHaveTheRightSizeAndAreReproducible() {
        // "takeSample"/"sample" in spirit: the expected size, same seed same sample, other seed another
        Dataset<Integer> data = q.parallelize(IntStream.range(0, 10_000).boxed().toList(), 4);
        List<Integer> s = data.sample(false, 0.1, 11).collect();
        assertThat(s.size()).isBetween(800, 1200);
        assertThat(new HashSet<>(s)).hasSize(s.size());
        assertThat(data.sample(false, 0.1, 11).collect()).isEqualTo(s);
        assertThat(data.sample(false, 0.1, 12).collect()).isNotEqualTo(s);
        assertThat(data.sample(true, 2.0, 5).count()).isBetween(18_000L, 22_000L);
    }

    @Test
    void rddSuiteSubtract() {
        // PairRDDFunctionsSuite "subtract": duplicates of the left side stay
        Dataset<Integer> a = q.parallelize(List.of(1, 2, 3, 3, 4), 2);
        Dataset<Integer> b = q.parallelize(List.of(2, 4, 5), 3);
        assertThat(a.subtract(b).collect()).containsExactlyInAnyOrder(1, 3, 3);
    }

    @Test
    void rddSuiteSaveAsTextFile() throws Exception {
        // FileSuite "text files": one part file per partition, String.valueOf per line
        Path dir = Files.createTempDirectory("quiver-text").resolve("out");
        q.parallelize(List.of(1, 2, 3, 4), 3).map(x -> x == 2 ? null : "n" + x).saveAsTextFile(dir.toString());
        assertThat(Files.readAllLines(dir.resolve("part-00000"))).containsExactly("n1");
        assertThat(Files.readAllLines(dir.resolve("part-00001"))).containsExactly("null");
        assertThat(Files.readAllLines(dir.resolve("part-00002"))).containsExactly("n3", "n4");
        assertThatThrownBy(() -> q.parallelize(List.of(1), 1).saveAsTextFile(dir.toString()))
                .isInstanceOf(QuiverException.class).hasMessageContaining("already exists and is not empty");
        OperatorPropertyTest.deleteTree(dir.getParent());
    }

    // ---- SortingSuite

    @Test
    void sortingSuiteSortByKeyAscendingAndDescendingWithManyPartitions() {
        // "sortByKey", "large array", "sort descending", "large array with many partitions"
        List<KV<Integer, Integer>> pairs = new ArrayList<>();
        java.util.Random rnd = new java.util.Random(1);
        for (int i = 0; i < 1000; i++) {
            pairs.add(KV.of(rnd.nextInt(), i));
        }
        PairDataset<Integer, Integer> d = q.parallelize(pairs, 2).mapToPair(kv -> kv);
        assertThat(d.sortByKey(true).collect()).isEqualTo(sortedByKey(pairs));
        List<KV<Integer, Integer>> desc = new ArrayList<>(sortedByKey(pairs));
        java.util.Collections.reverse(desc);
        assertThat(d.sortByKey(false).collect()).isEqualTo(desc);
        assertThat(d.repartition(20).sortByKey(true).collect()).isEqualTo(sortedByKey(pairs));
        assertThat(d.repartition(20).sortByKey(true).partitions()).isEqualTo(20);
    }

    @Test
    void sortingSuiteLongKeysBothDirections() {
        // "sortByKey" over Long keys (their fast comparison path), ascending and descending
        List<Long> keys = q.range(0, 5000, 7).map(x -> (x * 7919L) % 10007 - 5000).collect();
        List<Long> asc = new ArrayList<>(keys);
        asc.sort(null);
        List<Long> desc = new ArrayList<>(asc);
        java.util.Collections.reverse(desc);
        PairDataset<Long, Long> pairs = q.parallelize(keys, 7).keyBy(x -> x);
        assertThat(pairs.sortByKey(true).keys().collect()).isEqualTo(asc);
        assertThat(pairs.sortByKey(false).keys().collect()).isEqualTo(desc);
    }

    @Test
    void sortingSuiteMorePartitionsThanElementsAndEmptyRdd() {
        // "more partitions than elements", "empty RDD"
        PairDataset<Integer, String> few = q.parallelize(List.of(KV.of(3, "c"), KV.of(1, "a"), KV.of(2, "b")), 10)
                .mapToPair(kv -> kv);
        assertThat(few.sortByKey(true).collect()).containsExactly(KV.of(1, "a"), KV.of(2, "b"), KV.of(3, "c"));
        assertThat(q.parallelize(List.<KV<Integer, String>>of(), 4).mapToPair(kv -> kv).sortByKey(true).collect())
                .isEmpty();
    }

    @Test
    void sortingSuitePartitionBalanceAndSortBy() {
        // "partition balancing": each of 4 partitions of a sorted 0..999 holds a fair share
        Dataset<Integer> shuffled = q.parallelize(IntStream.range(0, 1000).map(i -> (i * 617) % 1000).boxed()
                .toList(), 4);
        Dataset<Integer> sorted = shuffled.sortBy(x -> x, true);
        assertThat(sorted.collect()).isEqualTo(IntStream.range(0, 1000).boxed().toList());
        List<Integer> sizes = sorted.mapPartitionsWithIndex((i, it) -> {
            int n = 0;
            for (; it.hasNext(); it.next()) {
                n++;
            }
            return List.of(n).iterator();
        }).collect();
        assertThat(sizes).hasSize(4).allSatisfy(n -> assertThat(n).isBetween(100, 400));
        assertThat(q.parallelize(List.of("bb", "a", "ccc"), 2).sortBy(String::length, false).collect())
                .containsExactly("ccc", "bb", "a");
    }

    // ---- PairRDDFunctionsSuite

    @Test
    void pairSuiteAggregateByKey() {
        // "aggregateByKey": distinct values per key, with a mutable set as the zero
        PairDataset<Integer, Integer> pairs = q.parallelize(List.of(KV.of(1, 1), KV.of(1, 1), KV.of(3, 2),
                KV.of(5, 1), KV.of(5, 3)), 2).mapToPair(kv -> kv);
        Map<Integer, Integer> sets = pairs.aggregateByKey(new HashSet<Integer>(), (s, v) -> {
            s.add(v);
            return s;
        }, (s1, s2) -> {
            s1.addAll(s2);
            return s1;
        }).mapValues(Set::size).collectAsMap();
        assertThat(sets).isEqualTo(Map.of(1, 1, 3, 1, 5, 2));
    }

    @Test
    void pairSuiteFoldByKeyWithMutableResultType() {
        // "foldByKey with mutable result type"
        PairDataset<Integer, ArrayList<Integer>> lists = q.parallelize(List.of(KV.of(1, 1), KV.of(1, 2), KV.of(2, 3),
                KV.of(1, 4)), 3).mapToPair(kv -> KV.of(kv.key(), new ArrayList<>(List.of(kv.value()))));
        Map<Integer, ArrayList<Integer>> folded = lists.foldByKey(new ArrayList<>(), (a, b) -> {
            a.addAll(b);
            return a;
        }).collectAsMap();
        assertThat(folded.get(1)).containsExactlyInAnyOrder(1, 2, 4);
        assertThat(folded.get(2)).containsExactly(3);
    }

    @Test
    void pairSuiteCombineByKeyAndCountByKey() {
        PairDataset<String, Integer> pairs = q.parallelize(List.of(KV.of("a", 1), KV.of("b", 5), KV.of("a", 3)), 2)
                .mapToPair(kv -> kv);
        assertThat(pairs.combineByKey(v -> List.of(v), (l, v) -> {
            List<Integer> out = new ArrayList<>(l);
            out.add(v);
            return out;
        }, (l1, l2) -> {
            List<Integer> out = new ArrayList<>(l1);
            out.addAll(l2);
            return out;
        }).mapValues(l -> l.stream().mapToInt(Integer::intValue).sum()).collectAsMap())
                .isEqualTo(Map.of("a", 4, "b", 5));
        assertThat(pairs.countByKey()).isEqualTo(Map.of("a", 2L, "b", 1L));
    }

    @Test
    void pairSuiteGroupByKeyWithDuplicatesAndManyPartitions() {
        // "groupByKey with duplicates", "groupByKey with many output partitions"
        PairDataset<Integer, Integer> pairs = q.parallelize(List.of(KV.of(1, 1), KV.of(1, 2), KV.of(1, 3),
                KV.of(1, 1), KV.of(2, 1)), 1).mapToPair(kv -> kv);
        Map<Integer, List<Integer>> groups = pairs.groupByKey(10).collectAsMap();
        assertThat(groups.get(1)).containsExactlyInAnyOrder(1, 1, 2, 3);
        assertThat(groups.get(2)).containsExactly(1);
        assertThat(pairs.groupByKey(10).partitions()).isEqualTo(10);
    }

    private PairDataset<Integer, Integer> rdd1() {
        return q.parallelize(List.of(KV.of(1, 1), KV.of(1, 2), KV.of(2, 1), KV.of(3, 1)), 2).mapToPair(kv -> kv);
    }

    private PairDataset<Integer, Character> rdd2() {
        return q.parallelize(List.of(KV.of(1, 'x'), KV.of(2, 'y'), KV.of(2, 'z'), KV.of(4, 'w')), 3)
                .mapToPair(kv -> kv);
    }

    @Test
    void pairSuiteJoinAndJoinAllToAllAndNoMatches() {
        // "join", "join all-to-all", "join with no matches"
        assertThat(rdd1().join(rdd2(), 4).collect()).containsExactlyInAnyOrder(KV.of(1, KV.of(1, 'x')),
                KV.of(1, KV.of(2, 'x')), KV.of(2, KV.of(1, 'y')), KV.of(2, KV.of(1, 'z')));
        PairDataset<Integer, Integer> a = q.parallelize(List.of(KV.of(1, 1), KV.of(1, 2), KV.of(1, 3)), 2)
                .mapToPair(kv -> kv);
        PairDataset<Integer, Character> b = q.parallelize(List.of(KV.of(1, 'x'), KV.of(1, 'y')), 2)
                .mapToPair(kv -> kv);
        assertThat(a.join(b, 2).count()).isEqualTo(6);
        PairDataset<Integer, Character> none = q.parallelize(List.of(KV.of(4, 'x'), KV.of(5, 'y')), 2)
                .mapToPair(kv -> kv);
        assertThat(rdd1().join(none, 3).collect()).isEmpty();
    }

    @Test
    void pairSuiteLeftRightAndFullOuterJoin() {
        // "leftOuterJoin", "rightOuterJoin", "fullOuterJoin": null stands for the missing side
        assertThat(rdd1().leftOuterJoin(rdd2()).collect()).containsExactlyInAnyOrder(KV.of(1, KV.of(1, 'x')),
                KV.of(1, KV.of(2, 'x')), KV.of(2, KV.of(1, 'y')), KV.of(2, KV.of(1, 'z')), KV.of(3, KV.of(1, null)));
        assertThat(rdd1().rightOuterJoin(rdd2()).collect()).containsExactlyInAnyOrder(KV.of(1, KV.of(1, 'x')),
                KV.of(1, KV.of(2, 'x')), KV.of(2, KV.of(1, 'y')), KV.of(2, KV.of(1, 'z')),
                KV.of(4, KV.of(null, 'w')));
        assertThat(rdd1().fullOuterJoin(rdd2()).collect()).containsExactlyInAnyOrder(KV.of(1, KV.of(1, 'x')),
                KV.of(1, KV.of(2, 'x')), KV.of(2, KV.of(1, 'y')), KV.of(2, KV.of(1, 'z')), KV.of(3, KV.of(1, null)),
                KV.of(4, KV.of(null, 'w')));
    }

    @Test
    void pairSuiteCogroupTellsANullValueFromAMissingOne() {
        // "cogroup with empty RDD" plus a null value, which cogroup keeps apart from a missing key
        PairDataset<Integer, Integer> withNull = q.parallelize(List.of(KV.of(1, (Integer) null)), 1)
                .mapToPair(kv -> kv);
        PairDataset<Integer, String> empty = q.parallelize(List.<KV<Integer, String>>of(), 2).mapToPair(kv -> kv);
        List<KV<Integer, KV<List<Integer>, List<String>>>> groups = withNull.cogroup(empty).collect();
        assertThat(groups).hasSize(1);
        assertThat(groups.get(0).value().key()).containsExactly((Integer) null);
        assertThat(groups.get(0).value().value()).isEmpty();
        assertThat(empty.cogroup(empty).collect()).isEmpty();
    }

    @Test
    void pairSuiteSubtractByKeyAndKeysAndValues() {
        // "subtractByKey", "keys and values"
        assertThat(rdd1().subtractByKey(rdd2()).collect()).containsExactly(KV.of(3, 1));
        assertThat(rdd1().keys().collect()).containsExactly(1, 1, 2, 3);
        assertThat(rdd1().values().collect()).containsExactly(1, 2, 1, 1);
    }

    @Test
    void pairSuiteLookupAndLookupWithPartitioner() {
        // "lookup", "lookup with partitioner": the partitioned lookup runs one partition
        assertThat(rdd1().lookup(1)).containsExactly(1, 2);
        assertThat(rdd1().lookup(9)).isEmpty();
        PairDataset<Integer, Integer> parted = rdd1().partitionBy(5);
        long before = q.runner().tasksRun();
        assertThat(parted.lookup(1)).containsExactlyInAnyOrder(1, 2);
        long tasks = q.runner().tasksRun() - before;
        assertThat(tasks).isEqualTo(2 + 1); // partitionBy's 2 map tasks, then the key's one partition
    }

    @Test
    void pairSuiteCountByValueWithNulls() {
        Map<String, Long> counts = q.parallelize(java.util.Arrays.asList("a", null, "b", "a", null, null), 3)
                .countByValue();
        Map<String, Long> expected = new java.util.HashMap<>();
        expected.put("a", 2L);
        expected.put("b", 1L);
        expected.put(null, 3L);
        assertThat(counts).isEqualTo(expected);
        assertThat(q.parallelize(java.util.Arrays.asList(null, "x", null), 2).distinct().collect())
                .containsExactlyInAnyOrder(null, "x");
    }

    // ---- clear errors

    @Test
    void aComparatorThatIsNotSerializableIsRefusedOnTheClient() {
        Comparator<Integer> plain = new Comparator<>() {
            @Override
            public int compare(Integer a, Integer b) {
                return Integer.compare(a, b);
            }
        };
        Dataset<Integer> d = q.parallelize(List.of(1, 2), 1);
        assertThatThrownBy(() -> d.top(1, plain)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("top: the comparator").hasMessageContaining("is not Serializable");
        assertThatThrownBy(() -> d.takeOrdered(1, plain)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("takeOrdered: the comparator");
    }

    @Test
    void badArgumentsNameTheOperator() {
        Dataset<Integer> d = q.parallelize(List.of(1, 2), 1);
        assertThatThrownBy(() -> d.sample(false, 1.5, 1)).hasMessageContaining("sample: fraction must be in [0, 1]");
        assertThatThrownBy(() -> d.sample(true, -1, 1)).hasMessageContaining("sample: fraction must be >= 0");
        assertThatThrownBy(() -> d.take(-1)).hasMessageContaining("take: n must be >= 0");
        assertThatThrownBy(() -> q.parallelize(List.of(), 1).first()).hasMessage("first of empty dataset");
        assertThatThrownBy(() -> d.keyBy(x -> x).partitionBy(0)).hasMessageContaining("partitionBy: partitions");
    }

    @Test
    void sortingByANullOrIncomparableKeyFailsNamingTheOperator() {
        Dataset<String> words = q.parallelize(java.util.Arrays.asList("a", null, "b"), 2);
        assertThatThrownBy(() -> words.keyBy(w -> w).sortByKey(true)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("sortByKey: null key");
        Dataset<Object> mixed = q.parallelize(List.<Object>of(1, "x", 2, "y"), 2);
        assertThatThrownBy(() -> mixed.keyBy(x -> x).sortByKey(true).collect()).isInstanceOf(QuiverException.class)
                .hasMessageContaining("cannot be compared");
    }
}
