package io.quiver.planner;

import io.quiver.RefId;
import java.util.List;

/**
 * A ref that a stage reads where it already lives: a scattered or broadcast value pinned by {@code
 * map(ref, fn)}/{@code filter(ref, fn)}, or a partition of a persisted dataset.
 *
 * @param holders the executors that hold it (sorted; empty if the cluster view does not know it)
 */
public record PinnedInput(RefId ref, boolean broadcast, List<String> holders) {
    public PinnedInput {
        holders = List.copyOf(holders);
    }

    /** {@code pinned broadcast <ref>} or {@code pinned on <executors> <ref>}, as explain prints it. */
    public String describe() {
        return broadcast ? "pinned broadcast " + ref
                : "pinned on " + (holders.isEmpty() ? "<unknown>" : String.join(",", holders)) + " " + ref;
    }
}
