package io.quiver.planner;

import io.quiver.RefId;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What the planner knows about the cluster: the live executors (in a stable order, used to break
 * ties) and, for each ref a plan may pin, which executors hold it and whether it is broadcast. A
 * ref the view does not know is planned without a location preference. Immutable.
 */
public record ClusterView(List<String> executors, Map<RefId, RefLocation> refs) {

    /** Where a ref lives. {@code holders} is sorted, so plans print deterministically. */
    public record RefLocation(SortedSet<String> holders, boolean broadcast) {
        public RefLocation {
            holders = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(holders));
        }
    }

    public ClusterView {
        executors = List.copyOf(executors);
        refs = Map.copyOf(refs);
    }

    public static ClusterView of(List<String> executors) {
        return new ClusterView(executors, Map.of());
    }

    /** A copy that also knows where {@code ref} lives. */
    public ClusterView withRef(RefId ref, boolean broadcast, Set<String> holders) {
        Map<RefId, RefLocation> m = new HashMap<>(refs);
        m.put(Objects.requireNonNull(ref), new RefLocation(new TreeSet<>(holders), broadcast));
        return new ClusterView(executors, m);
    }

    public ClusterView withRef(RefId ref, boolean broadcast, String... holders) {
        return withRef(ref, broadcast, Set.copyOf(Arrays.asList(holders)));
    }

    /** Where {@code ref} lives, or null if unknown. */
    public RefLocation location(RefId ref) {
        return refs.get(ref);
    }
}
