package io.quiver.core.plan;

import io.quiver.Fn2;

/**
 * reduceByKey's hash table: one combined value per key, open addressing with linear probing and
 * the keys' hash codes cached beside them, so a lookup compares ints and calls {@code equals} only
 * on a hash match, with no per-entry node to chase (java.util.HashMap's node walk and its
 * megamorphic {@code equals} call were most of a map task's time). Keys must be non-null; values
 * may be null. Confined to one task's thread.
 *
 * <p>Two primitive fast paths, chosen by the first entry and left for good (the entries boxed in
 * place, so nothing moves) as soon as an entry does not fit:
 *
 * <ul>
 *   <li>{@code Integer} or {@code Long} keys are held as longs, compared without {@code equals};
 *   <li>when the function is a JDK sum, min or max ({@link Reducer}) and the values are of its type,
 *       they are held unboxed and combined without calling it.
 * </ul>
 *
 * Neither keeps a reference to the key or value objects it is given, so when the caller's loop is
 * compiled together with it, the JIT can drop their allocations. Either way an entry lands in the
 * slot the object table would give it (the same hash codes, probing and growth), so the buckets
 * come out in the same order.
 */
final class CombineTable {
    private static final float LOAD = 0.5f;
    /** Fibonacci hashing: spreads keys whose hash codes are multiples of the bucket count. */
    private static final int SPREAD = 0x9E3779B9;

    private static final int EMPTY = 0;
    private static final int OBJECT_KEYS = 1;
    private static final int INT_KEYS = 2;
    private static final int LONG_KEYS = 3;

    @SuppressWarnings("rawtypes")
    private final Fn2 fn;
    /** fn's JDK arithmetic, or null. */
    private final Reducer reducer;

    private int keyMode = EMPTY;
    /** Values are the reducer's, unboxed in {@link #bits}; else boxed in {@link #values}. */
    private boolean unboxedValues;

    /** OBJECT_KEYS: the keys; else null. */
    private Object[] keys;
    /** INT_KEYS, LONG_KEYS: the keys; else null. */
    private long[] longKeys;
    /** INT_KEYS, LONG_KEYS: which slots hold an entry. */
    private boolean[] used;
    private int[] hashes;
    private Object[] values;
    private long[] bits;
    private int shift;
    private int size;
    private int threshold;

    /**
     * @param fn the reduce function
     * @param reducer what {@code fn} computes, if it is a JDK sum, min or max ({@link Reducer#of}), else null
     */
    @SuppressWarnings("rawtypes")
    CombineTable(Fn2 fn, Reducer reducer) {
        this.fn = fn;
        this.reducer = reducer; // the arrays come with the first entry, which picks their kind
    }

    /** A table that holds every key and value as an object: the plain table the fast paths must match. */
    @SuppressWarnings("rawtypes")
    static CombineTable plain(Fn2 fn) {
        CombineTable t = new CombineTable(fn, null);
        t.start(OBJECT_KEYS, false);
        return t;
    }

    int size() {
        return size;
    }

    /**
     * Stores {@code value} for a new key, or replaces the key's value with {@code fn(old, value)}.
     * Neither object is handed to a call on the paths a run of fitting entries takes (the first
     * entry passes only what it decides), so the JIT can keep them in registers.
     */
    void combine(Object key, Object value) throws Exception {
        if (keyMode == EMPTY) {
            start(key instanceof Integer ? INT_KEYS : key instanceof Long ? LONG_KEYS : OBJECT_KEYS,
                    reducer != null && reducer.type.isInstance(value));
        }
        if (keyMode == INT_KEYS) {
            if (key instanceof Integer k) {
                combineLong(k, k, value);
                return;
            }
        } else if (keyMode == LONG_KEYS) {
            if (key instanceof Long k) {
                combineLong(k, Long.hashCode(k), value);
                return;
            }
        }
        if (keyMode != OBJECT_KEYS) {
            boxKeys(); // a key of another type: from here on, objects
        }
        combineObject(key, key.hashCode(), value);
    }

