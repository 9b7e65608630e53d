package io.quiver.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.Dataset;
import io.quiver.KV;
import io.quiver.PairDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Provide;

/**
 * Every operator of API.md section 8 against the same computation on java.util lists and streams,
 * over any {@link PipelineProperties.Host} (the in-process runner, a real cluster). Data has nulls,
 * duplicates and often empty partitions (more partitions than elements); pair keys are drawn from a
 * small range so that keys repeat, and the two sides of binary operators share only some keys.
 * Order is compared exactly where the API specifies it (narrow operators, sorts, take, cartesian),
 * as a multiset elsewhere, with grouped values normalised (their order is unspecified after a
 * shuffle). Subclasses declare the {@code @Property} and call {@link #checkOperators}.
 */
public abstract class OperatorProperties {

    /** Nulls first, then natural order: a Serializable comparator (it runs on executors). */
    static final Comparator<Integer> ORDER = Comparator.nullsFirst(Comparator.<Integer>naturalOrder());

    @Provide
    public Arbitrary<List<Integer>> elements() {
        return Arbitraries.integers().between(-9, 30).injectNull(0.1).list().ofMaxSize(24);
    }

    /**
     * Runs every operator over {@code data} (in {@code p} partitions) and {@code other} (in {@code
     * q}), checking each against its model.
     *
     * @param scratch a fresh directory for saveAsTextFile, readable by this JVM
     */
    protected static void checkOperators(PipelineProperties.Host host, List<Integer> data, int p,
            List<Integer> other, int q, Path scratch) {
        Dataset<Integer> d = host.parallelize(data, p);
        Dataset<Integer> o = host.parallelize(other, q);
        checkDatasetOperators(d, data, p, o, other, q, scratch);
        PairDataset<Integer, Integer> pairs = d.keyBy(x -> key(x, 5));
        PairDataset<Integer, Integer> otherPairs = o.keyBy(x -> key(x + "", 7)); // keys 0..6 vs 0..4 (+ -1)
        List<KV<Integer, Integer>> pd = new ArrayList<>();
        data.forEach(x -> pd.add(KV.of(key(x, 5), x)));
        List<KV<Integer, Integer>> po = new ArrayList<>();
        other.forEach(x -> po.add(KV.of(key(x + "", 7), x)));
        checkPairOperators(pairs, pd, p, otherPairs, po, q);
    }

    private static void checkDatasetOperators(Dataset<Integer> d, List<Integer> data, int p, Dataset<Integer> o,
            List<Integer> other, int q, Path scratch) {
        // distinct, subtract, intersection
        assertThat(d.distinct().collect()).containsExactlyInAnyOrderElementsOf(new LinkedHashSet<>(data));
        Set<Integer> otherSet = new HashSet<>(other);
        assertThat(d.subtract(o).collect()).containsExactlyInAnyOrderElementsOf(
                data.stream().filter(x -> !otherSet.contains(x)).toList());
        assertThat(d.intersection(o).collect()).containsExactlyInAnyOrderElementsOf(
                new LinkedHashSet<>(data).stream().filter(otherSet::contains).toList());

        // sortBy: global order, both directions (equal keys are equal elements here)
        List<Integer> ascending = data.stream().sorted(ORDER).toList();
        assertThat(d.sortBy(OperatorProperties::sortKey, true).collect()).isEqualTo(ascending);
        List<Integer> descending = new ArrayList<>(ascending);
        Collections.reverse(descending);
        assertThat(d.sortBy(OperatorProperties::sortKey, false).collect()).isEqualTo(descending);
        assertThat(d.sortBy(OperatorProperties::sortKey, true).partitions()).isEqualTo(p);

        // zipWithIndex, mapPartitionsWithIndex (exact order)
        assertThat(d.zipWithIndex().collect()).isEqualTo(IntStream.range(0, data.size())
                .mapToObj(i -> KV.of(data.get(i), (long) i)).toList());
        List<List<Integer>> parts = split(data, p);
        List<KV<Integer, Integer>> indexed = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            for (Integer x : parts.get(i)) {
                indexed.add(KV.of(i, x));
            }
        }
        assertThat(d.mapPartitionsWithIndex(OperatorProperties::tagWithIndex).collect()).isEqualTo(indexed);
        // below a union, each side's partitions count from 0 again; above it, the union's own
        assertThat(d.mapPartitionsWithIndex(OperatorProperties::tagWithIndex).union(
                o.mapPartitionsWithIndex(OperatorProperties::tagWithIndex)).map(KV::key).collect())
                .isEqualTo(concat(indexed.stream().map(KV::key).toList(), IntStream.range(0, q)
                        .boxed().flatMap(j -> split(other, q).get(j).stream().map(x -> j)).toList()));

