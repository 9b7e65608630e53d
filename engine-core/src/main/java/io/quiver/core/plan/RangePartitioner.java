package io.quiver.core.plan;

import io.quiver.QuiverException;
import java.io.Serializable;
import java.util.Arrays;

/**
 * sortByKey's partitioner, in the spirit of Spark's {@code RangePartitioner}: sorted upper bounds
 * chosen from a sample of the keys, so that partition {@code i} holds keys that sort before those
 * of partition {@code i + 1} (in the requested direction). Keys must be mutually {@link Comparable}
 * and non-null. Immutable; shared by the tasks of a stage.
 */
public final class RangePartitioner implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Object[] bounds;
    private final boolean ascending;

    /**
     * @param bounds ascending, distinct upper bounds (at most partitions - 1 of them): partition
     *     {@code i} of an ascending sort holds keys in {@code (bounds[i-1], bounds[i]]}
     * @param ascending the sort direction
     */
    public RangePartitioner(Object[] bounds, boolean ascending) {
        this.bounds = bounds.clone();
        this.ascending = ascending;
    }

    /** How many bounds were chosen (the non-empty partitions are at most one more). */
    public int bounds() {
        return bounds.length;
    }

    /** The sort direction: true for smallest key first. */
    public boolean ascending() {
        return ascending;
    }

    /** The bounds as longs when they all are Longs (the common case), else null; computed once per JVM. */
    private transient volatile long[] longBounds;
    private transient volatile boolean longChecked;

    private long[] longBounds() {
        if (!longChecked) {
            long[] b = new long[bounds.length];
            for (int i = 0; i < b.length; i++) {
                if (!(bounds[i] instanceof Long l)) {
                    b = null;
                    break;
                }
                b[i] = l;
            }
            longBounds = b;
            longChecked = true;
        }
        return longBounds;
    }

    /** The partition of {@code key}, in {@code [0, buckets)}. */
    int bucket(Object key, int buckets, String operator) {
        long[] lb = key instanceof Long ? longBounds() : null;
        if (lb != null) {
            long k = (Long) key;
            int lo = 0;
            int hi = lb.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (lb[mid] < k) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return Math.min(ascending ? lo : lb.length - lo, buckets - 1);
        }
        int lo = 0;
        int hi = bounds.length; // the first bound >= key
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (compare(bounds[mid], key, operator) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        int p = ascending ? lo : bounds.length - lo;
        return Math.min(p, buckets - 1);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static int compare(Object a, Object b, String operator) {
        if (!(a instanceof Comparable ca)) {
            throw new QuiverException(operator + ": key " + a + " of type " + a.getClass().getName()
                    + " is not Comparable; sort by a Comparable key (map it to one first)");
        }
        try {
            return ca.compareTo(b);
        } catch (ClassCastException e) {
            throw new QuiverException(operator + ": keys " + a + " (" + a.getClass().getName() + ") and " + b + " ("
                    + b.getClass().getName() + ") cannot be compared; sort by keys of one Comparable type", e);
        }
    }

    @Override
    public String toString() {
        return "RangePartitioner[" + (ascending ? "ascending" : "descending") + ", bounds " + Arrays.toString(bounds)
                + "]";
    }
}
