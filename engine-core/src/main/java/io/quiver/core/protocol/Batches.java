package io.quiver.core.protocol;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Long lists cut into parts that each fit one message: a peer refuses a frame over {@link
 * MessageCodec#DEFAULT_MAX_FRAME} and drops the connection, so a list that grows with the work (the
 * refs a client releases, the completions a leader reports after a failover) must not go as one.
 * Stateless.
 */
public final class Batches {
    /** The most items one part holds: a few hundred KB of refs, quick to decode and apply. */
    public static final int MAX_ITEMS = 16_384;

    /** About the most bytes the items of one part add up to, far below {@link MessageCodec#DEFAULT_MAX_FRAME}. */
    public static final long MAX_BYTES = 8 << 20;

    private Batches() {}

    /**
     * {@code items} in order, cut into parts of at most {@link #MAX_ITEMS} items whose {@code
     * sizeBound}s add up to at most {@link #MAX_BYTES} (an item larger than that is a part alone).
     * A list that fits is returned whole, as the only part.
     */
    public static <T> List<List<T>> split(List<T> items, ToLongFunction<? super T> sizeBound) {
        List<List<T>> parts = new ArrayList<>();
        int from = 0;
        while (from < items.size()) {
            int to = from;
            long bytes = 0;
            while (to < items.size() && to - from < MAX_ITEMS) {
                long n = sizeBound.applyAsLong(items.get(to));
                if (to > from && bytes + n > MAX_BYTES) {
                    break;
                }
                bytes += n;
                to++;
            }
            parts.add(from == 0 && to == items.size() ? items : items.subList(from, to));
            from = to;
        }
        return parts;
    }
}