        // sample: a subsequence without replacement, deterministic per seed, all or nothing at 1 and 0
        List<Integer> sampled = d.sample(false, 0.5, 42).collect();
        assertThat(isSubsequence(sampled, data)).as("sample %s of %s", sampled, data).isTrue();
        assertThat(d.sample(false, 0.5, 42).collect()).isEqualTo(sampled);
        assertThat(d.sample(false, 1.0, 7).collect()).isEqualTo(data);
        assertThat(d.sample(false, 0.0, 7).collect()).isEmpty();
        List<Integer> withReplacement = d.sample(true, 1.5, 3).collect();
        assertThat(data).containsAll(withReplacement);
        assertThat(d.sample(true, 1.5, 3).collect()).isEqualTo(withReplacement);

        // cartesian: partition i * q + j pairs partition i with partition j, in order
        List<KV<Integer, Integer>> product = new ArrayList<>();
        List<List<Integer>> otherParts = split(other, q);
        for (List<Integer> left : parts) {
            for (List<Integer> right : otherParts) {
                for (Integer x : left) {
                    for (Integer y : right) {
                        product.add(KV.of(x, y));
                    }
                }
            }
        }
        PairDataset<Integer, Integer> cartesian = d.cartesian(o);
        assertThat(cartesian.partitions()).isEqualTo(p * q);
        assertThat(cartesian.collect()).isEqualTo(product);

        // take, first, isEmpty
        for (int n : new int[] {0, 1, 3, data.size(), data.size() + 2}) {
            assertThat(d.take(n)).isEqualTo(data.subList(0, Math.min(n, data.size())));
        }
        assertThat(d.isEmpty()).isEqualTo(data.isEmpty());
        if (data.isEmpty()) {
            assertThatThrownBy(d::first).hasMessage("first of empty dataset");
        } else {
            assertThat(d.first()).isEqualTo(data.get(0));
        }

        // top, takeOrdered
        for (int n : new int[] {0, 2, data.size() + 1}) {
            assertThat(d.takeOrdered(n, ORDER)).isEqualTo(ascending.subList(0, Math.min(n, ascending.size())));
            assertThat(d.top(n, ORDER)).isEqualTo(descending.subList(0, Math.min(n, descending.size())));
        }

        // fold, aggregate (a mutable zero: each partition gets its own copy)
        assertThat(d.fold(0, OperatorProperties::plusNz)).isEqualTo(data.stream().mapToInt(OperatorProperties::nz)
                .sum());
        ArrayList<Integer> all = d.aggregate(new ArrayList<>(), OperatorProperties::addTo,
                OperatorProperties::addAll);
        assertThat(all).containsExactlyInAnyOrderElementsOf(data);

        // countByValue (null is an element)
        Map<Integer, Long> counts = new HashMap<>();
        data.forEach(x -> counts.merge(x, 1L, Long::sum));
        assertThat(d.countByValue()).isEqualTo(counts);

