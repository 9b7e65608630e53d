package io.quiver.core.plan;

import io.quiver.Fn2;
import io.quiver.KV;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The runtime of the part-7 keyed operators: cogroup's and partitionBy's reduce sides, sortByKey's
 * range shuffle, and the keyed operators that run without a shuffle when their input is already
 * hash-partitioned. Buckets are {@link KeyedBucket}s, like the other keyed shuffles. Confined to
 * one task's thread.
 */
final class KeyedOps {
    private KeyedOps() {}

    // ---- cogroup

    /** One {@code KV(key, KV(ArrayList of left values, ArrayList of right values))} per key of either side. */
    static Batches readCogrouped(List<Object> left, List<Object> right, String operator) {
        LinkedHashMap<Object, KV<List<Object>, List<Object>>> groups = new LinkedHashMap<>();
        for (int side = 0; side < 2; side++) {
            for (Object o : side == 0 ? left : right) {
                KeyedBucket b = Shuffles.keyed(o, operator);
                for (int i = 0; i < b.size(); i++) {
                    KV<List<Object>, List<Object>> g = groups.computeIfAbsent(b.keys()[i],
                            k -> KV.of(new ArrayList<>(), new ArrayList<>()));
                    (side == 0 ? g.key() : g.value()).add(b.values()[i]);
                }
            }
        }
        Iterator<Map.Entry<Object, KV<List<Object>, List<Object>>>> it = groups.entrySet().iterator();
        return Batches.of(new Iterator<Object>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public Object next() {
                Map.Entry<Object, KV<List<Object>, List<Object>>> e = it.next();
                return KV.of(e.getKey(), e.getValue());
            }
        });
    }

    // ---- partitionBy

    /** partitionBy's reduce side: the pairs of every map task's bucket, in map task order. */
    static Batches readPairs(List<Object> buckets, String operator) {
        List<KeyedBucket> all = new ArrayList<>(buckets.size());
        for (Object o : buckets) {
            all.add(Shuffles.keyed(o, operator));
        }
        return new Batches() {
            private int bucket;
            private int at;

            @Override
            public boolean next(Batch out) {
                out.clear();
                while (bucket < all.size() && !out.isFull()) {
                    KeyedBucket b = all.get(bucket);
                    if (at < b.size()) {
                        out.add(KV.of(b.keys()[at], b.values()[at]));
                        at++;
                    } else {
                        bucket++;
                        at = 0;
                    }
                }
                return out.size > 0;
            }
        };
    }

    // ---- sortByKey

    /** sortByKey's map side: the pairs, split by key range. */
    static Object[] writeRanged(Batches in, RangePartitioner partitioner, int buckets, String operator)
            throws Exception {
        List<List<Object>> keys = new ArrayList<>(buckets);
        List<List<Object>> values = new ArrayList<>(buckets);
        for (int i = 0; i < buckets; i++) {
            keys.add(new ArrayList<>());
            values.add(new ArrayList<>());
        }
        Batch batch = new Batch();
        while (in.next(batch)) {
            for (int i = 0; i < batch.size; i++) {
                KV<?, ?> kv = Shuffles.pair(batch.items[i], operator);
                int b = partitioner.bucket(kv.key(), buckets, operator);
                keys.get(b).add(kv.key());
                values.get(b).add(kv.value());
            }
        }
        Object[] out = new Object[buckets];
        for (int b = 0; b < buckets; b++) {
            out[b] = new KeyedBucket(keys.get(b).toArray(), values.get(b).toArray());
        }
        return out;
    }

    /** sortByKey's reduce side: every map task's bucket, sorted by key (stable: equal keys keep map order). */
    static Batches readSorted(List<Object> buckets, RangePartitioner partitioner, String operator) {
        int n = 0;
        List<KeyedBucket> all = new ArrayList<>(buckets.size());
        for (Object o : buckets) {
            KeyedBucket b = Shuffles.keyed(o, operator);
            all.add(b);
            n += b.size();
        }
        boolean allLong = true;
        for (KeyedBucket b : all) {
            for (Object k : b.keys()) {
                if (!(k instanceof Long)) {
                    allLong = false;
                    break;
                }
            }
        }
        if (allLong) {
            return sortedLongKeys(all, n, partitioner.ascending());
        }
        KV<?, ?>[] pairs = new KV<?, ?>[n];
        int at = 0;
        for (KeyedBucket b : all) {
            Object[] keys = b.keys();
            Object[] values = b.values();
            for (int i = 0; i < keys.length; i++) {
                pairs[at++] = KV.of(keys[i], values[i]);
            }
        }
        // Long keys (the common case) compare without the generic Comparable dispatch
        java.util.Comparator<KV<?, ?>> order = allLong
                ? (x, y) -> Long.compare((Long) x.key(), (Long) y.key())
                : (x, y) -> RangePartitioner.compare(x.key(), y.key(), operator);
        Arrays.sort(pairs, partitioner.ascending() ? order : order.reversed());
        return Batches.of(Arrays.asList(pairs));
    }

    /**
     * Long keys (the common case): a stable LSD radix sort of the keys as unsigned bits (the sign
     * flipped; complemented for descending order), carrying each row's index, instead of a
     * comparison sort of boxed pairs. Equal keys keep map order either way.
     */
    private static Batches sortedLongKeys(List<KeyedBucket> all, int n, boolean ascending) {
        long[] keys = new long[n];
        Object[] ks = new Object[n];
        Object[] vs = new Object[n];
        int at = 0;
        for (KeyedBucket b : all) {
            Object[] bk = b.keys();
            Object[] bv = b.values();
            for (int i = 0; i < bk.length; i++) {
                long bits = (Long) bk[i] ^ Long.MIN_VALUE;
                keys[at] = ascending ? bits : ~bits;
                ks[at] = bk[i];
                vs[at++] = bv[i];
            }
        }
        int[] order = radixOrder(keys);
        return new Batches() {
            private int i;

            @Override
            public boolean next(Batch out) {
                out.clear();
                for (; i < n && !out.isFull(); i++) {
                    int r = order[i];
                    out.add(KV.of(ks[r], vs[r]));
                }
                return out.size > 0;
            }
        };
    }

    /** The indices of {@code keys} in unsigned ascending order, stable. Clobbers {@code keys}. */
    static int[] radixOrder(long[] keys) {
        int n = keys.length;
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        long[] tmpKeys = new long[n];
        int[] tmpIdx = new int[n];
        int[] count = new int[2049];
        for (int shift = 0; shift < 64; shift += 11) {
            java.util.Arrays.fill(count, 0);
            for (int i = 0; i < n; i++) {
                count[(int) ((keys[i] >>> shift) & 2047) + 1]++;
            }
            boolean oneDigit = false;
            for (int d = 1; d <= 2048; d++) {
                if (count[d] == n) {
                    oneDigit = true; // every key has this digit: the pass would change nothing
                    break;
                }
            }
            if (oneDigit) {
                continue;
            }
            for (int d = 1; d <= 2048; d++) {
                count[d] += count[d - 1];
            }
            for (int i = 0; i < n; i++) {
                int d = (int) ((keys[i] >>> shift) & 2047);
                int p = count[d]++;
                tmpKeys[p] = keys[i];
                tmpIdx[p] = idx[i];
            }
            long[] k = keys;
            keys = tmpKeys;
            tmpKeys = k;
            int[] x = idx;
            idx = tmpIdx;
            tmpIdx = x;
        }
        return idx;
    }

    // ---- keyed operators over an input already hash-partitioned into their partition count

    /** reduceByKey within one partition (no shuffle): one pair per key. */
    @SuppressWarnings("rawtypes")
    static Batches localReduce(Batches in, Fn2 fn, Reducer reducer, String operator) throws Exception {
        Object one = Shuffles.writeCombined(in, fn, reducer, 1, 0, operator).bucket(0); // null when empty
        return one == null ? Batches.of(List.of()) : readPairs(List.of(Shuffles.keyed(one, operator)), operator);
    }

    /** groupByKey within one partition (no shuffle). */
    static Batches localGroup(Batches in, String operator) throws Exception {
        Object one = Shuffles.writePairs(in, 1, 0, operator).bucket(0); // null when empty
        return Shuffles.readGrouped(one == null ? List.of() : List.of(one), operator);
    }

    /** partitionBy of a partition that is already where its keys hash to: checks the pairs, moves nothing. */
    static Batches localPairs(Batches in, String operator) {
        return new Batches() {
            @Override
            public boolean next(Batch out) throws Exception {
                boolean more = in.next(out);
                for (int i = 0; i < out.size; i++) {
                    Shuffles.pair(out.items[i], operator);
                }
                return more;
            }

            @Override
            public void close() throws java.io.IOException {
                in.close();
            }
        };
    }
}
