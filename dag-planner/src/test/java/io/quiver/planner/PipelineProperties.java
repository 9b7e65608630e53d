package io.quiver.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.Dataset;
import io.quiver.KV;
import io.quiver.Ref;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Provide;

/**
 * The random-pipeline property, over any {@link Host} (a pretend Quiver, a real cluster): random
 * pipelines of every dataset operator over random data (with nulls), against the same pipeline on
 * java.util lists and streams. Order is compared exactly until the first shuffle, as a multiset
 * after it. Subclasses declare the {@code @Property} (and so the number of tries) and call {@link
 * #checkPipeline}; the generators {@code "data"} and {@code "steps"} are inherited.
 *
 * <p>Element functions are static, so the lambdas capture only ints and never the test instance;
 * they must be loadable wherever the host runs them (the test class path of in-process executors).
 */
public abstract class PipelineProperties {

    /** What the property needs of a Quiver. */
    public interface Host {
        <T> Dataset<T> parallelize(List<T> items, int partitions);

        /** {@code value} on every executor. */
        <T> Ref<T> broadcast(T value);

        /** {@code value} on one executor only (a scattered, non-broadcast ref). */
        <T> Ref<T> scattered(T value);
    }

    /** The operator a step applies. */
    public enum Kind {
        MAP, NULLIFY, FILTER, FLAT_MAP, MAP_PARTITIONS, MAP_PINNED, FILTER_PINNED, MAP_VALUES, UNION_SELF,
        UNION_OTHER, REPARTITION, PERSIST, REDUCE_BY_KEY, GROUP_BY_KEY, JOIN
    }

    /** One step of a pipeline: an operator and two small parameters of it. */
    public record Step(Kind kind, int k, int n) {
        @Override
        public String toString() {
            return kind + "(" + k + "," + n + ")";
        }
    }

    /** The expected dataset: its elements and whether their order is still specified. */
    private record Model(List<Integer> items, boolean ordered) {}

    private static final int BROADCAST = 17;
    private static final Set<Integer> SCATTERED = Set.of(1, 4, 7);

    @Provide
    public Arbitrary<List<Integer>> data() {
        return Arbitraries.integers().between(-60, 60).injectNull(0.1).list().ofMaxSize(40);
    }

    @Provide
    public Arbitrary<List<Step>> steps() {
        Arbitrary<Step> step = Combinators.combine(Arbitraries.of(Kind.values()), Arbitraries.integers().between(0, 5),
                Arbitraries.integers().between(1, 4)).as(Step::new);
        return step.list().ofMaxSize(7);
    }

    /**
     * Builds the pipeline {@code steps} over {@code data} on {@code q} and checks collect, count,
     * reduce and collectAsMap against the model.
     *
     * @param other the data of the second input of union and join (its first 8 elements are used)
     */
    protected static void checkPipeline(Host q, List<Integer> data, int partitions, List<Step> steps,
            List<Integer> other) {
        Ref<Integer> broadcast = q.broadcast(BROADCAST);
        Ref<Set<Integer>> scattered = q.scattered(SCATTERED);
        List<Integer> smallOther = other.subList(0, Math.min(other.size(), 8));

        Dataset<Integer> d = q.parallelize(data, partitions);
        Model m = new Model(data, true);
        for (Step s : steps) {
            d = apply(q, d, s, broadcast, scattered, smallOther);
            m = apply(m, s, smallOther);
        }

        Dataset<Integer> result = d;
        List<Integer> collected = result.collect();
        if (m.ordered()) {
            assertThat(collected).isEqualTo(m.items());
        } else {
            assertThat(collected).containsExactlyInAnyOrderElementsOf(m.items());
        }
        assertThat(d.count()).isEqualTo(m.items().size());
        if (m.items().isEmpty()) {
            assertThatThrownBy(() -> result.reduce(PipelineProperties::plus)).hasMessage("reduce of empty dataset");
        } else {
            Integer expected = m.items().get(0);
            for (Integer x : m.items().subList(1, m.items().size())) {
                expected = plus(expected, x);
            }
            // the sum treats null as 0, so it is commutative only up to null vs 0: compare as numbers
            assertThat(nz(d.reduce(PipelineProperties::plus))).isEqualTo(nz(expected));
        }
        Map<Integer, Integer> asMap;
        Map<Integer, Integer> expectedMap = new HashMap<>();
        if (m.ordered()) {
            asMap = d.mapToPair(x -> KV.of(key(x, 7), x)).collectAsMap();
            for (Integer x : m.items()) {
                expectedMap.put(key(x, 7), x); // the last value wins
            }
        } else {
            asMap = d.mapToPair(x -> KV.of(key(x, 7), nz(x))).reduceByKey(Math::max).collectAsMap();
            for (Integer x : m.items()) {
                expectedMap.merge(key(x, 7), nz(x), Math::max);
            }
        }
        assertThat(asMap).isEqualTo(expectedMap);
    }

    // ---- the pipeline on datasets