        // saveAsTextFile: one part-NNNNN per partition, String.valueOf per line
        Path dir = scratch.resolve("out");
        d.saveAsTextFile(dir.toString());
        for (int i = 0; i < p; i++) {
            List<String> lines = parts.get(i).stream().map(String::valueOf).toList();
            assertThat(readLines(dir.resolve(String.format("part-%05d", i)))).isEqualTo(lines);
        }
        assertThat(listNames(dir)).hasSize(p);
    }

    private static void checkPairOperators(PairDataset<Integer, Integer> pairs, List<KV<Integer, Integer>> pd, int p,
            PairDataset<Integer, Integer> others, List<KV<Integer, Integer>> po, int q) {
        Map<Integer, List<Integer>> left = groups(pd);
        Map<Integer, List<Integer>> right = groups(po);

        // aggregateByKey with a mutable zero, foldByKey, combineByKey
        assertThat(normalise(pairs.aggregateByKey(new ArrayList<Integer>(), OperatorProperties::addTo,
                OperatorProperties::addAll).collectAsMap())).isEqualTo(left);
        assertThat(pairs.aggregateByKey(new ArrayList<Integer>(), OperatorProperties::addTo,
                OperatorProperties::addAll).partitions()).isEqualTo(p);
        Map<Integer, Integer> sums = new HashMap<>();
        left.forEach((k, vs) -> sums.put(k, vs.stream().mapToInt(OperatorProperties::nz).sum()));
        assertThat(pairs.foldByKey(0, OperatorProperties::plusNz).collectAsMap()).isEqualTo(sums);
        Map<Integer, Integer> sizes = new HashMap<>();
        left.forEach((k, vs) -> sizes.put(k, vs.size()));
        assertThat(pairs.combineByKey(v -> 1, (c, v) -> c + 1, Integer::sum).collectAsMap()).isEqualTo(sizes);

        // groupByKey(n), join(other, n), the outer joins, cogroup, subtractByKey
        assertThat(normalise(pairs.groupByKey(q).collectAsMap())).isEqualTo(left);
        assertThat(pairs.groupByKey(q).partitions()).isEqualTo(q);
        List<KV<Integer, KV<Integer, Integer>>> inner = new ArrayList<>();
        List<KV<Integer, KV<Integer, Integer>>> leftOuter = new ArrayList<>();
        List<KV<Integer, KV<Integer, Integer>>> rightOuter = new ArrayList<>();
        List<KV<Integer, KV<Integer, Integer>>> fullOuter = new ArrayList<>();
        Set<Integer> keys = new HashSet<>(left.keySet());
        keys.addAll(right.keySet());
        Map<Integer, KV<List<Integer>, List<Integer>>> cogroup = new HashMap<>();
        List<KV<Integer, Integer>> subtracted = new ArrayList<>();
        for (Integer k : keys) {
            List<Integer> vs = left.getOrDefault(k, List.of());
            List<Integer> ws = right.getOrDefault(k, List.of());
            cogroup.put(k, KV.of(vs, ws));
            for (Integer v : vs) {
                for (Integer w : ws) {
                    inner.add(KV.of(k, KV.of(v, w)));
                }
                if (ws.isEmpty()) {
                    leftOuter.add(KV.of(k, KV.of(v, null)));
                    subtracted.add(KV.of(k, v));
                }
            }
            for (Integer w : ws) {
                if (vs.isEmpty()) {
                    rightOuter.add(KV.of(k, KV.of(null, w)));
                }
            }
        }
        leftOuter.addAll(inner);
        rightOuter.addAll(inner);
        fullOuter.addAll(leftOuter);
        fullOuter.removeAll(inner);
        fullOuter.addAll(rightOuter);
        assertThat(pairs.join(others, 3).collect()).containsExactlyInAnyOrderElementsOf(inner);
        assertThat(pairs.join(others, 3).partitions()).isEqualTo(3);
        assertThat(pairs.leftOuterJoin(others).collect()).containsExactlyInAnyOrderElementsOf(leftOuter);
        assertThat(pairs.rightOuterJoin(others).collect()).containsExactlyInAnyOrderElementsOf(rightOuter);
        assertThat(pairs.fullOuterJoin(others).collect()).containsExactlyInAnyOrderElementsOf(fullOuter);
        Map<Integer, KV<List<Integer>, List<Integer>>> cogrouped = new HashMap<>();
        pairs.cogroup(others).collect().forEach(kv -> cogrouped.put(kv.key(), KV.of(sorted(kv.value().key()),
                sorted(kv.value().value()))));
        assertThat(cogrouped).isEqualTo(cogroup);
        assertThat(pairs.subtractByKey(others).collect()).containsExactlyInAnyOrderElementsOf(subtracted);

        // sortByKey: keys in global order, both directions; the pairs as a multiset
        List<Integer> sortedKeys = pd.stream().map(KV::key).sorted().toList();
        for (boolean ascending : new boolean[] {true, false}) {
            List<KV<Integer, Integer>> s = pairs.sortByKey(ascending).collect();
            List<Integer> expectedKeys = new ArrayList<>(sortedKeys);
            if (!ascending) {
                Collections.reverse(expectedKeys);
            }
            assertThat(s.stream().map(KV::key).toList()).isEqualTo(expectedKeys);
            assertThat(s).containsExactlyInAnyOrderElementsOf(pd);
        }

        // keys, values (narrow: exact order), countByKey, lookup
        assertThat(pairs.keys().collect()).isEqualTo(pd.stream().map(KV::key).toList());
        assertThat(pairs.values().collect()).isEqualTo(pd.stream().map(KV::value).toList());
        Map<Integer, Long> countByKey = new HashMap<>();
        left.forEach((k, vs) -> countByKey.put(k, (long) vs.size()));
        assertThat(pairs.countByKey()).isEqualTo(countByKey);
        for (int k : new int[] {-1, 0, 3, 9}) {
            assertThat(pairs.lookup(k)).containsExactlyInAnyOrderElementsOf(left.getOrDefault(k, List.of()));
        }

        // partitionBy: every pair in the partition its key hashes to; later keyed operators agree
        PairDataset<Integer, Integer> partitioned = pairs.partitionBy(q);
        List<KV<Integer, Integer>> placed = partitioned.mapPartitionsWithIndex(OperatorProperties::tagWithIndex)
                .map(kv -> KV.of(kv.key(), kv.value().key())).collect();
        for (KV<Integer, Integer> kv : placed) {
            assertThat(kv.key()).isEqualTo(Math.floorMod(kv.value().hashCode(), q));
        }
        assertThat(partitioned.collect()).containsExactlyInAnyOrderElementsOf(pd);
        assertThat(partitioned.mapValues(OperatorProperties::nz).reduceByKey(OperatorProperties::plusNz, q)
                .collectAsMap()).isEqualTo(sums);
        assertThat(normalise(partitioned.groupByKey(q).collectAsMap())).isEqualTo(left);
        assertThat(partitioned.foldByKey(0, OperatorProperties::plusNz).collectAsMap()).isEqualTo(sums);
        assertThat(partitioned.join(others.partitionBy(q), q).collect()).containsExactlyInAnyOrderElementsOf(inner);
        assertThat(partitioned.join(others, q).collect()).containsExactlyInAnyOrderElementsOf(inner);
        for (int k : new int[] {-1, 2, 8}) {
            assertThat(partitioned.lookup(k)).containsExactlyInAnyOrderElementsOf(left.getOrDefault(k, List.of()));
        }
    }

    // ---- models and shared functions (static: lambdas must not capture the test instance)

    static int key(Object x, int mod) {
        return x == null || "null".equals(x) ? -1 : Math.floorMod(x.hashCode() * 31 + 7, mod);
    }

    static int nz(Integer x) {
        return x == null ? 0 : x;
    }

    static Integer plusNz(Integer a, Integer b) {
        return nz(a) + nz(b);
    }

    static Integer sortKey(Integer x) {
        return x == null ? Integer.MIN_VALUE : x;
    }

    static ArrayList<Integer> addTo(ArrayList<Integer> list, Integer x) {
        list.add(x);
        return list;
    }

    static ArrayList<Integer> addAll(ArrayList<Integer> a, ArrayList<Integer> b) {
        a.addAll(b);
        return a;
    }

    static <T> Iterator<KV<Integer, T>> tagWithIndex(Integer partition, Iterator<T> it) {
        List<KV<Integer, T>> out = new ArrayList<>();
        it.forEachRemaining(x -> out.add(KV.of(partition, x)));
        return out.iterator();
    }

    /** The partitions parallelize makes: contiguous runs. */
    static <T> List<List<T>> split(List<T> items, int partitions) {
        List<List<T>> out = new ArrayList<>();
        int n = items.size();
        for (int i = 0; i < partitions; i++) {
            out.add(items.subList((int) ((long) n * i / partitions), (int) ((long) n * (i + 1) / partitions)));
        }
        return out;
    }

    static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    static boolean isSubsequence(List<Integer> sub, List<Integer> of) {
        int at = 0;
        for (Integer x : sub) {
            while (at < of.size() && !Objects.equals(of.get(at), x)) {
                at++;
            }
            if (at == of.size()) {
                return false;
            }
            at++;
        }
        return true;
    }

    static Map<Integer, List<Integer>> groups(List<KV<Integer, Integer>> pairs) {
        Map<Integer, List<Integer>> out = new TreeMap<>();
        pairs.forEach(kv -> out.computeIfAbsent(kv.key(), k -> new ArrayList<>()).add(kv.value()));
        out.replaceAll((k, vs) -> sorted(vs));
        return out;
    }

    static List<Integer> sorted(List<Integer> values) {
        List<Integer> out = new ArrayList<>(values);
        out.sort(ORDER);
        return out;
    }

    static Map<Integer, List<Integer>> normalise(Map<Integer, ? extends List<Integer>> groups) {
        return groups.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> sorted(e.getValue()),
                (a, b) -> a, TreeMap::new));
    }

    private static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> listNames(Path dir) {
        try (var s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
