package io.quiver.core.plan;

import io.quiver.Fn2;
import io.quiver.KV;
import io.quiver.QuiverException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Both sides of the shuffles: map-side writers that split a task's output into one bucket per
 * reduce partition ({@code Math.floorMod(key.hashCode(), n)}) and wrap them in one {@link
 * ShuffleOutput}, and reduce-side readers that merge the non-empty buckets of the map tasks that
 * wrote any. Buckets: {@link KeyedBucket} for the keyed shuffles, {@code Object[]} for repartition.
 * Confined to one task's thread.
 */
final class Shuffles {
    private Shuffles() {}

    static KV<?, ?> pair(Object element, String operator) {
        if (element instanceof KV<?, ?> kv) {
            if (kv.key() == null) {
                throw new QuiverException(operator + ": null key in " + kv + "; a shuffle needs non-null keys:"
                        + " filter them out or replace them before " + operator);
            }
            return kv;
        }
        throw new QuiverException(operator + ": " + (element == null ? "null element" : "element of type "
                + element.getClass().getName()) + " is not a KV pair; build pairs with mapToPair or keyBy before "
                + operator);
    }

    static int bucket(Object key, int buckets) {
        return Math.floorMod(key.hashCode(), buckets);
    }

    // ---- map side

    /** Wraps a map task's buckets, empty ones dropped to null, with their row counts. */
    static ShuffleOutput output(int side, Object[] buckets) {
        int[] rows = new int[buckets.length];
        for (int b = 0; b < buckets.length; b++) {
            int n = buckets[b] instanceof KeyedBucket k ? k.size() : buckets[b] instanceof Object[] a ? a.length : 0;
            rows[b] = n;
            if (n == 0) {
                buckets[b] = null;
            }
        }
        return new ShuffleOutput(side, buckets, rows);
    }

    /**
     * Rejects keys that hash by identity: equal arrays would land in different buckets (Spark's
     * "Default partitioner cannot partition array keys").
     */
    static Object hashableKey(Object key, String operator) {
        if (key.getClass().isArray()) {
            throw new QuiverException(operator + ": cannot partition array keys (" + key.getClass().getSimpleName()
                    + "): arrays hash by identity, so equal arrays would land in different groups; use a List"
                    + " (List.of(...), Arrays.asList(...)) or a record as the key");
        }
        return key;
    }

    /** reduceByKey's map side within a stage (a local reduce): combines values per key in one table. */
    @SuppressWarnings("rawtypes")
    static ShuffleOutput writeCombined(Batches in, Fn2 fn, Reducer reducer, int buckets, int side, String operator)
            throws Exception {
        CombineTable table = new CombineTable(fn, reducer);
        combineRows(in, null, table, operator);
        return output(side, table.toBuckets(buckets));
    }

    /** Each element of {@code in}, through {@code ops} (null: none), into {@code table}. */
    static void combineRows(Batches in, RowOps ops, CombineTable table, String operator) throws Exception {
        Batch batch = new Batch();
        while (in.next(batch)) {
            Object[] items = batch.items;
            for (int i = 0, n = batch.size; i < n; i++) {
                Object row = ops == null ? items[i] : ops.apply(items[i]);
                if (row != RowOps.DROPPED) {
                    combine(row, table, operator);
                }
            }
        }
    }

    /**
     * The numbers {@code [from, to)}, through {@code ops}, into {@code table}: one element at a time,
     * with nothing kept between them (see {@link RowOps}).
     */
    static void combineRange(long from, long to, RowOps ops, CombineTable table, String operator) throws Exception {
        for (long i = from; i < to; i++) {
            Object row = ops.apply(i);
            if (row != RowOps.DROPPED) {
                combine(row, table, operator);
            }
        }
    }

    private static void combine(Object row, CombineTable table, String operator) throws Exception {
        KV<?, ?> kv = pair(row, operator);
        table.combine(hashableKey(kv.key(), operator), kv.value());
    }

