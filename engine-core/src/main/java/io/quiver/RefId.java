package io.quiver;

/**
 * The cluster-wide id of a value. {@code owner} names who minted it (a client session or a
 * leader epoch), {@code seq} counts within that owner; so clients mint ids without a round trip.
 *
 * @param owner who minted the id
 * @param seq the id's number within its owner
 */
public record RefId(long owner, long seq) implements Comparable<RefId> {
    /** Orders by owner, then by sequence number. */
    @Override
    public int compareTo(RefId o) {
        int c = Long.compare(owner, o.owner);
        return c != 0 ? c : Long.compare(seq, o.seq);
    }

    /** {@code ref-<owner in hex>-<seq>}. */
    @Override
    public String toString() {
        return "ref-" + Long.toHexString(owner) + "-" + seq;
    }
}
