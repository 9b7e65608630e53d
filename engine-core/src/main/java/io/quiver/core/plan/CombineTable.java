package io.quiver.core.plan;

import io.quiver.Fn2;

/**
 * reduceByKey's hash table: one combined value per key, open addressing with linear probing and
 * the keys' hash codes cached beside them, so a lookup compares ints and calls {@code equals} only
 * on a hash match, with no per-entry node to chase (java.util.HashMap's node walk and its
 * megamorphic {@code equals} call were most of a map task's time). Keys must be non-null; values
 * may be null. Confined to one task's thread.
 */
final class CombineTable {
    private static final float LOAD = 0.5f;
    /** Fibonacci hashing: spreads keys whose hash codes are multiples of the bucket count. */
    private static final int SPREAD = 0x9E3779B9;

    private Object[] keys;
    private Object[] values;
    private int[] hashes;
    private int shift;
    private int size;
    private int threshold;

    CombineTable() {
        allocate(64);
    }

    int size() {
        return size;
    }

    /** Stores {@code value} for a new key, or replaces the key's value with {@code fn(old, value)}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    void combine(Object key, Object value, Fn2 fn) throws Exception {
        int h = key.hashCode();
        int mask = keys.length - 1;
        int i = (h * SPREAD) >>> shift;
        Object[] ks = keys;
        int[] hs = hashes;
        while (true) {
            Object k = ks[i];
            if (k == null) {
                ks[i] = key;
                values[i] = value;
                hs[i] = h;
                if (++size > threshold) {
                    grow();
                }
                return;
            }
            if (hs[i] == h && (k == key || k.equals(key))) {
                values[i] = fn.apply(values[i], value);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /**
     * The entries split into {@code buckets} {@link KeyedBucket}s by {@code Math.floorMod(hashCode,
     * buckets)}, the shuffle's partitioning ({@link Shuffles#bucket}); an empty bucket is null.
     */
    Object[] toBuckets(int buckets) {
        int[] counts = new int[buckets];
        Object[] ks = keys;
        int[] hs = hashes;
        for (int i = 0; i < ks.length; i++) {
            if (ks[i] != null) {
                counts[Math.floorMod(hs[i], buckets)]++;
            }
        }
        Object[][] bucketKeys = new Object[buckets][];
        Object[][] bucketValues = new Object[buckets][];
        for (int b = 0; b < buckets; b++) {
            if (counts[b] > 0) { // an empty bucket stays null: many reduce partitions, few keys
                bucketKeys[b] = new Object[counts[b]];
                bucketValues[b] = new Object[counts[b]];
                counts[b] = 0;
            }
        }
        for (int i = 0; i < ks.length; i++) {
            if (ks[i] != null) {
                int b = Math.floorMod(hs[i], buckets);
                int at = counts[b]++;
                bucketKeys[b][at] = ks[i];
                bucketValues[b][at] = values[i];
            }
        }
        Object[] out = new Object[buckets];
        for (int b = 0; b < buckets; b++) {
            out[b] = bucketKeys[b] == null ? null : new KeyedBucket(bucketKeys[b], bucketValues[b]);
        }
        return out;
    }

    private void allocate(int capacity) {
        keys = new Object[capacity];
        values = new Object[capacity];
        hashes = new int[capacity];
        shift = Integer.numberOfLeadingZeros(capacity) + 1;
        threshold = (int) (capacity * LOAD);
    }

    private void grow() {
        Object[] oldKeys = keys;
        Object[] oldValues = values;
        int[] oldHashes = hashes;
        allocate(oldKeys.length * 2);
        int mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            Object k = oldKeys[j];
            if (k != null) {
                int i = (oldHashes[j] * SPREAD) >>> shift;
                while (keys[i] != null) {
                    i = (i + 1) & mask;
                }
                keys[i] = k;
                values[i] = oldValues[j];
                hashes[i] = oldHashes[j];
            }
        }
    }
}
