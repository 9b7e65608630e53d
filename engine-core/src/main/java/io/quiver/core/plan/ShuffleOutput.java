package io.quiver.core.plan;

import java.io.Serializable;

/**
 * What one shuffle-map task writes: all its buckets in one value (one block), an empty bucket as
 * {@code null}, and the side of the wide operator it feeds (0, or 1 for a join's right side). The
 * executor reports {@link #rows()} to the leader with the task's completion, so the leader hands a
 * reduce task only the map outputs that hold rows for its bucket; an empty reduce partition then
 * fetches nothing. Encoded as a block with a bucket index ({@link io.quiver.core.codec.ShuffleBlocks}),
 * so a reduce task receives a <em>slice</em>: a ShuffleOutput holding only its own bucket
 * ({@link #slice}), cut from the block without decoding the others. Immutable once built; shared
 * read-only by the tasks of an executor.
 */
public final class ShuffleOutput implements Serializable {
    private static final long serialVersionUID = 1L;

    private final int side;
    /** All buckets; null in a slice. */
    private final Object[] buckets;
    /** Rows per bucket; null in a slice. */
    private final int[] rows;
    /** A slice's bucket count, its one bucket's index and value (unused in a whole output). */
    private final int count;
    private final int sliceBucket;
    private final Object sliceValue;

    ShuffleOutput(int side, Object[] buckets, int[] rows) {
        this.side = side;
        this.buckets = buckets;
        this.rows = rows;
        this.count = buckets.length;
        this.sliceBucket = -1;
        this.sliceValue = null;
    }

    private ShuffleOutput(int side, int count, int bucket, Object value) {
        this.side = side;
        this.buckets = null;
        this.rows = null;
        this.count = count;
        this.sliceBucket = bucket;
        this.sliceValue = value;
    }

    /** A whole map output as decoded from its block: buckets (null when empty) and their row counts. */
    public static ShuffleOutput of(int side, Object[] buckets, int[] rows) {
        if (buckets.length != rows.length) {
            throw new IllegalArgumentException(buckets.length + " buckets but " + rows.length + " row counts");
        }
        return new ShuffleOutput(side, buckets, rows);
    }

    /**
     * One bucket of a map output of {@code count} buckets: what a reduce task reads. {@link
     * #bucket} answers {@code value} for {@code bucket} (for any index when {@code count} is 1, a
     * one-bucket output being read whole) and null for the others.
     */
    public static ShuffleOutput slice(int side, int count, int bucket, Object value) {
        if (count < 1 || bucket < 0 || bucket >= count) {
            throw new IllegalArgumentException("bucket " + bucket + " of a map output of " + count + " buckets");
        }
        return new ShuffleOutput(side, count, bucket, value);
    }

    /** Whether this is one bucket cut from a map output ({@link #slice}), not the whole output. */
    public boolean isSlice() {
        return buckets == null;
    }

    /** This output cut down to bucket {@code b} (bucket 0 when it has one bucket), sharing its value. */
    public ShuffleOutput sliceOf(int b) {
        int at = count == 1 ? 0 : b;
        if (at < 0 || at >= count) {
            throw new IllegalArgumentException("bucket " + b + " of a map output of " + count + " buckets");
        }
        if (isSlice()) {
            if (at != sliceBucket) {
                throw new IllegalArgumentException("bucket " + b + " of a slice holding bucket " + sliceBucket);
            }
            return this;
        }
        return new ShuffleOutput(side, count, at, buckets[at]);
    }

    /** The side of the wide operator this map output feeds: 0, or 1 for a join's right side. */
    public int side() {
        return side;
    }

    /** How many buckets (reduce partitions) the map task wrote into. */
    public int buckets() {
        return count;
    }

    /** Bucket {@code b}: a {@link KeyedBucket} or {@code Object[]}, or null when empty (or not in this slice). */
    public Object bucket(int b) {
        if (isSlice()) {
            return count == 1 || b == sliceBucket ? sliceValue : null;
        }
        return b >= 0 && b < buckets.length ? buckets[b] : null;
    }

    /** Rows per bucket (a copy): the map task's compact summary for the leader. Not known for a slice. */
    public int[] rows() {
        if (isSlice()) {
            throw new IllegalStateException("a slice of a map output has no row summary");
        }
        return rows.clone();
    }
}