    private static Dataset<Integer> apply(Host q, Dataset<Integer> d, Step s, Ref<Integer> broadcast,
            Ref<Set<Integer>> scattered, List<Integer> other) {
        int k = s.k();
        int n = s.n();
        return switch (s.kind()) {
            case MAP -> d.map(x -> x == null ? null : x * 3 + k);
            case NULLIFY -> d.map(x -> nullify(x, k));
            case FILTER -> d.filter(x -> keep(x, k));
            case FLAT_MAP -> d.flatMap(PipelineProperties::copies);
            case MAP_PARTITIONS -> d.mapPartitions(PipelineProperties::incrementAll);
            case MAP_PINNED -> d.map(broadcast, (x, b) -> x == null ? null : x + b);
            case FILTER_PINNED -> d.filter(scattered, (x, set) -> x == null || !set.contains(Math.floorMod(x, 10)));
            case MAP_VALUES -> d.mapToPair(x -> KV.of(key(x, 3), x)).mapValues(v -> v == null ? null : v * 2)
                    .map(KV::value);
            case UNION_SELF -> d.union(d.map(x -> x == null ? null : -x));
            case UNION_OTHER -> d.union(q.parallelize(other, n));
            case REPARTITION -> d.repartition(n);
            case PERSIST -> {
                Dataset<Integer> p = d.persist();
                if (k % 2 == 0) {
                    p.count(); // materialize now, so the rest of the pipeline reads persisted partitions
                }
                yield p;
            }
            case REDUCE_BY_KEY -> (k % 2 == 0
                    ? d.keyBy(x -> key(x, n + 1)).reduceByKey(PipelineProperties::plus)
                    : d.keyBy(x -> key(x, n + 1)).reduceByKey(PipelineProperties::plus, n))
                    .map(kv -> kv.key() * 1000 + Math.floorMod(nz(kv.value()), 1000));
            case GROUP_BY_KEY -> d.keyBy(x -> key(x, n + 1)).groupByKey()
                    .map(kv -> kv.key() * 1000 + kv.value().size());
            case JOIN -> d.keyBy(x -> key(x, n + 4)).join(q.parallelize(other, n).keyBy(x -> key(x, n + 4)))
                    .map(kv -> kv.key() + 3 * nz(kv.value().key()) + 7 * nz(kv.value().value()));
        };
    }

    // ---- the same on lists

    private static Model apply(Model m, Step s, List<Integer> other) {
        int k = s.k();
        int n = s.n();
        List<Integer> in = m.items();
        List<Integer> out = new ArrayList<>();
        boolean ordered = m.ordered();
        switch (s.kind()) {
            case MAP -> in.forEach(x -> out.add(x == null ? null : x * 3 + k));
            case NULLIFY -> in.forEach(x -> out.add(nullify(x, k)));
            case FILTER -> in.stream().filter(x -> keep(x, k)).forEach(out::add);
            case FLAT_MAP -> in.forEach(x -> out.addAll(copies(x)));
            case MAP_PARTITIONS -> incrementAll(in.iterator()).forEachRemaining(out::add);
            case MAP_PINNED -> in.forEach(x -> out.add(x == null ? null : x + BROADCAST));
            case FILTER_PINNED -> in.stream().filter(x -> x == null || !SCATTERED.contains(Math.floorMod(x, 10)))
                    .forEach(out::add);
            case MAP_VALUES -> in.forEach(x -> out.add(x == null ? null : x * 2));
            case UNION_SELF -> {
                out.addAll(in);
                in.forEach(x -> out.add(x == null ? null : -x));
            }
            case UNION_OTHER -> {
                out.addAll(in);
                out.addAll(other);
            }
            case REPARTITION -> {
                out.addAll(in);
                ordered = false;
            }
            case PERSIST -> out.addAll(in);
            case REDUCE_BY_KEY -> {
                Map<Integer, Integer> sums = new LinkedHashMap<>();
                Set<Integer> seen = new HashSet<>();
                for (Integer x : in) {
                    int key = key(x, n + 1);
                    sums.put(key, seen.add(key) ? x : plus(sums.get(key), x));
                }
                sums.forEach((key, v) -> out.add(key * 1000 + Math.floorMod(nz(v), 1000)));
                ordered = false;
            }
            case GROUP_BY_KEY -> {
                Map<Integer, Integer> sizes = new LinkedHashMap<>();
                in.forEach(x -> sizes.merge(key(x, n + 1), 1, Integer::sum));
                sizes.forEach((key, size) -> out.add(key * 1000 + size));
                ordered = false;
            }
            case JOIN -> {
                for (Integer x : in) {
                    for (Integer y : other) {
                        if (key(x, n + 4) == key(y, n + 4)) {
                            out.add(key(x, n + 4) + 3 * nz(x) + 7 * nz(y));
                        }
                    }
                }
                ordered = false;
            }
        }
        return new Model(Collections.unmodifiableList(out), ordered);
    }

    // ---- shared, null-safe element functions (static: lambdas must not capture the test instance)

    static int key(Integer x, int mod) {
        return x == null ? -1 : Math.floorMod(x, mod);
    }

    static int nz(Integer x) {
        return x == null ? 0 : x;
    }

    static Integer plus(Integer a, Integer b) {
        return a == null && b == null ? null : nz(a) + nz(b);
    }

    static Integer nullify(Integer x, int k) {
        return x != null && x % (k + 2) == 0 ? null : x;
    }

    static boolean keep(Integer x, int k) {
        return x == null || Math.floorMod(x, k + 2) != 0;
    }

    static List<Integer> copies(Integer x) {
        List<Integer> out = new ArrayList<>();
        int times = x == null ? 1 : Math.floorMod(x, 3);
        for (int i = 0; i < times; i++) {
            out.add(x);
        }
        return out;
    }

    static Iterator<Integer> incrementAll(Iterator<Integer> it) {
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public Integer next() {
                Integer x = it.next();
                return x == null ? null : x + 1;
            }
        };
    }
}
