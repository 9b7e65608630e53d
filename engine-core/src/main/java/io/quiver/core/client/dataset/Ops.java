package io.quiver.core.client.dataset;

import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.KV;
import io.quiver.QuiverException;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.plan.RangePartitioner;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * The functions that the part-7 dataset operators ship to executors, built from the engine's
 * primitives (mapPartitions, mapPartitionsWithIndex, flatMap over cogroup, reduceByKey). Static
 * factories, so the lambdas capture only their arguments, never a dataset. Every function is
 * stateless between calls; thread-safe.
 */
final class Ops {
    private Ops() {}

    // ---- take

    /** At most the first {@code n} elements of a partition (lazily: the rest is never computed). */
    static <T> Fn1<Iterator<T>, Iterator<T>> limit(int n) {
        return it -> new Iterator<T>() {
            private int left = n;

            @Override
            public boolean hasNext() {
                return left > 0 && it.hasNext();
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                left--;
                return it.next();
            }
        };
    }

    // ---- sample

    /** A partition's random stream: a function of the seed and the partition only. */
    static SplittableRandom random(long seed, int partition) {
        return new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (partition + 1L)));
    }

    /**
     * Bernoulli sampling (each element kept with probability {@code fraction}) or, with replacement,
     * each element repeated a Poisson({@code fraction}) number of times.
     */
    static <T> Fn2<Integer, Iterator<T>, Iterator<T>> sampler(boolean withReplacement, double fraction, long seed) {
        return (partition, it) -> samplePartition(partition, it, withReplacement, fraction, seed).iterator();
    }

    /** What {@link #sampler} yields for one partition; public to tests through the dataset only. */
    static <T> List<T> samplePartition(int partition, Iterator<T> it, boolean withReplacement, double fraction,
            long seed) {
        SplittableRandom rnd = random(seed, partition);
        List<T> out = new ArrayList<>();
        double limit = Math.exp(-fraction);
        while (it.hasNext()) {
            T x = it.next();
            if (withReplacement) {
                int k = 0; // Knuth's Poisson sampler: fine for the small means sampling uses
                double p = rnd.nextDouble();
                while (p > limit) {
                    k++;
                    p *= rnd.nextDouble();
                }
                for (int i = 0; i < k; i++) {
                    out.add(x);
                }
            } else if (rnd.nextDouble() < fraction) {
                out.add(x);
            }
        }
        return out;
    }

    // ---- zipWithIndex

    static <T> Fn2<Integer, Iterator<T>, Iterator<KV<T, Long>>> zipWithIndex(long[] starts) {
        return (partition, it) -> new Iterator<KV<T, Long>>() {
            private long next = starts[partition];

            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public KV<T, Long> next() {
                return KV.of(it.next(), next++);
            }
        };
    }

    // ---- top, takeOrdered, fold, aggregate

    /**
     * A partition's {@code n} smallest elements under {@code order}, smallest first. A buffer sorted
     * and cut back to n whenever it reaches 2n (a priority queue would refuse null elements).
     */
    static <T> Fn1<Iterator<T>, Iterator<T>> smallest(int n, Comparator<? super T> order) {
        return it -> {
            List<T> best = new ArrayList<>();
            while (it.hasNext()) {
                best.add(it.next());
                if (best.size() >= 2 * n) {
                    best.sort(order);
                    best.subList(n, best.size()).clear();
                }
            }
            best.sort(order);
            if (best.size() > n) {
                best.subList(n, best.size()).clear();
            }
            return best.iterator();
        };
    }

    /** A fresh copy of a value serialized by the client (a zero value that functions may mutate). */
    @SuppressWarnings("unchecked")
    static <U> U copy(byte[] bytes) {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        return (U) JavaSerialization.deserialize(bytes, loader != null ? loader : Ops.class.getClassLoader());
    }

    /** One element per partition: the partition folded with {@code seq} from a fresh copy of the zero. */
    static <T, U> Fn1<Iterator<T>, Iterator<U>> aggregatePartition(byte[] zero, Fn2<U, T, U> seq) {
        return it -> {
            U acc = copy(zero);
            while (it.hasNext()) {
                acc = seq.apply(acc, it.next());
            }
            return Collections.singletonList(acc).iterator();
        };
    }

    // ---- combineByKey and friends

    /** The map side of combineByKey: one combiner per key of the partition. */
    @SuppressWarnings("unchecked")
    static <K, V, C> Fn1<Iterator<KV<K, V>>, Iterator<KV<K, C>>> combineLocally(Fn1<V, C> create,
            Fn2<C, V, C> merge, String operator) {
        return it -> {
            LinkedHashMap<K, C> combiners = new LinkedHashMap<>();
            while (it.hasNext()) {
                Object o = it.next();
                if (!(o instanceof KV<?, ?> kv)) {
                    throw new QuiverException(operator + ": " + (o == null ? "null element" : "element of type "
                            + o.getClass().getName()) + " is not a KV pair; build pairs with mapToPair or keyBy"
                            + " before " + operator);
                }
                K key = (K) kv.key();
                if (key == null) {
                    throw new QuiverException(operator + ": null key in " + kv + "; a shuffle needs non-null keys:"
                            + " filter them out or replace them before " + operator);
                }
                V value = (V) kv.value();
                if (combiners.containsKey(key)) {
                    combiners.put(key, merge.apply(combiners.get(key), value));
                } else {
                    combiners.put(key, create.apply(value));
                }
            }
            List<KV<K, C>> out = new ArrayList<>(combiners.size());
            for (Map.Entry<K, C> e : combiners.entrySet()) {
                out.add(KV.of(e.getKey(), e.getValue()));
            }
            return out.iterator();
        };
    }

    /** aggregateByKey's combiner: seq applied to a fresh copy of the zero. */
    static <V, U> Fn1<V, U> fromZero(byte[] zero, Fn2<U, V, U> seq) {
        return v -> seq.apply(copy(zero), v);
    }

    // ---- joins over cogroup

    static <K, V, W> Fn1<KV<K, KV<List<V>, List<W>>>, Iterable<KV<K, KV<V, W>>>> outerJoin(boolean keepLeft,
            boolean keepRight) {
        return g -> {
            List<V> vs = g.value().key();
            List<W> ws = g.value().value();
            List<KV<K, KV<V, W>>> out = new ArrayList<>();
            if (vs.isEmpty()) {
                if (keepRight) {
                    ws.forEach(w -> out.add(KV.of(g.key(), KV.of(null, w))));
                }
            } else if (ws.isEmpty()) {
                if (keepLeft) {
                    vs.forEach(v -> out.add(KV.of(g.key(), KV.of(v, null))));
                }
            } else {
                for (V v : vs) {
                    for (W w : ws) {
                        out.add(KV.of(g.key(), KV.of(v, w)));
                    }
                }
            }
            return out;
        };
    }

    static <K, V, W> Fn1<KV<K, KV<List<V>, List<W>>>, Iterable<KV<K, V>>> subtractByKey() {
        return g -> {
            if (!g.value().value().isEmpty()) {
                return List.of();
            }
            List<KV<K, V>> out = new ArrayList<>(g.value().key().size());
            g.value().key().forEach(v -> out.add(KV.of(g.key(), v)));
            return out;
        };
    }

    /** intersection: a (wrapped) element present on both sides, once. */
    @SuppressWarnings("unchecked")
    static <T> Fn1<KV<Object, KV<List<Object>, List<Object>>>, Iterable<T>> bothSides() {
        return g -> g.value().key().isEmpty() || g.value().value().isEmpty() ? List.of()
                : Collections.singletonList((T) NullSafeKey.unwrap(g.key()));
    }

    // ---- cartesian

    /** Tags each element of left partition i with the cartesian partitions i*n+j, j < n. */
    static <T> Fn2<Integer, Iterator<T>, Iterator<KV<Long, T>>> tagLeft(int rightPartitions) {
        return (i, it) -> {
            List<KV<Long, T>> out = new ArrayList<>();
            while (it.hasNext()) {
                T x = it.next();
                for (int j = 0; j < rightPartitions; j++) {
                    out.add(KV.of((long) i * rightPartitions + j, x));
                }
            }
            return out.iterator();
        };
    }

    /** Tags each element of right partition j with the cartesian partitions i*n+j, i < m. */
    static <U> Fn2<Integer, Iterator<U>, Iterator<KV<Long, U>>> tagRight(int leftPartitions, int rightPartitions) {
        return (j, it) -> {
            List<KV<Long, U>> out = new ArrayList<>();
            while (it.hasNext()) {
                U y = it.next();
                for (int i = 0; i < leftPartitions; i++) {
                    out.add(KV.of((long) i * rightPartitions + j, y));
                }
            }
            return out.iterator();
        };
    }

    static <T, U> Fn1<KV<Long, KV<List<T>, List<U>>>, Iterable<KV<T, U>>> cross() {
        return g -> {
            List<KV<T, U>> out = new ArrayList<>(g.value().key().size() * g.value().value().size());
            for (T x : g.value().key()) {
                for (U y : g.value().value()) {
                    out.add(KV.of(x, y));
                }
            }
            return out;
        };
    }

    // ---- sortByKey's sampling (Spark's RangePartitioner.sketch and determineBounds, in spirit)

    /** Per partition: one {@code KV(element count, reservoir sample of up to k keys)}. */
    static <K, V> Fn2<Integer, Iterator<KV<K, V>>, Iterator<KV<Long, List<Object>>>> sketch(int k, long seed,
            String operator) {
        return (partition, it) -> {
            SplittableRandom rnd = random(seed, partition);
            List<Object> reservoir = new ArrayList<>(k);
            long seen = 0;
            while (it.hasNext()) {
                Object o = it.next();
                if (!(o instanceof KV<?, ?> kv) || kv.key() == null) {
                    throw new QuiverException(operator + ": " + (o instanceof KV<?, ?> ? "null key in " + o
                            : (o == null ? "null element" : "element " + o) + " is not a KV pair")
                            + "; a sort needs non-null keys: filter them out or replace them before " + operator);
                }
                seen++;
                if (reservoir.size() < k) {
                    reservoir.add(kv.key());
                } else {
                    long r = rnd.nextLong(seen);
                    if (r < k) {
                        reservoir.set((int) r, kv.key());
                    }
                }
            }
            return Collections.singletonList(KV.of(seen, reservoir)).iterator();
        };
    }

    /**
     * Up to {@code partitions - 1} distinct ascending bounds that split the sampled keys, each
     * weighted by how many elements its sample stands for, into equal shares.
     */
    static RangePartitioner bounds(List<KV<Long, List<Object>>> sketches, int partitions, boolean ascending,
            String operator) {
        List<KV<Object, Double>> candidates = new ArrayList<>();
        double total = 0;
        for (KV<Long, List<Object>> s : sketches) {
            if (s.value().isEmpty()) {
                continue;
            }
            double weight = (double) s.key() / s.value().size();
            for (Object key : s.value()) {
                candidates.add(KV.of(key, weight));
                total += weight;
            }
        }
        Comparator<Object> natural = (a, b) -> compare(a, b, operator);
        candidates.sort((a, b) -> natural.compare(a.key(), b.key()));
        List<Object> bounds = new ArrayList<>();
        double step = total / partitions;
        double cumulative = 0;
        double target = step;
        Object previous = null;
        for (int i = 0; i < candidates.size() && bounds.size() < partitions - 1; i++) {
            cumulative += candidates.get(i).value();
            if (cumulative >= target) {
                Object key = candidates.get(i).key();
                if (previous == null || natural.compare(key, previous) > 0) {
                    bounds.add(key);
                    target += step;
                    previous = key;
                }
            }
        }
        return new RangePartitioner(bounds.toArray(), ascending);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static int compare(Object a, Object b, String operator) {
        if (!(a instanceof Comparable ca)) {
            throw new QuiverException(operator + ": key " + a + " of type " + a.getClass().getName()
                    + " is not Comparable; sort by a Comparable key (map it to one first)");
        }
        try {
            return ca.compareTo(b);
        } catch (ClassCastException e) {
            throw new QuiverException(operator + ": keys " + a + " and " + b + " cannot be compared; sort by keys"
                    + " of one Comparable type", e);
        }
    }

    // ---- saveAsTextFile

    /** Writes the partition to {@code directory/part-NNNNN}, one {@code String.valueOf} per line. */
    static <T> Fn2<Integer, Iterator<T>, Iterator<Object>> saveText(String directory) {
        return (partition, it) -> {
            Path dir = Path.of(directory);
            Files.createDirectories(dir);
            String name = String.format("part-%05d", partition);
            Path tmp = Files.createTempFile(dir, "." + name, ".tmp");
            try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                while (it.hasNext()) {
                    w.write(String.valueOf(it.next()));
                    w.write('\n');
                }
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            // a retried task replaces its earlier attempt's file whole
            Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return Collections.emptyIterator();
        };
    }
}