    private void combineLong(long key, int h, Object value) throws Exception {
        int i = (h * SPREAD) >>> shift;
        int mask = used.length - 1;
        long[] ks = longKeys;
        boolean[] u = used;
        while (true) {
            if (!u[i]) {
                u[i] = true;
                ks[i] = key;
                hashes[i] = h;
                store(i, value, true);
                if (++size > threshold) {
                    grow();
                }
                return;
            }
            if (ks[i] == key) {
                store(i, value, false);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    private void combineObject(Object key, int h, Object value) throws Exception {
        int mask = keys.length - 1;
        int i = (h * SPREAD) >>> shift;
        Object[] ks = keys;
        int[] hs = hashes;
        while (true) {
            Object k = ks[i];
            if (k == null) {
                ks[i] = key;
                hs[i] = h;
                store(i, value, true);
                if (++size > threshold) {
                    grow();
                }
                return;
            }
            if (hs[i] == h && (k == key || k.equals(key))) {
                store(i, value, false);
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /**
     * Sets slot {@code i}'s value: {@code value} itself for a new key, else {@code fn(old, value)}.
     * An unboxed value is read here, with nothing but intrinsics, so that {@code value} reaches no
     * call the JIT might leave out of line.
     */
    @SuppressWarnings("unchecked")
    private void store(int i, Object value, boolean fresh) throws Exception {
        if (unboxedValues) {
            long b;
            if (value instanceof Double d && reducer.type == Double.class) {
                b = Double.doubleToRawLongBits(d);
            } else if (value instanceof Long l && reducer.type == Long.class) {
                b = l;
            } else if (value instanceof Integer n && reducer.type == Integer.class) {
                b = n;
            } else {
                boxValues(); // a null or another type: the function decides (and throws what it throws)
                store(i, value, fresh);
                return;
            }
            bits[i] = fresh ? b : reducer.apply(bits[i], b);
            return;
        }
        values[i] = fresh ? value : fn.apply(values[i], value);
    }

    /** The first entry picks the representation. */
    private void start(int keys, boolean unboxed) {
        keyMode = keys;
        unboxedValues = unboxed;
        allocate(64);
    }

    private void boxKeys() {
        Object[] boxed = new Object[longKeys.length];
        for (int i = 0; i < boxed.length; i++) {
            if (used[i]) {
                boxed[i] = keyMode == INT_KEYS ? (Object) (int) longKeys[i] : (Object) longKeys[i];
            }
        }
        keyMode = OBJECT_KEYS;
        keys = boxed;
        longKeys = null;
        used = null;
    }

    private void boxValues() {
        Object[] boxed = new Object[bits.length];
        for (int i = 0; i < boxed.length; i++) {
            if (occupied(i)) {
                boxed[i] = reducer.box(bits[i]);
            }
        }
        unboxedValues = false;
        values = boxed;
        bits = null;
    }

    private boolean occupied(int i) {
        return keyMode == OBJECT_KEYS ? keys[i] != null : used[i];
    }

    private Object key(int i) {
        return switch (keyMode) {
            case INT_KEYS -> (int) longKeys[i];
            case LONG_KEYS -> longKeys[i];
            default -> keys[i];
        };
    }

    private Object value(int i) {
        return unboxedValues ? reducer.box(bits[i]) : values[i];
    }

    /**
     * The entries split into {@code buckets} {@link KeyedBucket}s by {@code Math.floorMod(hashCode,
     * buckets)}, the shuffle's partitioning ({@link Shuffles#bucket}); an empty bucket is null.
     */
    Object[] toBuckets(int buckets) {
        int[] counts = new int[buckets];
        int[] hs = hashes;
        boolean any = keyMode != EMPTY;
        int capacity = any ? hs.length : 0;
        for (int i = 0; any && i < capacity; i++) {
            if (occupied(i)) {
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
        for (int i = 0; any && i < capacity; i++) {
            if (occupied(i)) {
                int b = Math.floorMod(hs[i], buckets);
                int at = counts[b]++;
                bucketKeys[b][at] = key(i);
                bucketValues[b][at] = value(i);
            }
        }
        Object[] out = new Object[buckets];
        for (int b = 0; b < buckets; b++) {
            out[b] = bucketKeys[b] == null ? null : new KeyedBucket(bucketKeys[b], bucketValues[b]);
        }
        return out;
    }

    /** Fresh, empty arrays of {@code capacity} slots for the current representation. */
    private void allocate(int capacity) {
        boolean objectKeys = keyMode == EMPTY || keyMode == OBJECT_KEYS;
        keys = objectKeys ? new Object[capacity] : null;
        longKeys = objectKeys ? null : new long[capacity];
        used = objectKeys ? null : new boolean[capacity];
        hashes = new int[capacity];
        values = unboxedValues ? null : new Object[capacity];
        bits = unboxedValues ? new long[capacity] : null;
        shift = Integer.numberOfLeadingZeros(capacity) + 1;
        threshold = (int) (capacity * LOAD);
    }

    /** Doubles the capacity; entries keep their probing order, so buckets come out as before. */
    private void grow() {
        Object[] oldKeys = keys;
        long[] oldLongKeys = longKeys;
        boolean[] oldUsed = used;
        int[] oldHashes = hashes;
        Object[] oldValues = values;
        long[] oldBits = bits;
        allocate(oldHashes.length * 2);
        int mask = hashes.length - 1;
        for (int j = 0; j < oldHashes.length; j++) {
            if (oldKeys != null ? oldKeys[j] == null : !oldUsed[j]) {
                continue;
            }
            int i = (oldHashes[j] * SPREAD) >>> shift;
            while (keys != null ? keys[i] != null : used[i]) {
                i = (i + 1) & mask;
            }
            if (keys != null) {
                keys[i] = oldKeys[j];
            } else {
                longKeys[i] = oldLongKeys[j];
                used[i] = true;
            }
            hashes[i] = oldHashes[j];
            if (values != null) {
                values[i] = oldValues[j];
            } else {
                bits[i] = oldBits[j];
            }
        }
    }
}