    /** groupByKey's and join's map side: the pairs, split by key, in input order; buffers made on first use. */
    static ShuffleOutput writePairs(Batches in, int buckets, int side, String operator) throws Exception {
        PairBuffer[] buffers = new PairBuffer[buckets];
        Batch batch = new Batch();
        while (in.next(batch)) {
            for (int i = 0; i < batch.size; i++) {
                KV<?, ?> kv = pair(batch.items[i], operator);
                int b = bucket(hashableKey(kv.key(), operator), buckets);
                if (buffers[b] == null) {
                    buffers[b] = new PairBuffer();
                }
                buffers[b].add(kv.key(), kv.value());
            }
        }
        Object[] out = new Object[buckets];
        for (int b = 0; b < buckets; b++) {
            out[b] = buffers[b] == null ? null : buffers[b].toBucket();
        }
        return output(side, out);
    }

    /**
     * repartition's map side: round robin, map task {@code p} starting at a pseudo-random bucket
     * seeded by {@code p} (as Spark does), so that many small map tasks spread their rows evenly
     * instead of all filling the first buckets.
     */
    static ShuffleOutput writeRoundRobin(Batches in, int buckets, int partition) throws Exception {
        List<Object>[] lists = newLists(buckets);
        int next = startBucket(partition, buckets);
        Batch batch = new Batch();
        while (in.next(batch)) {
            for (int i = 0; i < batch.size; i++) {
                if (lists[next] == null) {
                    lists[next] = new ArrayList<>();
                }
                lists[next].add(batch.items[i]);
                next = next + 1 == buckets ? 0 : next + 1;
            }
        }
        Object[] out = new Object[buckets];
        for (int b = 0; b < buckets; b++) {
            out[b] = lists[b] == null ? null : lists[b].toArray();
        }
        return output(0, out);
    }

    /** coalesce's map side: the whole partition, in order, as bucket {@code group} (the others empty). */
    static ShuffleOutput writeWhole(Batches in, int buckets, int group) throws Exception {
        List<Object> all = new ArrayList<>();
        Batch batch = new Batch();
        while (in.next(batch)) {
            all.addAll(Arrays.asList(batch.items).subList(0, batch.size));
        }
        Object[] out = new Object[buckets];
        out[group] = all.toArray();
        return output(0, out);
    }

    /** The first bucket of map task {@code partition}: pseudo-random, the same on every run (recompute). */
    static int startBucket(int partition, int buckets) {
        // Sequential seeds give correlated first draws from java.util.Random (Spark byte-swaps the
        // index for the same reason): mix the index first (the murmur3 finalizer).
        long h = partition;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return (int) Math.floorMod(h, (long) buckets);
    }

    @SuppressWarnings("unchecked")
    private static List<Object>[] newLists(int n) {
        return (List<Object>[]) new List<?>[n];
    }

    private static final class PairBuffer {
        private Object[] keys = new Object[16];
        private Object[] values = new Object[16];
        private int size;

        void add(Object key, Object value) {
            if (size == keys.length) {
                keys = Arrays.copyOf(keys, size * 2);
                values = Arrays.copyOf(values, size * 2);
            }
            keys[size] = key;
            values[size++] = value;
        }

        KeyedBucket toBucket() {
            return new KeyedBucket(Arrays.copyOf(keys, size), Arrays.copyOf(values, size));
        }
    }

    // ---- reduce side

    static KeyedBucket keyed(Object bucket, String operator) {
        if (bucket instanceof KeyedBucket k) {
            return k;
        }
        throw new QuiverException(operator + ": expected a keyed shuffle bucket, got "
                + (bucket == null ? "null" : bucket.getClass().getName()));
    }

