package io.quiver.core.plan;

import java.io.Serializable;

/**
 * What one shuffle-map task writes: all its buckets in one value (one block), an empty bucket as
 * {@code null}, and the side of the wide operator it feeds (0, or 1 for a join's right side). The
 * executor reports {@link #rows()} to the leader with the task's completion, so the leader hands a
 * reduce task only the map outputs that hold rows for its bucket; an empty reduce partition then
 * fetches nothing. Immutable once built; shared read-only by the tasks of an executor.
 */
public final class ShuffleOutput implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int side;
    private final Object[] buckets;
    private final int[] rows;

    ShuffleOutput(int side, Object[] buckets, int[] rows) {
        this.side = side;
        this.buckets = buckets;
        this.rows = rows;
    }

    /** The side of the wide operator this map output feeds: 0, or 1 for a join's right side. */
    public int side() {
        return side;
    }

    /** How many buckets (reduce partitions) the map task wrote into. */
    public int buckets() {
        return buckets.length;
    }

    /** Bucket {@code b}: a {@link KeyedBucket} or {@code Object[]}, or null when empty. */
    public Object bucket(int b) {
        return b < buckets.length ? buckets[b] : null;
    }

    /** Rows per bucket (a copy): the map task's compact summary for the leader. */
    public int[] rows() {
        return rows.clone();
    }
}
