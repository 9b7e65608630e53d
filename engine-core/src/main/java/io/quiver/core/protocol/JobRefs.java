package io.quiver.core.protocol;

import io.quiver.RefId;

/**
 * The refs of a dataset job, derived from the job's own ref id (which the client mints): output
 * {@code index} of a job is always the same ref, whichever leader plans it. That is what lets a new
 * leader, given the same job again after a leader change, find the shuffle outputs and results that
 * executors already hold instead of computing them again.
 *
 * <p>Layout: the owner is the job's owner with every bit flipped (client-minted refs have a
 * non-negative owner, so job refs never collide with them); the sequence is the job's sequence
 * shifted left by {@link #INDEX_BITS} plus the index.
 */
public final class JobRefs {
    /** Refs one job may have: about 16 million (a 2,000 x 2,000 shuffle needs 4 million). */
    public static final int INDEX_BITS = 24;
    public static final int MAX_REFS = 1 << INDEX_BITS;

    private JobRefs() {}

    /** The {@code index}-th ref of {@code job}. */
    public static RefId ref(RefId job, int index) {
        if (index < 0 || index >= MAX_REFS) {
            throw new IllegalArgumentException("a dataset job may have at most " + MAX_REFS + " refs (tasks times"
                    + " outputs per task), this one needs more; use fewer partitions");
        }
        if (job.seq() < 0 || job.seq() >= (1L << (63 - INDEX_BITS))) {
            throw new IllegalArgumentException("job id " + job + " is out of range for derived refs");
        }
        return new RefId(~job.owner(), (job.seq() << INDEX_BITS) | index);
    }

    /** The job a derived ref belongs to, or null for a ref a client minted. */
    public static RefId jobOf(RefId ref) {
        return ref.owner() >= 0 ? null : new RefId(~ref.owner(), ref.seq() >>> INDEX_BITS);
    }
}