    /** Merges reduceByKey's combined buckets. */
    @SuppressWarnings("rawtypes")
    static Batches readCombined(List<Object> buckets, Fn2 fn, Reducer reducer, String operator) throws Exception {
        if (buckets.isEmpty()) {
            return Batches.of(List.of());
        }
        if (buckets.size() == 1) {
            KeyedBucket only = keyed(buckets.get(0), operator);
            return pairs(only.keys(), only.values());
        }
        CombineTable merged = new CombineTable(fn, reducer);
        for (Object o : buckets) {
            KeyedBucket b = keyed(o, operator);
            Object[] keys = b.keys();
            Object[] values = b.values();
            for (int i = 0; i < keys.length; i++) {
                merged.combine(keys[i], values[i]);
            }
        }
        Object all = merged.toBuckets(1)[0];
        return all == null ? Batches.of(List.of()) : pairs(((KeyedBucket) all).keys(), ((KeyedBucket) all).values());
    }

    private static Batches pairs(Object[] keys, Object[] values) {
        return new Batches() {
            private int at;

            @Override
            public boolean next(Batch out) {
                out.clear();
                for (; at < keys.length && !out.isFull(); at++) {
                    out.add(KV.of(keys[at], values[at]));
                }
                return out.size > 0;
            }
        };
    }

    /** groupByKey's reduce side: one {@code KV(key, ArrayList of values)} per key. */
    static Batches readGrouped(List<Object> buckets, String operator) {
        LinkedHashMap<Object, List<Object>> groups = group(buckets, operator);
        Iterator<Map.Entry<Object, List<Object>>> it = groups.entrySet().iterator();
        return Batches.of(new Iterator<Object>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public Object next() {
                Map.Entry<Object, List<Object>> e = it.next();
                return KV.of(e.getKey(), e.getValue());
            }
        });
    }

    private static LinkedHashMap<Object, List<Object>> group(List<Object> buckets, String operator) {
        LinkedHashMap<Object, List<Object>> groups = new LinkedHashMap<>();
        for (Object o : buckets) {
            KeyedBucket b = keyed(o, operator);
            for (int i = 0; i < b.size(); i++) {
                groups.computeIfAbsent(b.keys()[i], k -> new ArrayList<>()).add(b.values()[i]);
            }
        }
        return groups;
    }

    /** join's reduce side (inner join): {@code KV(key, KV(v, w))} for every pair of matching values. */
    static Batches readJoined(List<Object> left, List<Object> right, String operator) {
        LinkedHashMap<Object, List<Object>> l = group(left, operator);
        LinkedHashMap<Object, List<Object>> r = group(right, operator);
        Iterator<Map.Entry<Object, List<Object>>> keys = l.entrySet().iterator();
        return new Batches() {
            private Object key;
            private List<Object> vs = List.of();
            private List<Object> ws = List.of();
            private int i;
            private int j;

            @Override
            public boolean next(Batch out) {
                out.clear();
                while (!out.isFull()) {
                    if (i == vs.size()) {
                        if (!keys.hasNext()) {
                            break;
                        }
                        Map.Entry<Object, List<Object>> e = keys.next();
                        key = e.getKey();
                        vs = e.getValue();
                        ws = r.getOrDefault(key, List.of());
                        i = ws.isEmpty() ? vs.size() : 0;
                        j = 0;
                        continue;
                    }
                    out.add(KV.of(key, KV.of(vs.get(i), ws.get(j))));
                    if (++j == ws.size()) {
                        j = 0;
                        i++;
                    }
                }
                return out.size > 0;
            }
        };
    }

    /** repartition's reduce side: the buckets of every map task, in map task order. */
    static Batches readConcatenated(List<Object> buckets, String operator) {
        List<Object[]> arrays = new ArrayList<>(buckets.size());
        for (Object o : buckets) {
            if (!(o instanceof Object[] a)) {
                throw new QuiverException(operator + ": expected an Object[] shuffle bucket, got "
                        + (o == null ? "null" : o.getClass().getName()));
            }
            arrays.add(a);
        }
        return Batches.concat(arrays);
    }
}
