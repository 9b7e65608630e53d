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
 * reduce partition ({@code Math.floorMod(key.hashCode(), n)}), and reduce-side readers that merge
 * the buckets of every map task. Buckets: {@link KeyedBucket} for the keyed shuffles, {@code
 * Object[]} for repartition. Confined to one task's thread.
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

    /** reduceByKey's map side: combines values per key in one table, split into buckets at the end. */
    @SuppressWarnings("rawtypes")
    static Object[] writeCombined(Batches in, Fn2 fn, int buckets, String operator) throws Exception {
        CombineTable table = new CombineTable();
        Batch batch = new Batch();
        while (in.next(batch)) {
            Object[] items = batch.items;
            for (int i = 0, n = batch.size; i < n; i++) {
                KV<?, ?> kv = pair(items[i], operator);
                table.combine(kv.key(), kv.value(), fn);
            }
        }
        return table.toBuckets(buckets);
    }

    /** groupByKey's and join's map side: the pairs, split by key, in input order. */
    static Object[] writePairs(Batches in, int buckets, String operator) throws Exception {
        PairBuffer[] buffers = new PairBuffer[buckets];
        for (int i = 0; i < buckets; i++) {
            buffers[i] = new PairBuffer();
        }
        Batch batch = new Batch();
        while (in.next(batch)) {
            for (int i = 0; i < batch.size; i++) {
                KV<?, ?> kv = pair(batch.items[i], operator);
                buffers[bucket(kv.key(), buckets)].add(kv.key(), kv.value());
            }
        }
        Object[] out = new Object[buckets];
        for (int b = 0; b < buckets; b++) {
            out[b] = buffers[b].toBucket();
        }
        return out;
    }

    /** repartition's map side: round robin, map task {@code p} starting at bucket {@code p % n}. */
    static Object[] writeRoundRobin(Batches in, int buckets, int partition) throws Exception {
        List<List<Object>> lists = new ArrayList<>(buckets);
        for (int i = 0; i < buckets; i++) {
            lists.add(new ArrayList<>());
        }
        int next = Math.floorMod(partition, buckets);
        Batch batch = new Batch();
        while (in.next(batch)) {
            for (int i = 0; i < batch.size; i++) {
                lists.get(next).add(batch.items[i]);
                next = next + 1 == buckets ? 0 : next + 1;
            }
        }
        Object[] out = new Object[buckets];
        for (int b = 0; b < buckets; b++) {
            out[b] = lists.get(b).toArray();
        }
        return out;
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
    static Batches readCombined(List<Object> buckets, Fn2 fn, String operator) throws Exception {
        if (buckets.size() == 1) {
            KeyedBucket only = keyed(buckets.get(0), operator);
            return pairs(only.keys(), only.values());
        }
        CombineTable merged = new CombineTable();
        for (Object o : buckets) {
            KeyedBucket b = keyed(o, operator);
            Object[] keys = b.keys();
            Object[] values = b.values();
            for (int i = 0; i < keys.length; i++) {
                merged.combine(keys[i], values[i], fn);
            }
        }
        KeyedBucket all = (KeyedBucket) merged.toBuckets(1)[0];
        return pairs(all.keys(), all.values());
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
